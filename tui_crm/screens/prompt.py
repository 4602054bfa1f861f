"""Ask for one line of text (a file's path to finish an import run) by keyboard."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..i18n import N_, _
from ..widgets.translated_bindings import TranslatedBindings


class PromptScreen(TranslatedBindings, ModalScreen[str | None]):
    """Enter answers with the text typed, Esc cancels (None); the question is plain text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="prompt.cancel"),
    ]

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 76; max-width: 95%; height: auto; border: thick $primary;
        background: $surface; padding: 1 2;
    }
    PromptScreen .prompt-keys { color: $text-muted; }
    """

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question))
            yield Input(self.value, id="prompt-input")
            yield Static(_("Enter: go on · Esc: cancel"), classes="prompt-keys", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
