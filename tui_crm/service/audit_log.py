"""The audit log as admins see it: browse, verify the chain, print its head, export a view.

Verifying also checks the heads that backup manifests recorded (a log shorter than a
backup's recorded head was cut), and optionally a head line kept elsewhere (`head`).
Reading the manifests needs only the audit permission: they are the log's witnesses, not
backups to restore.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import audit
from ..backup import BackupStore, default_dir
from ..config import Settings
from ..export import write_table
from ..i18n import _, ngettext
from ..roles import Action
from .context import Context

EXPORT_COLUMNS = ("id", "at", "actor", "action", "entity", "entity_id", "customer_code", "details")
EXPORT_PAGE = 1000


class AuditLog:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def entries(
        self, flt: audit.AuditFilter, *, before_id: int | None = None, limit: int = 100
    ) -> list[audit.AuditEntry]:
        self.context.require(Action.AUDIT)
        return audit.query(self.db.conn, self.db.keys, flt, before_id=before_id, limit=limit)

    def verify(
        self, *, against: str | None = None, settings: Settings | None = None
    ) -> audit.VerifyResult:
        """Walk the chain, check the signed head, the heads recorded in the configured backup
        directory's manifests and, if given, a head line from `head` (ValueError if `against`
        is not one)."""
        self.context.require(Action.AUDIT)
        store = BackupStore(default_dir(self.db.path, settings or Settings.load()), self.db.keys)
        note = ""
        try:
            anchors, unreadable = store.recorded_heads()
        except OSError as exc:
            anchors, unreadable = [], []
            note = _("backup manifests in {folder} not checked: {problem}").format(
                folder=store.directory, problem=exc.strerror or exc
            )
        if unreadable:
            shown = ", ".join(unreadable[:3]) + ("…" if len(unreadable) > 3 else "")
            note = ngettext(
                "{count} backup manifest could not be read or trusted and was not checked:"
                " {backups}",
                "{count} backup manifests could not be read or trusted and were not checked:"
                " {backups}",
                len(unreadable),
            ).format(count=len(unreadable), backups=shown)
        result = audit.verify(self.db.conn, self.db.keys, anchors=anchors, against=against)
        return dataclasses.replace(result, note=note) if note else result

    def head(self) -> str:
        """The log's authenticated head as one line to keep elsewhere (mail, ticket, syslog);
        `verify(against=line)` later proves nothing up to it changed. ValueError if the head
        is missing or not authentic."""
        self.context.require(Action.AUDIT)
        return audit.head_line(self.db.conn, self.db.keys)

    def export(self, flt: audit.AuditFilter, out: Path, *, force: bool = False) -> int:
        """Write the filtered audit entries, newest first, as CSV in a new file readable by its
        owner only (an existing file or a symlink is refused unless `force` replaces a file);
        cells a spreadsheet would run as formulas are neutralised; the export is audited."""
        self.context.require(Action.AUDIT)
        self.context.require(Action.EXPORT)
        written = write_table(out, EXPORT_COLUMNS, self._rows(flt), force=force)
        filters = {k: val for k, val in dataclasses.asdict(flt).items() if val}
        self.context.record(
            "audit.export", {"entries": written, "filters": filters, "to": str(out)}
        )
        return written

    def _rows(self, flt: audit.AuditFilter) -> Iterator[list[Any]]:
        before: int | None = None
        while page := audit.query(
            self.db.conn, self.db.keys, flt, before_id=before, limit=EXPORT_PAGE
        ):
            for e in page:
                yield [
                    *(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.customer_code),
                    json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                ]
            before = page[-1].id
