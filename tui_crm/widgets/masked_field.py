"""Contact data shown masked; one field at a time can be revealed, for a short while."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget

from .. import validation as v
from ..i18n import N_, _
from ..i18n.formats import pad
from ..service import Customer, Service

LABELS = {
    "phone": N_("Phone"),
    "email": N_("Email"),
    "id_number": N_("ID no."),
    "address": N_("Address"),
}
REVEAL_SECONDS = 30.0
LABEL_WIDTH = 8  # at least: the longest English label and a space


class MaskedFields(Widget, can_focus=True):
    """Up/down choose a field; `reveal_selected` asks the service (which audits the reveal)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up", "select(-1)", N_("Previous field"), show=False, system=True, id="contact.previous"
        ),
        Binding("down", "select(1)", N_("Next field"), show=False, system=True, id="contact.next"),
    ]

    DEFAULT_CSS = """
    MaskedFields { height: auto; padding: 0 1; border: round $panel; }
    MaskedFields:focus { border: round $accent; }
    """

    selected: reactive[int] = reactive(0)

    def __init__(self, service: Service, customer: Customer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.service = service
        self.customer = customer
        self.fields = [name for name in LABELS if customer.kind == "person" or name != "id_number"]
        self.revealed: dict[str, str] = {}
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self.border_title = _("Contact")

    def show(self, customer: Customer) -> None:
        self.customer = customer
        self.mask_all()

    @property
    def selected_field(self) -> str:
        return self.fields[self.selected]

    def action_select(self, step: int) -> None:
        self.selected = (self.selected + step) % len(self.fields)

    def reveal_selected(self) -> str:
        """Reveal the selected field; raises the service's PermissionDenied if not allowed."""
        name = self.selected_field
        self.revealed[name] = self.service.customers.reveal(self.customer.id, name)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(REVEAL_SECONDS, self.mask_all)
        self.refresh(layout=True)
        return name

    def mask_all(self) -> None:
        self.revealed.clear()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.refresh(layout=True)

    def watch_selected(self) -> None:
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=False)
        labels = {name: _(LABELS[name]) for name in self.fields}
        width = max(LABEL_WIDTH, *(cell_len(shown) + 1 for shown in labels.values()))
        for index, name in enumerate(self.fields):
            marker = "▸ " if index == self.selected and self.has_focus else "  "
            text.append(marker, "bold")
            text.append(pad(labels[name], width), "dim")
            shown = name in self.revealed
            value = v.clean_text(self.revealed[name] if shown else getattr(self.customer, name))
            if cell_len(value) > self.size.width - len(marker) - width:
                text.append("\n  ")  # a long value gets a line of its own, not a ragged wrap
            text.append(value or "—", "bold yellow" if shown else "")
            if index < len(self.fields) - 1:
                text.append("\n")
        if self.revealed:
            seconds = round(REVEAL_SECONDS)
            text.append("\n" + _("(shown for {seconds} s)").format(seconds=seconds), "italic dim")
        return text

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
