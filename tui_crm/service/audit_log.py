"""The audit log as admins see it: browse, verify the chain, export a filtered view."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path

from .. import audit
from ..roles import Action
from .context import Context


class AuditLog:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def entries(
        self, flt: audit.AuditFilter, *, before_id: int | None = None, limit: int = 100
    ) -> list[audit.AuditEntry]:
        self.context.require(Action.AUDIT)
        return audit.query(self.db.conn, self.db.keys, flt, before_id=before_id, limit=limit)

    def verify(self) -> audit.VerifyResult:
        self.context.require(Action.AUDIT)
        return audit.verify(self.db.conn, self.db.keys)

    def export(self, flt: audit.AuditFilter, out: Path) -> int:
        """Write the filtered audit entries, newest first, as CSV readable by its owner only;
        the export itself is audited."""
        self.context.require(Action.AUDIT)
        self.context.require(Action.EXPORT)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        written = 0
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["id", "at", "actor", "action", "entity", "entity_id", "customer_code", "details"]
            )
            before: int | None = None
            while page := audit.query(
                self.db.conn, self.db.keys, flt, before_id=before, limit=1000
            ):
                for e in page:
                    writer.writerow(
                        [
                            e.id,
                            e.at,
                            e.actor,
                            e.action,
                            e.entity,
                            e.entity_id,
                            e.customer_code,
                            json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                        ]
                    )
                written += len(page)
                before = page[-1].id
        filters = {k: val for k, val in dataclasses.asdict(flt).items() if val}
        self.context.record(
            "audit.export", {"entries": written, "filters": filters, "to": str(out)}
        )
        return written
