"""The append-only, hash-chained audit log.

Each entry's MAC covers its own fields and the previous entry's MAC, under a key derived
from the master key: an entry edited, removed or reordered with plain sqlite3 breaks the
chain at that entry, and removing entries from the end is caught by the head in `meta`.

Details about one customer (names, notes, before/after values) are sealed under a random
key of that customer's own. A retention purge deletes that key, which erases the personal
data from every old entry at once while the chain, which covers the sealed bytes, still
verifies: the log stays append-only and the customer is forgotten (crypto-shredding).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .crypto import KeyRing
from .db import next_row_id, set_meta
from .i18n import _, ngettext

SEALED = "sealed"
GENESIS = "0" * 64
HEAD_KEY = "audit_head"


def erased() -> dict[str, str]:
    """What a purged customer's entries read as (their details' key is gone)."""
    return {"erased": _("personal data removed by a retention purge")}


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
    def from_row(
        cls, row: sqlite3.Row, subject_key: Callable[[str], bytes | None] | None = None
    ) -> AuditEntry:
        details = json.loads(row["details"])
        if SEALED in details:
            key = subject_key(row["customer_code"]) if subject_key else None
            details = _unseal(key, row["id"], details[SEALED]) if key else erased()
        return cls(
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            customer_code=row["customer_code"],
            details=details,
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return ngettext(
                "audit chain intact: {count} entry verified",
                "audit chain intact: {count} entries verified",
                self.checked,
            ).format(count=self.checked)
        return _("audit chain broken at entry {entry}: {reason}").format(
            entry=self.broken_id, reason=self.reason
        )


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


def _seal(key: bytes, entry_id: int, text: str) -> str:
    nonce = os.urandom(12)
    blob = nonce + AESGCM(key).encrypt(nonce, text.encode(), f"audit|{entry_id}".encode())
    return json.dumps({SEALED: base64.b64encode(blob).decode()})


def _unseal(key: bytes, entry_id: int, sealed: str) -> dict[str, Any]:
    blob = base64.b64decode(sealed)
    try:
        text = AESGCM(key).decrypt(blob[:12], blob[12:], f"audit|{entry_id}".encode())
    except InvalidTag:
        return {"unreadable": _("sealed details do not open with this customer's key")}
    return json.loads(text)


def subject_key(
    conn: sqlite3.Connection, keys: KeyRing, customer_code: str, *, create: bool = False
) -> bytes | None:
    """The customer's own key for sealing log details; made on first use when `create`."""
    row = conn.execute(
        "SELECT id, wrapped FROM customer_keys WHERE customer_code=?", (customer_code,)
    ).fetchone()
    if row is not None:
        wrapped = keys.decrypt(row["wrapped"], "customer_keys", "wrapped", row["id"])
        return base64.b64decode(wrapped or "")
    if not create:
        return None
    key = os.urandom(32)
    row_id = next_row_id(conn, "customer_keys")
    conn.execute(
        "INSERT INTO customer_keys(id, customer_code, wrapped) VALUES (?, ?, ?)",
        (
            row_id,
            customer_code,
            keys.encrypt(base64.b64encode(key).decode(), "customer_keys", "wrapped", row_id),
        ),
    )
    return key


def forget_subject(conn: sqlite3.Connection, customer_code: str) -> None:
    """Destroy a customer's log key: their sealed details can never be read again."""
    conn.execute("DELETE FROM customer_keys WHERE customer_code=?", (customer_code,))


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
    sealed: bool = False,
) -> int:
    """Add one entry; call inside the write transaction of the change it records.

    With `sealed`, the details are encrypted under the customer's own key (see above).
    """
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last["hash"] if last else GENESIS
    entry_id = (last["id"] + 1) if last else 1
    text = json.dumps(details or {}, ensure_ascii=False, sort_keys=True)
    if sealed and customer_code:
        key = subject_key(conn, keys, customer_code, create=True)
        text = _seal(key or b"", entry_id, text)
    row = {
        "id": entry_id,
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "customer_code": customer_code,
        "details": text,
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
                return VerifyResult(False, checked, expected_id, _("entry is missing"))
            if row["prev_hash"] != prev_hash:
                return VerifyResult(
                    False, checked, row["id"], _("does not follow the entry before")
                )
            if _mac(keys, prev_hash, _fields(row)) != row["hash"]:
                return VerifyResult(False, checked, row["id"], _("contents were altered"))
            prev_hash = row["hash"]
            expected_id += 1
            checked += 1
    finally:
        cursor.close()
    head = conn.execute("SELECT value FROM meta WHERE key=?", (HEAD_KEY,)).fetchone()
    if head is not None and head[0] != f"{expected_id - 1}:{prev_hash}":
        recorded = head[0].split(":", 1)[0]
        return VerifyResult(
            False,
            checked,
            expected_id,
            _("entries after it up to {last} removed").format(last=recorded),
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
    conn: sqlite3.Connection,
    keys: KeyRing,
    flt: AuditFilter,
    *,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first, a page at a time (keyset on id), so a million entries stay fast.

    Free text is matched in SQL on open details and, after unsealing, in Python on sealed
    ones, reading on in batches until the page is full.
    """
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
        where.append(
            "(details LIKE '%' || ? || '%' OR actor LIKE '%' || ? || '%'"
            f" OR details LIKE '{{\"{SEALED}\"%')"
        )
        params += [flt.text, flt.text]
    sql = f"SELECT * FROM audit_log WHERE {' AND '.join(where)} AND id < ? ORDER BY id DESC LIMIT ?"
    keys_seen: dict[str, bytes | None] = {}

    def key_for(code: str) -> bytes | None:
        if code not in keys_seen:
            keys_seen[code] = subject_key(conn, keys, code)
        return keys_seen[code]

    found: list[AuditEntry] = []
    cursor_id = before_id if before_id is not None else 2**62
    while len(found) < limit:
        rows = conn.execute(sql, [*params, cursor_id, max(limit, 200)]).fetchall()
        for row in rows:
            entry = AuditEntry.from_row(row, key_for)
            if not flt.text or _matches(entry, flt.text):
                found.append(entry)
                if len(found) == limit:
                    break
        if len(rows) < max(limit, 200):
            break
        cursor_id = rows[-1]["id"]
    return found


def _matches(entry: AuditEntry, text: str) -> bool:
    needle = text.casefold()
    haystack = json.dumps(entry.details, ensure_ascii=False) + " " + entry.actor
    return needle in haystack.casefold()
