"""Ask a yes/no question before something that cannot be undone (discard, save a duplicate)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..i18n import N_, _
from ..widgets.translated_bindings import TranslatedBindings


class ConfirmScreen(TranslatedBindings, ModalScreen[bool]):
    """`y` answers yes, `n` or Esc no; the question and details are plain text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", N_("Yes"), id="confirm.yes"),
        Binding("n", "answer(False)", N_("No"), id="confirm.no"),
        Binding("escape", "answer(False)", N_("No"), show=False, id="confirm.cancel"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen .confirm-keys { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, question: str | Text, details: Text | None = None) -> None:
        super().__init__()
        self.question = Text(question) if isinstance(question, str) else question
        self.details = details

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, classes="confirm-question")
            if self.details is not None:
                yield Static(self.details, classes="confirm-details")
            yield Static(_("y yes    n / Esc no"), classes="confirm-keys", markup=False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
