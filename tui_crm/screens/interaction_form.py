"""Log an interaction: an event attended, a complaint, an enquiry or an order."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Select, TextArea

from ..i18n import N_, _
from ..labels import choices
from ..service import Service
from .form_base import FormScreen


class InteractionFormScreen(FormScreen[int | None]):
    """Kind, detail and (for orders) an amount; dismisses with the new id."""

    title_text = N_("Log an interaction")
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
                _("Kind *"),
                Select(choices("interaction_kind")),
            )
            yield from self.field("detail", _("Detail *"), TextArea())
            yield from self.field(
                "amount",
                _("Amount in yuan (orders)"),
                Input(placeholder=_("e.g. {example}").format(example="1200.50")),
            )
            yield self.footer()

    def save(self) -> None:
        values = self.values()
        self.submit(
            lambda: self.service.activity.add_interaction(
                self.customer_id,
                kind=values["kind"],
                detail=values["detail"],
                amount=values["amount"],
            )
        )
