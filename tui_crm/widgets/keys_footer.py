"""The footer every screen shows: its keys fitted to the terminal, whole keys only.

Textual's footer lays every key out in a row and lets the terminal cut it: at 80 columns
`? Help` and `^q Quit` fell off the end, and keys were cut mid-word (`k F`). This one keeps
the app-wide keys (help, quit, palette) at the right edge, always, and fills the rest with
the screen's keys in the order they are bound (the focused widget's first) for as long as
each fits whole. Keys left out are still in the help screen (`?`) and the palette.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

APP_WIDE_PREFIX = "app."


class ShownKey(NamedTuple):
    binding: Binding
    key_display: str
    description: str
    enabled: bool
    tooltip: str

    @property
    def width(self) -> int:
        """Cells the key takes in a compact footer, its right margin included."""
        text = f"{self.key_display} {self.description}" if self.description else self.key_display
        return cell_len(text) + 1

    def widget(self) -> FooterKey:
        return FooterKey(
            self.binding.key,
            self.key_display,
            self.description,
            self.binding.action,
            disabled=not self.enabled,
            tooltip=self.tooltip or self.description,
        ).data_bind(compact=Footer.compact)


class KeysFooter(Footer):
    """A compact footer that never cuts a key and always shows help, quit and the palette."""

    DEFAULT_CSS = """
    KeysFooter #app-keys {
        dock: right;
        width: auto;
        padding-left: 1;
        border-left: vkey $foreground 20%;
    }
    """

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._laid_out_for = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        screen_keys, app_keys = self._keys()
        width = self.size.width or self.app.size.width
        self._laid_out_for = width
        room = width - sum(key.width for key in app_keys) - 2  # the group's border and padding
        for key in screen_keys:
            room -= key.width
            if room < 0:
                break
            yield key.widget()
        with HorizontalGroup(id="app-keys"):
            for key in app_keys:
                yield key.widget()

    def _keys(self) -> tuple[list[ShownKey], list[ShownKey]]:
        """The screen's shown keys and the app-wide ones, one per action, in binding order."""
        palette_key = self.app.COMMAND_PALETTE_BINDING
        screen_keys: list[ShownKey] = []
        app_keys: list[ShownKey] = []
        actions: set[str] = set()
        for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items():
            is_palette = key == palette_key
            if not (binding.show or is_palette) or binding.action in actions:
                continue
            actions.add(binding.action)
            shown = ShownKey(
                binding, self.app.get_key_display(binding), binding.description, enabled, tooltip
            )
            app_wide = is_palette or (binding.id or "").startswith(APP_WIDE_PREFIX)
            (app_keys if app_wide else screen_keys).append(shown)
        return screen_keys, app_keys

    def on_resize(self, event: events.Resize) -> None:
        """A narrower or wider terminal fits a different number of keys."""
        if self._bindings_ready and event.size.width != self._laid_out_for:
            self.call_after_refresh(self.recompose)
