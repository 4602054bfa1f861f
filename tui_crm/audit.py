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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .crypto import KeyRing
from .db import next_row_id, set_meta

SEALED = "sealed"
ERASED = {"erased": "personal data removed by a retention purge"}

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
    def from_row(
        cls, row: sqlite3.Row, subject_key: Callable[[str], bytes | None] | None = None
    ) -> AuditEntry:
        details = json.loads(row["details"])
        if SEALED in details:
            key = subject_key(row["customer_code"]) if subject_key else None
            details = _unseal(key, row["id"], details[SEALED]) if key else dict(ERASED)
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
            return f"audit chain intact: {self.checked} entries verified"
        return f"audit chain broken at entry {self.broken_id}: {self.reason}"


_MAC_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
_DETAILS = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _mac(keys: KeyRing, prev_hash: str, fields: tuple[Any, ...]) -> str:
    payload = _MAC_PAYLOAD.encode(fields)
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
    return f'{{"{SEALED}": "{base64.b64encode(blob).decode()}"}}'


def _unseal(key: bytes, entry_id: int, sealed: str) -> dict[str, Any]:
    blob = base64.b64decode(sealed)
    try:
        text = AESGCM(key).decrypt(blob[:12], blob[12:], f"audit|{entry_id}".encode())
    except InvalidTag:
        return {"unreadable": "sealed details do not open with this customer's key"}
    return json.loads(text)


def subject_key(
    conn: sqlite3.Connection, keys: KeyRing, customer_code: str, *, create: bool = False
) -> bytes | None:
    """The customer's own key for sealing log details; made on first use when `create`."""
    return subject_keys(conn, keys, [customer_code], create=create).get(customer_code)


def subject_keys(
    conn: sqlite3.Connection, keys: KeyRing, customer_codes: Iterable[str], *, create: bool = False
) -> dict[str, bytes]:
    """Several customers' keys in one query per 500 codes; the missing ones made if `create`."""
    wanted = list(dict.fromkeys(customer_codes))
    found: dict[str, bytes] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in conn.execute(
            "SELECT id, customer_code, wrapped FROM customer_keys"
            f" WHERE customer_code IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            wrapped = keys.decrypt(row["wrapped"], "customer_keys", "wrapped", row["id"])
            found[row["customer_code"]] = base64.b64decode(wrapped or "")
    missing = [code for code in wanted if code not in found] if create else []
    if missing:
        first_id = next_row_id(conn, "customer_keys")
        rows = []
        for row_id, code in enumerate(missing, start=first_id):
            key = os.urandom(32)
            wrapped = base64.b64encode(key).decode()
            rows.append((row_id, code, keys.encrypt(wrapped, "customer_keys", "wrapped", row_id)))
            found[code] = key
        conn.executemany(
            "INSERT INTO customer_keys(id, customer_code, wrapped) VALUES (?, ?, ?)", rows
        )
    return found


def forget_subject(conn: sqlite3.Connection, customer_code: str) -> None:
    """Destroy a customer's log key: their sealed details can never be read again."""
    conn.execute("DELETE FROM customer_keys WHERE customer_code=?", (customer_code,))


@dataclass(frozen=True)
class Entry:
    """One entry for `append_many`; `sealed` details are encrypted under the customer's key."""

    action: str
    entity: str = ""
    entity_id: int | None = None
    customer_code: str = ""
    details: dict[str, Any] | None = None
    sealed: bool = False


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
    entry = Entry(action, entity, entity_id, customer_code, details, sealed)
    return append_many(conn, keys, [entry], at=at, actor=actor)[0]


def append_many(
    conn: sqlite3.Connection, keys: KeyRing, entries: Sequence[Entry], *, at: str, actor: str
) -> list[int]:
    """Add entries in order, chained exactly as one `append` after another would chain them.

    The chain's end is read once, the customers' keys are fetched (or made) in one go and
    the head is written once, so a bulk write (an import, the demo) logs every customer it
    touches without a handful of queries per entry. Call inside the write transaction.
    """
    if not entries:
        return []
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last["hash"] if last else GENESIS
    entry_id = last["id"] if last else 0
    subject = subject_keys(
        conn, keys, (e.customer_code for e in entries if e.sealed and e.customer_code), create=True
    )
    rows = []
    for entry in entries:
        entry_id += 1
        text = _DETAILS.encode(entry.details or {})
        if entry.sealed and entry.customer_code:
            text = _seal(subject[entry.customer_code], entry_id, text)
        row = {
            "id": entry_id,
            "at": at,
            "actor": actor,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "customer_code": entry.customer_code,
            "details": text,
        }
        row["prev_hash"] = prev_hash
        prev_hash = row["hash"] = _mac(keys, prev_hash, _fields(row))
        rows.append(row)
    conn.executemany(
        "INSERT INTO audit_log(id, at, actor, action, entity, entity_id, customer_code, details,"
        " prev_hash, hash) VALUES (:id, :at, :actor, :action, :entity, :entity_id,"
        " :customer_code, :details, :prev_hash, :hash)",
        rows,
    )
    set_meta(conn, HEAD_KEY, f"{entry_id}:{prev_hash}")
    return [row["id"] for row in rows]


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
