"""Pick one value from a short list (a filter's industry, owner or tag) by keyboard."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..i18n import N_, _
from ..widgets.translated_bindings import TranslatedBindings


class ChoiceScreen(TranslatedBindings, ModalScreen[str | None]):
    """Dismissed with the chosen option's id, "" for "any" (or what `any_label` names),
    or None when cancelled."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical {
        width: 60; max-height: 80%; height: auto; border: round $primary; padding: 0 1;
    }
    ChoiceScreen OptionList { height: auto; max-height: 18; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="choice.cancel"),
    ]

    def __init__(
        self, title: str, options: list[tuple[str, str]], *, any_label: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.any_label = any_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, style="bold"))
            yield OptionList(
                Option(Text(self.any_label or _("(any)")), id=""),
                *(Option(Text(label), id=key) for key, label in self.options),
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        self.dismiss(None)
