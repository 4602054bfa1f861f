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

from textual.binding import ActiveBinding, Binding
from textual.screen import Screen

from ..i18n import N_, _, active_language

# Textual's own words that reach our screens, marked so the catalogs hold them: the
# command palette's footer key and its tooltip, and the palette's search prompt.
TEXTUAL_MESSAGES = (N_("palette"), N_("Open the command palette"), N_("Search for commands…"))


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


class TranslatedBindings(Screen):
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
