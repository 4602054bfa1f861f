"""The Audit tab: newest first, filtered, loaded a page at a time as the cursor nears the end.

Pages come by keyset on id from `Service.audit_entries`, so a million entries cost what a
hundred do; only what the operator has scrolled through is ever held.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from ...audit import AuditEntry, AuditFilter
from ...config import Settings
from ...export import ExportError
from ...i18n import N_, _, ngettext
from ...i18n.formats import format_number
from ...labels import field_label, label
from ...service import Service, ServiceError
from ...widgets.fitted_table import Column, FittedTable
from .audit_entry import AuditEntryScreen

PAGE = 100
# Narrow, the entry number goes (Enter shows it) and times end at the minute; the details
# take what is left, and the highlighted entry's details show in full under the table.
COLUMNS = (
    Column("id", "#", 6, narrow=0),
    Column("at", N_("When"), 19, narrow=16),
    Column("actor", N_("Who"), 10, narrow=8),
    Column("action", N_("Action"), 17, narrow=15),
    Column("customer", N_("Customer"), 11),
    Column("details", N_("Details"), least=16),
)
PREFETCH = 20
FILTERS = (
    ("actor", N_("user")),
    ("action", N_("action")),
    ("customer_code", N_("customer")),
    ("since", N_("since")),
    ("until", N_("until")),
    ("text", N_("any text")),
)


class AuditPanel(Vertical):
    """Enter on a filter applies it; Enter on an entry opens it; v verifies; e exports."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "verify", N_("Verify chain"), id="admin.audit_verify"),
        Binding("e", "export", N_("Export view"), id="admin.audit_export"),
        Binding("ctrl+r", "reload", N_("Reload"), id="admin.audit_reload"),
    ]

    DEFAULT_CSS = """
    AuditPanel { height: 1fr; }
    AuditPanel .audit-filters { height: 3; }
    AuditPanel .audit-filters Input { width: 1fr; }
    AuditPanel DataTable { height: 1fr; }
    AuditPanel .audit-preview { height: auto; max-height: 2; }
    AuditPanel .audit-status { height: 1; color: $text-muted; }
    """

    def __init__(self, service: Service, export_dir: Path, settings: Settings) -> None:
        super().__init__()
        self.service = service
        self.export_dir = export_dir
        self.settings = settings
        self.entries: dict[int, AuditEntry] = {}
        self.oldest_id: int | None = None
        self.exhausted = False
        self.loading = False
        self.filter = AuditFilter()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="audit-filters"):
            for name, placeholder in FILTERS:
                yield Input(placeholder=_(placeholder), id=f"audit-{name}")
        yield FittedTable(COLUMNS)
        yield Static(Text(""), classes="audit-preview")
        yield Static(Text(""), classes="audit-status")

    def on_mount(self) -> None:
        self.action_reload()

    def _read_filter(self) -> AuditFilter:
        values = {
            name: self.query_one(f"#audit-{name}", Input).value.strip() or None
            for name, _placeholder in FILTERS
        }
        for name in ("since", "until"):
            if values[name]:
                try:
                    dt.date.fromisoformat(values[name] or "")
                except ValueError:
                    message = _("Write dates as YYYY-MM-DD: {value}").format(value=values[name])
                    self.app.notify(message, severity="warning", markup=False)
                    values[name] = None
        return AuditFilter(**values)

    @on(Input.Submitted)
    def _apply_filters(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_reload()
        self.query_one(DataTable).focus()

    def action_reload(self) -> None:
        self.filter = self._read_filter()
        self.entries.clear()
        self.oldest_id = None
        self.exhausted = False
        self.query_one(FittedTable).show(())
        self._preview(None)
        self._load_page(self.filter, None)

    @work(thread=True, exclusive=True, group="admin-audit-page")
    def _load_page(self, flt: AuditFilter, before_id: int | None) -> None:
        try:
            page = self.service.audit_log.entries(flt, before_id=before_id, limit=PAGE)
        except ServiceError as exc:
            self.app.call_from_thread(self._status, Text(str(exc), style="red"))
            return
        self.app.call_from_thread(self._add_page, flt, page)

    def _add_page(self, flt: AuditFilter, page: list[AuditEntry]) -> None:
        if flt != self.filter:
            return
        fresh = [e for e in page if e.id not in self.entries]
        self.entries.update((e.id, e) for e in fresh)
        self.query_one(FittedTable).extend((str(e.id), _cells(e)) for e in fresh)
        if page:
            self.oldest_id = page[-1].id
        self.exhausted = len(page) < PAGE
        count = len(self.entries)
        if self.exhausted:
            status = ngettext("{count} entry, newest first", "{count} entries, newest first", count)
        else:
            status = _("{count}+ entries, newest first (more load as you scroll)")
        self._status(Text(status.format(count=format_number(count))))

    def _status(self, text: Text) -> None:
        self.query_one(".audit-status", Static).update(text)

    def _preview(self, entry: AuditEntry | None) -> None:
        """The highlighted entry's details in full, however narrow the table's column is."""
        preview = Text()
        if entry is not None:
            preview.append(f"#{entry.id} {entry.action}", style="bold")
            if entry.customer_code:
                preview.append(f" {entry.customer_code}")
            summary = _summary(entry)
            if summary:
                preview.append(f": {summary}")
        self.query_one(".audit-preview", Static).update(preview)

    @on(DataTable.RowHighlighted)
    def _maybe_load_more(self, event: DataTable.RowHighlighted) -> None:
        self._preview(self.entries.get(int(str(event.row_key.value))))
        table = self.query_one(DataTable)
        if not self.exhausted and event.cursor_row >= table.row_count - PREFETCH:
            self._load_page(self.filter, self.oldest_id)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        entry = self.entries.get(int(str(event.row_key.value)))
        if entry is not None:
            self.app.push_screen(AuditEntryScreen(entry))

    def action_verify(self) -> None:
        self._status(Text(_("Verifying the audit chain…")))
        self._verify()

    @work(thread=True, exclusive=True, group="admin-audit-verify")
    def _verify(self) -> None:
        result = self.service.audit_log.verify(settings=self.settings)
        self.app.call_from_thread(
            self.app.notify,
            result.describe(),
            severity="information" if result.ok else "error",
            markup=False,
        )
        self.app.call_from_thread(self._status, Text(result.describe()))

    def action_export(self) -> None:
        self.export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self._export(self.filter, self.export_dir / f"audit-{stamp}.csv")

    @work(thread=True, exclusive=True, group="admin-audit-export")
    def _export(self, flt: AuditFilter, out: Path) -> None:
        try:
            written = self.service.audit_log.export(flt, out)
        except (ServiceError, ExportError, OSError) as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error", markup=False)
            return
        message = ngettext(
            "Exported {count} entry to {path}", "Exported {count} entries to {path}", written
        ).format(count=format_number(written), path=out)
        self.app.call_from_thread(self.app.notify, message, markup=False)


def _cells(entry: AuditEntry) -> dict[str, Text]:
    return {
        "id": Text(str(entry.id), justify="right"),
        "at": Text(entry.at.replace("T", " "), overflow="crop"),  # narrow: to the minute
        "actor": Text(entry.actor),
        "action": Text(label("audit_action", entry.action)),
        "customer": Text(entry.customer_code),
        "details": Text(_summary(entry)),
    }


def _summary(entry: AuditEntry) -> str:
    fields = entry.details.get("fields")
    if isinstance(fields, dict) and fields:
        names = ", ".join(sorted(field_label(name) for name in fields))
        return _("changed: {fields}").format(fields=names)
    return json.dumps(entry.details, ensure_ascii=False) if entry.details else ""
