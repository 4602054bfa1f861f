"""What the command palette (ctrl+p) offers: the screen's own commands, nothing of Textual's.

Textual's palette offers the same defaults on every screen: Theme, Keys, Maximize, Quit and
Screenshot, which writes the screen (revealed values included) to a file. Ours offers what
the screen's keys do, whatever the screen: every binding with an id and a description (the
app's Help and Quit among them), named as the footer and the help screen name it, with its
keys beside it. Cursor movement (bindings marked `system=True`) is left to the keys, and a
screen may leave out what its user's role may not do (`palette_offers(binding_id)`) or add
commands that have no key of their own (`palette_commands()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.app import SystemCommand
from textual.binding import ActiveBinding
from textual.screen import Screen

from .translated_bindings import translated_binding


def binding_commands(screen: Screen) -> Iterator[SystemCommand]:
    """One command per action bound on the screen (its keys joined), enabled ones only."""
    app = screen.app
    offers = getattr(screen, "palette_offers", None)
    grouped: dict[tuple[int, str], tuple[ActiveBinding, list[str]]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system or not (binding.id and binding.description and active.enabled):
            continue
        if offers is not None and not offers(binding.id):
            continue
        _first, keys = grouped.setdefault((id(active.node), binding.action), (active, []))
        keys.append(app.get_key_display(binding))
    for active, keys in grouped.values():
        shown = translated_binding(active.binding)
        help_text = "  ".join(part for part in (", ".join(keys), shown.tooltip) if part)
        run = partial(app.run_action, active.binding.action, active.node)
        yield SystemCommand(shown.description, help_text, run)


def palette_commands(screen: Screen) -> Iterator[SystemCommand]:
    """Everything the palette offers on `screen`: its bindings, then its own extra commands."""
    yield from binding_commands(screen)
    extra = getattr(screen, "palette_commands", None)
    if extra is not None:
        yield from extra()
