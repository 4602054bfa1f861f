"""Exporting the customer list: exactly the customers the user's list shows for the same
search, filters and sort (the list's own query plans in `listing`, scoped like the list),
masked; plaintext sensitive values only for a role that may reveal them, only when asked.

Managers and admins may export (`Action.EXPORT`). Each export is one audit entry — who,
the filters, the row count, the format, the path, revealed or not — written in one
transaction with the decision to let the file be: the rows are read from a snapshot of
their own (so the app's other reads do not wait for a long export) and streamed to disk,
then the entry is committed before the file is put in place, and if the entry cannot be
written no file is left. Whether the user may export, and may reveal, is decided before
the first row is read, from the session's role.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import export, listing
from ..crypto import MASKERS
from ..db import connect
from ..export import ExportResult
from ..i18n import active_language
from ..roles import Action
from .context import Context

# (rows written, rows the list holds): progress of a running export.
ExportProgress = Callable[[int, int], None]
COUNT_LIMIT = 10**9  # counting a whole list, however long, for the progress bar


class Exports:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def may_reveal(self) -> bool:
        """Whether this user may ask for an export with plaintext sensitive values."""
        return self.context.can(Action.EXPORT) and self.context.can(Action.REVEAL)

    def customers(
        self,
        query: listing.CustomerQuery,
        out: Path,
        *,
        fmt: str | None = None,
        reveal: bool = False,
        force: bool = False,
        language: str | None = None,
        progress: ExportProgress | None = None,
    ) -> ExportResult:
        """Write the list `query` shows this user to `out` (CSV or XLSX, see
        `export.export_format`); masked unless `reveal`, which needs the reveal right."""
        self.context.require(Action.EXPORT)
        if reveal:
            self.context.require(Action.REVEAL)
        scope = self.context.owner_scope()
        kind = export.export_format(out, fmt)
        conn = connect(self.db.path)
        try:
            conn.execute("BEGIN")  # one snapshot for the count and every page
            total = listing.count(conn, self.db.keys, query, scope, cap=COUNT_LIMIT)[0]
            if progress is not None:
                progress(0, total)

            def audit(rows: int) -> None:
                with self.db.write() as tx:
                    self.context.audit(
                        tx,
                        "customer.export",
                        details={
                            "rows": rows,
                            "format": kind,
                            "to": str(Path(out).absolute()),
                            "revealed": reveal,
                            "filters": audited_filters(query),
                        },
                    )

            return export.export_customers(
                conn,
                self.db.keys,
                Path(out),
                query=query,
                scope_owner_id=scope,
                fmt=kind,
                reveal=reveal,
                force=force,
                language=language or active_language(),
                progress=(lambda done: progress(done, total)) if progress else None,
                on_written=audit,
            )
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()


def audited_filters(query: listing.CustomerQuery) -> dict[str, Any]:
    """The query as the audit log keeps it: what was set, with a searched phone, email or
    ID number masked (the log never holds a sensitive value in plaintext)."""
    filters = {
        name: value
        for name, value in dataclasses.asdict(query).items()
        if value not in (None, "", False) and name not in ("text", "sort", "descending")
    }
    text = query.text.strip()
    if text:
        kind = listing.search_kind(text)
        filters["search"] = MASKERS[kind](text) if kind in MASKERS else _masked_within(text)
    filters["sort"] = f"{query.sort} {'desc' if query.descending else 'asc'}"
    return filters


# Inside a search that is no exact contact value: a mistyped or embedded phone or ID
# number (8 digits or more, separators allowed, not part of a code) and anything
# around an @.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])\+?\d[\d \-()]{6,}[\dXx]")
_EMAIL_LIKE = re.compile(r"\S*@\S*")
_CONTACT_DIGITS = 8
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _masked_within(text: str) -> str:
    """`text` with every phone-, ID- or email-like part masked (the last 4 digits kept)."""

    def digits(found: re.Match[str]) -> str:
        run = found[0]
        if sum(c.isdigit() for c in run) < _CONTACT_DIGITS or _DATE.fullmatch(run):
            return run
        return "*" * (len(run) - 4) + run[-4:]

    return _DIGIT_RUN.sub(digits, _EMAIL_LIKE.sub(lambda found: MASKERS["email"](found[0]), text))
