"""Keeping the base clean: the duplicate scan, merging two customers, the cleaning report.

The engines are `dedupe.py`, `merge.py` and `quality.py`; this door decides who may use
them and what leaves it:

- the scan and merges need `CUSTOMER_MERGE`: managers and admins over every customer, a
  sales rep only among their own (the scan never pairs a rep's customer with a
  colleague's, and a merge of a colleague's customer is refused before anything of it is
  read out);
- the side-by-side view is masked like the detail screen: a sensitive value leaves only
  masked (a person allowed to reveal does so field by field through
  `customers.reveal`, audited); whether two masked values differ is said separately, so
  two numbers that mask alike are not taken for one;
- a merge is audited with both codes in its own transaction (the engine writes one
  entry under each code);
- the cleaning report is for managers and admins (`QUALITY_REPORT`), over the base or one
  import run's customers.

The scan and the report read the whole base (a minute at a million customers): they read
through a connection of their own, in one snapshot, so the session's shared connection
stays free for the other screens meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import dedupe, merge, quality
from ..crypto import MASKERS, SENSITIVE_FIELDS
from ..db import connect, resolve_code
from ..dedupe import Candidate, Progress, ScanOptions, ScanResult
from ..i18n import N_, _
from ..labels import LabelKind, field_label, industry_label, label
from ..merge import MergeConflict, MergeError, MergeResult, Side
from ..quality import QualityReport
from ..roles import Action, Scope
from .context import Context
from .errors import NotFound, ServiceError
from .records import customer_row, username_of

__all__ = [
    "Candidate",
    "Cleaning",
    "FieldView",
    "MergeRefused",
    "MergeResult",
    "MergeStale",
    "MergeView",
    "QualityReport",
    "ScanOptions",
    "ScanResult",
    "Side",
]


class MergeRefused(ServiceError):
    """The merge engine refused the pair or the choices; nothing changed."""


class MergeStale(MergeRefused):
    """One of the two was saved by someone else since the side-by-side view was read."""


@dataclass(frozen=True)
class FieldView:
    """One row of the side-by-side view, as the caller may see it (sensitive values
    masked, the owner by username); `differs` compares the stored values, so two phones
    that mask alike still show as a choice."""

    field: str
    survivor: str
    merged: str
    default: Side
    differs: bool
    sensitive: bool


@dataclass(frozen=True)
class MergeView:
    """Both records side by side, with the versions a merge must still find."""

    survivor_id: int
    survivor_code: str
    survivor_version: int
    merged_id: int
    merged_code: str
    merged_version: int
    fields: tuple[FieldView, ...]

    @property
    def expected_versions(self) -> tuple[int, int]:
        return self.survivor_version, self.merged_version


class Cleaning:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def _merge_owner(self) -> int | None:
        """The owner both customers of a pair must have, or None when the role merges all."""
        scope = self.context.require(Action.CUSTOMER_MERGE)
        return self.context.user.id if scope is Scope.OWN else None

    def scan(
        self, options: ScanOptions | None = None, progress: Progress | None = None
    ) -> ScanResult:
        """Candidate pairs, strongest first: every customer's for managers and admins, a
        sales rep's own customers among themselves."""
        owner_id = self._merge_owner()
        with self._snapshot() as conn:
            return dedupe.scan(
                conn, owner_id=owner_id, options=options or ScanOptions(), progress=progress
            )

    def side_by_side(self, survivor: int | str, merged: int | str) -> MergeView:
        """Both records field by field with the default surviving value (ids or codes;
        a merged-away code names its survivor)."""
        self._merge_owner()
        with self.db.read() as conn:
            first, second = self._pair(conn, survivor, merged)
            try:
                choices = merge.side_by_side(conn, self.db.keys, first["id"], second["id"])
            except MergeError as exc:
                raise MergeRefused(str(exc)) from None
            fields = tuple(
                FieldView(
                    c.field,
                    _shown(conn, c.field, c.survivor),
                    _shown(conn, c.field, c.merged),
                    c.default,
                    (c.survivor or "") != (c.merged or ""),
                    c.field in SENSITIVE_FIELDS,
                )
                for c in choices
            )
            return MergeView(
                first["id"],
                first["code"],
                first["version"],
                second["id"],
                second["code"],
                second["version"],
                fields,
            )

    def merge(
        self,
        survivor: int | str,
        merged: int | str,
        choices: Mapping[str, Side] | None = None,
        expected_versions: tuple[int, int] | None = None,
    ) -> MergeResult:
        """Merge `merged` into `survivor`, taking the other side for the fields named in
        `choices`; audited under both codes in the same transaction."""
        self._merge_owner()
        with self.db.write() as tx:
            first, second = self._pair(tx, survivor, merged)
            try:
                return merge.merge_customers(
                    tx,
                    self.db.keys,
                    first["id"],
                    second["id"],
                    actor=self.context.actor,
                    choices=choices,
                    expected_versions=expected_versions,
                )
            except MergeConflict as exc:
                raise MergeStale(str(exc)) from None
            except MergeError as exc:
                raise MergeRefused(str(exc)) from None

    def report(
        self,
        run_id: int | None = None,
        progress: Progress | None = None,
        examples: int = 20,
    ) -> QualityReport:
        """The cleaning report over every customer, or over one import run's."""
        self.context.require(Action.QUALITY_REPORT)
        with self._snapshot() as conn:
            if (
                run_id is not None
                and not conn.execute("SELECT 1 FROM import_runs WHERE id=?", (run_id,)).fetchone()
            ):
                raise NotFound(_("No import run {id}.").format(id=run_id))
            return quality.quality_report(
                conn, self.db.keys, run_id=run_id, examples=examples, progress=progress
            )

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on a connection of its own, closed afterwards."""
        conn = connect(self.db.path)
        try:
            conn.execute("BEGIN")
            yield conn
        finally:
            conn.rollback()
            conn.close()

    def _pair(self, conn: Any, survivor: int | str, merged: int | str) -> tuple[Any, Any]:
        """Both rows, each refused unless the caller may merge it; a sales rep asking
        about a colleague's customer learns nothing of it."""
        rows = []
        for key in (survivor, merged):
            row = customer_row(conn, self._id(conn, key))
            self.context.require(Action.CUSTOMER_READ, row["owner_id"])
            self.context.require(Action.CUSTOMER_MERGE, row["owner_id"])
            rows.append(row)
        if rows[0]["id"] == rows[1]["id"]:
            merged_away = [
                code
                for code in (str(k).strip().upper() for k in (survivor, merged))
                if not code.isdigit() and code != rows[0]["code"]
            ]
            if merged_away:  # a merge asked for twice: its code names the survivor now
                raise MergeRefused(
                    _("{code} was already merged into {survivor}.").format(
                        code=merged_away[-1], survivor=rows[0]["code"]
                    )
                )
            raise MergeRefused(_("A customer cannot be merged with itself."))
        return rows[0], rows[1]

    @staticmethod
    def _id(conn: Any, key: int | str) -> int:
        if isinstance(key, int):
            return key
        found = resolve_code(conn, key)
        if found is None:
            raise NotFound(_("No customer with code {code}.").format(code=key))
        return found


def _shown(conn: Any, name: str, value: Any) -> str:
    """A side-by-side value as the detail screen would show it before any reveal: masked,
    stored codes by their display names, the owner by username."""
    if value in (None, ""):
        return ""
    if name == "owner_id":
        return username_of(conn, value) or str(value)
    if name in MASKERS:
        return MASKERS[name](value)
    if name == "industry":
        return industry_label(value)
    if name in _LABELLED:
        return label(_LABELLED[name], value)
    return str(value)


_LABELLED: dict[str, LabelKind] = {
    "kind": "customer_kind",
    "customer_type": "customer_type",
    "source": "source",
    "company_size": "company_size",
}


def merge_field_label(name: str) -> str:
    """A mergeable field's name as the operator reads it (`owner_id` is the owner)."""
    return field_label("owner" if name == "owner_id" else name)


ANOMALIES = {
    "negative_amount": N_("negative amounts"),
    "order_without_amount": N_("orders without an amount"),
    "order_over_10x_average": N_("orders over 10× that customer's average"),
}


def anomaly_label(kind: str) -> str:
    """A kind of anomaly of the cleaning report as the operator reads it."""
    return _(ANOMALIES[kind]) if kind in ANOMALIES else kind


def reason_label(reason: str) -> str:
    """A report's "email+name" as the operator reads it: "email, name"."""
    return ", ".join(field_label(f) for f in reason.split("+"))


def match_reasons(candidate: Candidate) -> str:
    """Why a pair matched, as the operator reads it: "phone, name 93%"."""
    parts = []
    for match in candidate.matches:
        name = field_label(match.field)
        if match.similarity < 100:
            name = _("{field} {similarity}%").format(field=name, similarity=round(match.similarity))
        parts.append(name)
    return ", ".join(parts)
