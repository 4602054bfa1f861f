"""Every key binding of the screen it was opened from, with its id for remapping."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..config import config_file
from ..i18n import N_, _
from ..i18n.formats import pad
from ..widgets.translated_bindings import TranslatedBindings


class HelpScreen(TranslatedBindings, ModalScreen[None]):
    """Keys, what they do, and the id to use under [bindings] in config.toml."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 96; height: 90%; border: round $primary; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", N_("Close"), id="help.close"),
    ]

    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(_("Keys") + "\n\n", style="bold")
        key_width = max((cell_len(keys) for keys, _text, _id in self.bindings), default=4) + 2
        for keys, description, binding_id in self.bindings:
            text.append(pad(keys, key_width), style="bold")
            text.append(pad(description, 28))
            text.append(f"{binding_id}\n", style="dim")
        remap = _("Remap a key in {path} under [bindings], e.g.").format(path=config_file())
        text.append("\n" + remap + "\n")
        text.append('  "customers.new" = "ctrl+n"\n')
        text.append(_("Press Esc to close."))
        with VerticalScroll():
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
