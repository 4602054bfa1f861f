"""Which fields did the call find wrong? Asked of a checker who may not edit the customer,
so the check can go to someone who may; field names only, never the right values."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static

from ..i18n import N_, _
from ..labels import field_label
from ..widgets.translated_bindings import TranslatedBindings


class WrongFieldsScreen(TranslatedBindings, ModalScreen[list[str] | None]):
    """Space ticks a field, Enter hands the check over, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "done", N_("Hand over"), priority=True, id="wrong_fields.done"),
        Binding("escape", "cancel", N_("Cancel"), id="wrong_fields.cancel"),
    ]

    DEFAULT_CSS = """
    WrongFieldsScreen { align: center middle; }
    WrongFieldsScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; padding: 0 1;
    }
    WrongFieldsScreen SelectionList { height: auto; max-height: 12; }
    WrongFieldsScreen .wrong-fields-error { color: $error; }
    """

    def __init__(self, fields: tuple[str, ...], assignee_hint: str) -> None:
        super().__init__()
        self.fields = fields
        self.assignee_hint = assignee_hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(_("Which details are wrong?"), style="bold"))
            yield Static(Text(self.assignee_hint))
            yield SelectionList[str](*((field_label(name), name) for name in self.fields))
            yield Static("", classes="wrong-fields-error", markup=False)
            yield Static(Text(_("Space ticks a field · Enter hands over · Esc cancels")))

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_done(self) -> None:
        chosen = list(self.query_one(SelectionList).selected)
        if not chosen:
            self.query_one(".wrong-fields-error", Static).update(
                _("Tick at least one field that needs a correction.")
            )
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
