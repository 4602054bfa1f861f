"""One audit entry: who did what when, and each changed field's before and after."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...audit import AuditEntry
from ...i18n import N_, _
from ...labels import field_label, label
from ...widgets.translated_bindings import TranslatedBindings


def _plain(value: Any) -> Text:
    if value is None:
        return Text("—", style="dim")
    if isinstance(value, str):
        return Text(value)
    return Text(json.dumps(value, ensure_ascii=False))


class AuditEntryScreen(TranslatedBindings, ModalScreen[None]):
    """Esc closes. Values are as the log holds them (sensitive ones already masked)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", N_("Close"), id="audit_entry.close"),
    ]

    DEFAULT_CSS = """
    AuditEntryScreen { align: center middle; }
    AuditEntryScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, entry: AuditEntry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        e = self.entry
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold")
        head.add_column()
        action = label("audit_action", e.action)
        for title, value in (
            (_("Entry"), str(e.id)),
            (_("When"), e.at.replace("T", " ")),
            (_("Who"), e.actor),
            (_("Action"), f"{action} ({e.action})" if action != e.action else e.action),
            (_("Record"), f"{e.entity} {e.entity_id}" if e.entity else ""),
            (_("Customer"), e.customer_code),
        ):
            head.add_row(Text(title), Text(value))
        details = dict(e.details)
        fields = details.pop("fields", None)
        with VerticalScroll():
            yield Static(head)
            if isinstance(fields, dict) and fields:
                changes = Table(title=Text(_("Changes")), expand=True)
                changes.add_column(Text(_("Field")), style="bold")
                changes.add_column(Text(_("Before")))
                changes.add_column(Text(_("After")))
                for name, pair in sorted(fields.items()):
                    before, after = (
                        pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
                    )
                    changes.add_row(Text(field_label(str(name))), _plain(before), _plain(after))
                yield Static(changes)
            if details:
                extra = Table.grid(padding=(0, 2))
                extra.add_column(style="bold")
                extra.add_column()
                for name, value in sorted(details.items()):
                    extra.add_row(Text(str(name)), _plain(value))
                yield Static(extra)
            yield Static(Text(_("Esc close"), style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
