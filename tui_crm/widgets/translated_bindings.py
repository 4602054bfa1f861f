"""Key bindings whose descriptions are shown in the active language.

A screen's BINDINGS are made when its class is defined, before anyone has signed in, so
their descriptions (and tooltips) stay English messages marked with `N_()`. Textual's
footer, its key panel, the command palette's key hints and our help screen all read a
screen's `active_bindings`; `TranslatedBindings` hands them out translated, looked up
again every time, so a language switch shows after `app.refresh_bindings()`.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING

from textual.binding import ActiveBinding, Binding
from textual.screen import Screen

from ..i18n import N_, _, active_language

# Textual's own words that reach our screens, marked so the catalogs hold them: the
# command palette's footer key and its tooltip, and the palette's search prompt.
TEXTUAL_MESSAGES = (N_("palette"), N_("Open the command palette"), N_("Search for commands…"))
# The descriptions of Textual's own bindings (screens, tabs, tables, lists, inputs, selects,
# buttons, scrolling) that the help screen lists beside ours.
TEXTUAL_BINDINGS = (
    N_("Focus Next"),
    N_("Focus Previous"),
    N_("Copy selected text"),
    N_("Previous tab"),
    N_("Next tab"),
    N_("Select"),
    N_("Cursor up"),
    N_("Cursor down"),
    N_("Cursor right"),
    N_("Cursor left"),
    N_("Page up"),
    N_("Page down"),
    N_("Top"),
    N_("Bottom"),
    N_("Home"),
    N_("End"),
    N_("Scroll Up"),
    N_("Scroll Down"),
    N_("Scroll Left"),
    N_("Scroll Right"),
    N_("Scroll Home"),
    N_("Scroll End"),
    N_("Page Up"),
    N_("Page Down"),
    N_("Page Left"),
    N_("Page Right"),
    N_("Down"),
    N_("Last"),
    N_("First"),
    N_("Up"),
    N_("Move cursor left"),
    N_("Move cursor left and select"),
    N_("Move cursor left a word"),
    N_("Move cursor left a word and select"),
    N_("Move cursor right or accept the completion suggestion"),
    N_("Move cursor right and select"),
    N_("Move cursor right a word"),
    N_("Move cursor right a word and select"),
    N_("Delete character left"),
    N_("Select all"),
    N_("Go to start"),
    N_("Go to end"),
    N_("Select line start"),
    N_("Select line end"),
    N_("Delete character right"),
    N_("Submit"),
    N_("Delete left to start of word"),
    N_("Delete all to the left"),
    N_("Delete right to start of word"),
    N_("Delete all to the right"),
    N_("Cut selected text"),
    N_("Paste text from the clipboard"),
    N_("Show menu"),
    N_("Dismiss menu"),
    N_("Toggle option"),
    N_("Press button"),
)


@cache
def _translated(binding: Binding, language: str) -> Binding:
    return dataclasses.replace(
        binding,
        description=_(binding.description) if binding.description else "",
        tooltip=_(binding.tooltip) if binding.tooltip else "",
    )


def translated_binding(binding: Binding) -> Binding:
    """The binding with its description and tooltip in the active language."""
    return _translated(binding, active_language())


if TYPE_CHECKING:
    _ScreenMixin = Screen
else:
    _ScreenMixin = object  # a plain mixin: as a Screen base, Screen's opaque background
    # would outrank a ModalScreen's see-through one in the CSS (Textual's base order)


class TranslatedBindings(_ScreenMixin):
    """Put first among a screen's bases: `class CustomersScreen(TranslatedBindings, Screen)`."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return {
            key: active._replace(
                binding=translated_binding(active.binding),
                tooltip=_(active.tooltip) if active.tooltip else "",
            )
            for key, active in super().active_bindings.items()
        }
