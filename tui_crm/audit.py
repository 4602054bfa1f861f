"""The append-only, hash-chained audit log.

Each entry's MAC covers its own fields and the previous entry's MAC, under a key derived
from the master key: an entry edited, removed or reordered with plain sqlite3 breaks the
chain at that entry, and removing entries from the end is caught by the head in `meta`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from .crypto import KeyRing
from .db import set_meta

GENESIS = "0" * 64
HEAD_KEY = "audit_head"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: int | None
    customer_code: str
    details: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AuditEntry:
        return cls(
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            customer_code=row["customer_code"],
            details=json.loads(row["details"]),
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} entries verified"
        return f"audit chain broken at entry {self.broken_id}: {self.reason}"


def _mac(keys: KeyRing, prev_hash: str, fields: tuple[Any, ...]) -> str:
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return keys.audit_mac(prev_hash.encode() + b"\x1f" + payload.encode())


def _fields(row: sqlite3.Row | dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["id"],
        row["at"],
        row["actor"],
        row["action"],
        row["entity"],
        row["entity_id"],
        row["customer_code"],
        row["details"],
    )


def append(
    conn: sqlite3.Connection,
    keys: KeyRing,
    *,
    at: str,
    actor: str,
    action: str,
    entity: str = "",
    entity_id: int | None = None,
    customer_code: str = "",
    details: dict[str, Any] | None = None,
) -> int:
    """Add one entry; call inside the write transaction of the change it records."""
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last["hash"] if last else GENESIS
    row = {
        "id": (last["id"] + 1) if last else 1,
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "customer_code": customer_code,
        "details": json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
    }
    digest = _mac(keys, prev_hash, _fields(row))
    conn.execute(
        "INSERT INTO audit_log(id, at, actor, action, entity, entity_id, customer_code, details,"
        " prev_hash, hash) VALUES (:id, :at, :actor, :action, :entity, :entity_id,"
        " :customer_code, :details, :prev_hash, :hash)",
        {**row, "prev_hash": prev_hash, "hash": digest},
    )
    set_meta(conn, HEAD_KEY, f"{row['id']}:{digest}")
    return int(row["id"])


def verify(conn: sqlite3.Connection, keys: KeyRing) -> VerifyResult:
    """Walk the whole chain; name the first entry that does not follow from the one before."""
    prev_hash = GENESIS
    expected_id = 1
    checked = 0
    cursor = conn.execute("SELECT * FROM audit_log ORDER BY id")
    try:
        for row in cursor:
            if row["id"] != expected_id:
                return VerifyResult(False, checked, expected_id, "entry is missing")
            if row["prev_hash"] != prev_hash:
                return VerifyResult(False, checked, row["id"], "does not follow the entry before")
            if _mac(keys, prev_hash, _fields(row)) != row["hash"]:
                return VerifyResult(False, checked, row["id"], "contents were altered")
            prev_hash = row["hash"]
            expected_id += 1
            checked += 1
    finally:
        cursor.close()
    head = conn.execute("SELECT value FROM meta WHERE key=?", (HEAD_KEY,)).fetchone()
    if head is not None and head[0] != f"{expected_id - 1}:{prev_hash}":
        recorded = head[0].split(":", 1)[0]
        return VerifyResult(
            False, checked, expected_id, f"entries after it up to {recorded} removed"
        )
    return VerifyResult(True, checked)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    customer_code: str | None = None
    since: str | None = None
    until: str | None = None
    text: str | None = None


def query(
    conn: sqlite3.Connection, flt: AuditFilter, *, before_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest first, a page at a time (keyset on id), so a million entries stay fast."""
    where, params = ["1=1"], []
    if flt.actor:
        where.append("actor = ?")
        params.append(flt.actor)
    if flt.action:
        where.append("(action = ? OR action LIKE ? || '.%')")
        params += [flt.action, flt.action]
    if flt.customer_code:
        where.append("customer_code = ?")
        params.append(flt.customer_code)
    if flt.since:
        where.append("at >= ?")
        params.append(flt.since)
    if flt.until:
        where.append("at < date(?, '+1 day')")
        params.append(flt.until)
    if flt.text:
        where.append("(details LIKE '%' || ? || '%' OR actor LIKE '%' || ? || '%')")
        params += [flt.text, flt.text]
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    sql = f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
    return [AuditEntry.from_row(row) for row in conn.execute(sql, [*params, limit]).fetchall()]
