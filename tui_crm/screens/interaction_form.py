"""Log an interaction: an event attended, a complaint, an enquiry or an order."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Select, TextArea

from .. import validation as v
from ..service import Service, ServiceError
from .form_base import FormScreen


class InteractionFormScreen(FormScreen[int | None]):
    """Kind, detail and (for orders) an amount; dismisses with the new id."""

    title_text = "Log an interaction"
    field_names = ("kind", "detail", "amount")

    def __init__(self, service: Service, customer_id: int) -> None:
        super().__init__()
        self.service = service
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form"):
            yield from self.header()
            yield from self.field(
                "kind",
                "Kind *",
                Select([(k.value, k.value) for k in v.InteractionKind]),
            )
            yield from self.field("detail", "Detail *", TextArea())
            yield from self.field(
                "amount", "Amount in yuan (orders)", Input(placeholder="e.g. 1200.50")
            )
            yield self.footer()

    def save(self) -> None:
        values = self.values()
        try:
            new_id = self.service.add_interaction(
                self.customer_id,
                kind=values["kind"],
                detail=values["detail"],
                amount=values["amount"],
            )
        except v.FormErrors as exc:
            self.show_errors(exc.errors, "Please correct the marked fields.")
        except ServiceError as exc:
            self.show_errors({}, str(exc))
        else:
            self.dismiss(new_id)
