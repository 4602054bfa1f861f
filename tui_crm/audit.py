"""The append-only, hash-chained audit log.

Each entry's MAC covers its own fields and the previous entry's MAC, under a key derived
from the master key: an entry edited, removed or reordered with plain sqlite3 breaks the
chain at that entry. Removing entries from the end is caught by the head in `meta`, which
carries the count, last id and last hash under a MAC of its own; a missing head is a
failure. What no check inside one file can catch is the whole file (or the log and its
head together) put back to an older state, so `verify` also takes anchors recorded
elsewhere: the heads in backup manifests, and a short line an admin prints with
`head_line` and keeps apart (mail, a ticket, a log server).

Details about one customer (names, notes, before/after values) are sealed under a random
key of that customer's own. A retention purge deletes that key, which erases the personal
data from every old entry at once while the chain, which covers the sealed bytes, still
verifies: the log stays append-only and the customer is forgotten (crypto-shredding). Each
wrapped key is bound to its customer code, and the purge entry names the key it destroyed,
so `verify` reports a key deleted without a purge, or swapped between customers.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .crypto import DecryptionError, KeyRing, random_nonce
from .db import AUDIT_GENESIS, AUDIT_HEAD_KEY, next_row_id, set_meta
from .i18n import N_, _, ngettext, pgettext

SEALED = "sealed"
# What an entry's details read as when they cannot be opened (English messages, shown
# translated by `query`).
ERASED = {"erased": N_("personal data removed by a retention purge")}
KEY_MISSING = {"unreadable": N_("this customer's log key is missing, though no purge removed it")}
KEY_ALTERED = {
    "unreadable": N_("this customer's log key was altered or belongs to another customer")
}

GENESIS = AUDIT_GENESIS
HEAD_KEY = AUDIT_HEAD_KEY
HEAD_LINE_TAG = "tui-crm-audit-head"
PURGE_ACTION = "customer.purge"
DESTROYED_KEY = "destroyed_key"
RESTORE_ACTION = "backup.restore"
SUPERSEDED = "superseded"

DetailsKey = Callable[[str], "bytes | dict[str, str]"]


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
    def from_row(cls, row: sqlite3.Row, details_key: DetailsKey | None = None) -> AuditEntry:
        """An entry with sealed details opened by `details_key` (see `details_key`), or the
        reason they cannot be."""
        details = json.loads(row["details"])
        if SEALED in details:
            key = details_key(row["customer_code"]) if details_key else dict(ERASED)
            if isinstance(key, bytes):
                details = _unseal(key, row["id"], details[SEALED])
            else:
                details = {name: _(text) for name, text in key.items()}
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
    anchors: int = 0
    note: str = ""  # what could not be checked (e.g. unreadable backup manifests)

    def describe(self) -> str:
        if self.ok:
            intact = ngettext(
                "audit chain intact: {count} entry verified",
                "audit chain intact: {count} entries verified",
                self.checked,
            ).format(count=self.checked)
            if self.anchors:
                matched = ngettext(
                    "{intact}; {count} recorded head matched",
                    "{intact}; {count} recorded heads matched",
                    self.anchors,
                )
                intact = matched.format(intact=intact, count=self.anchors)
            return self._noted(intact)
        broken = _("audit chain broken at entry {entry}: {reason}")
        return self._noted(broken.format(entry=self.broken_id, reason=self.reason))

    def _noted(self, text: str) -> str:
        return (
            _("{result} (note: {note})").format(result=text, note=self.note) if self.note else text
        )


_MAC_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
_DETAILS = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Anchor:
    """What the log looked like once, recorded outside it: entry `entry_id` had `hash`.

    `backup_id` names the backup whose manifest recorded it, so a restore that abandoned
    that backup's branch of history (it lists it as superseded) excuses it.
    """

    entry_id: int
    hash: str
    label: str
    backup_id: str | None = None


def parse_head(text: str, label: str, backup_id: str | None = None) -> Anchor | None:
    """An anchor from a stored head (signed `h2:count:id:hash:mac` or the older `id:hash`),
    as copied into a backup manifest (the manifest's own MAC vouches for it)."""
    parts = text.split(":")
    if len(parts) == 5 and parts[2].isdigit():
        return Anchor(int(parts[2]), parts[3], label, backup_id)
    if len(parts) == 2 and parts[0].isdigit():
        return Anchor(int(parts[0]), parts[1], label, backup_id)
    return None


def head_line(conn: sqlite3.Connection, keys: KeyRing) -> str:
    """A one-line record of the log's authenticated head, to print, mail or log elsewhere;
    `verify(..., against=line)` later proves that nothing up to it changed."""
    stored = conn.execute("SELECT value FROM meta WHERE key=?", (HEAD_KEY,)).fetchone()
    head = keys.open_audit_head(stored[0]) if stored else None
    if head is None:
        raise ValueError("the audit head is missing or not authentic; run `audit verify`")
    _count, last_id, last_hash = head
    row = conn.execute("SELECT at FROM audit_log WHERE id=?", (last_id,)).fetchone()
    return f"{HEAD_LINE_TAG} {last_id} {row[0] if row else '-'} {last_hash}"


def parse_head_line(line: str) -> Anchor:
    """The anchor in a line from `head_line`; ValueError if it is not one."""
    words = line.split()
    if (
        len(words) != 4
        or words[0] != HEAD_LINE_TAG
        or not words[1].isdigit()
        or len(words[3]) != len(GENESIS)
        or any(c not in "0123456789abcdef" for c in words[3])
    ):
        raise ValueError(f"not an audit head line (expected: {HEAD_LINE_TAG} ID DATE HASH)")
    return Anchor(
        int(words[1]), words[3], _("the head line of entry {entry}").format(entry=words[1])
    )


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


_SEALED_PREFIX = '{"' + SEALED + '"'


def _seal(key: bytes, entry_id: int, text: str) -> str:
    nonce = random_nonce(12)
    blob = nonce + AESGCM(key).encrypt(nonce, text.encode(), f"audit|{entry_id}".encode())
    return f'{{"{SEALED}": "{base64.b64encode(blob).decode()}"}}'


def _unseal(key: bytes, entry_id: int, sealed: str) -> dict[str, Any]:
    blob = base64.b64decode(sealed)
    try:
        text = AESGCM(key).decrypt(blob[:12], blob[12:], f"audit|{entry_id}".encode())
    except InvalidTag:
        return {"unreadable": _("sealed details do not open with this customer's key")}
    return json.loads(text)


def _unwrap(keys: KeyRing, row_id: int, customer_code: str, wrapped: bytes) -> bytes:
    """A customer's log key; DecryptionError unless this row was written for this code."""
    text = keys.decrypt(wrapped, "customer_keys", "wrapped", row_id, bound_to=customer_code)
    return base64.b64decode(text or "")


def subject_key(
    conn: sqlite3.Connection, keys: KeyRing, customer_code: str, *, create: bool = False
) -> bytes | None:
    """The customer's own key for sealing log details; made on first use when `create`.

    Raises DecryptionError if the stored key was altered or moved from another customer.
    """
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
            code = row["customer_code"]
            found[code] = _unwrap(keys, row["id"], code, row["wrapped"])
    missing = [code for code in wanted if code not in found] if create else []
    if missing:
        first_id = next_row_id(conn, "customer_keys")
        rows = []
        for row_id, code in enumerate(missing, start=first_id):
            key = os.urandom(32)
            wrapped = keys.encrypt(
                base64.b64encode(key).decode(), "customer_keys", "wrapped", row_id, bound_to=code
            )
            rows.append((row_id, code, wrapped))
            found[code] = key
        conn.executemany(
            "INSERT INTO customer_keys(id, customer_code, wrapped) VALUES (?, ?, ?)", rows
        )
    return found


def details_key(
    conn: sqlite3.Connection, keys: KeyRing, customer_code: str
) -> bytes | dict[str, str]:
    """The key that opens a customer's sealed details, or what to show instead: erased by a
    purge, missing without one, or altered (never the one mistaken for the other)."""
    try:
        key = subject_key(conn, keys, customer_code)
    except DecryptionError:
        return KEY_ALTERED
    if key is not None:
        return key
    purged = conn.execute(
        "SELECT 1 FROM audit_log WHERE customer_code=? AND action=? LIMIT 1",
        (customer_code, PURGE_ACTION),
    ).fetchone()
    return ERASED if purged else KEY_MISSING


def forget_subject(conn: sqlite3.Connection, customer_code: str) -> list[tuple[int, str]]:
    """Destroy a customer's log key: their sealed details can never be read again.

    The keys of customers merged into this one (`shred_with`, set by merge.py) go too, so
    purging a survivor also forgets what the log says about the records it absorbed.
    Returns (key row id, customer code) of every key destroyed, the customer's own first,
    for the purge's audit entries to name under `DESTROYED_KEY`, in the same transaction.
    """
    rows = conn.execute(
        "DELETE FROM customer_keys WHERE customer_code=? OR shred_with=?"
        " RETURNING id, customer_code",
        (customer_code, customer_code),
    ).fetchall()
    return sorted(((int(r[0]), r[1]) for r in rows), key=lambda r: r[1] != customer_code)


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
    end = chain_end(conn)
    subject = subject_keys(
        conn, keys, (e.customer_code for e in entries if e.sealed and e.customer_code), create=True
    )
    rows, end = chain_rows(keys, entries, subject, end, at=at, actor=actor)
    conn.executemany(INSERT_ENTRY, rows)
    write_head(conn, keys, end)
    return [row[0] for row in rows]


INSERT_ENTRY = (
    "INSERT INTO audit_log(id, at, actor, action, entity, entity_id, customer_code, details,"
    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_SUBJECT_KEY = "INSERT INTO customer_keys(id, customer_code, wrapped) VALUES (?, ?, ?)"


def chain_end(conn: sqlite3.Connection) -> tuple[int, str]:
    """(id, hash) of the log's last entry, (0, GENESIS) for an empty log."""
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (last[0], last[1]) if last else (0, GENESIS)


def write_head(conn: sqlite3.Connection, keys: KeyRing, end: tuple[int, str]) -> None:
    set_meta(conn, HEAD_KEY, keys.sign_audit_head(end[0], end[0], end[1]))


def new_subject_keys(
    keys: KeyRing, customer_codes: Sequence[str], first_row_id: int
) -> tuple[dict[str, bytes], list[tuple[int, str, bytes | None]]]:
    """Log keys for customers that have none yet (codes just handed out), and their
    `customer_keys` rows from `first_row_id` on: what `subject_keys(create=True)` makes for
    them, without its lookup, for a bulk writer that runs its statements elsewhere."""
    found: dict[str, bytes] = {}
    rows = []
    material = os.urandom(32 * len(customer_codes))
    for offset, code in enumerate(customer_codes):
        key = material[32 * offset : 32 * offset + 32]
        row_id = first_row_id + offset
        wrapped = keys.encrypt(
            base64.b64encode(key).decode(), "customer_keys", "wrapped", row_id, bound_to=code
        )
        rows.append((row_id, code, wrapped))
        found[code] = key
    return found, rows


def chain_rows(
    keys: KeyRing,
    entries: Sequence[Entry],
    subject: Mapping[str, bytes],
    end: tuple[int, str],
    *,
    at: str,
    actor: str,
) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
    """The `INSERT_ENTRY` rows of entries following `end`, and the new end. Pure: the
    customers' keys for sealed entries are in `subject`."""
    texts = details_texts(entries, subject, end[0] + 1)
    return chain_texts(keys, entries, texts, end, at=at, actor=actor)


def details_texts(
    entries: Sequence[Entry], subject: Mapping[str, bytes], first_entry_id: int
) -> list[str]:
    """Each entry's details as stored, the sealed ones encrypted under their customer's key
    and bound to the id the entry will have: the costly half of `chain_rows`, which needs
    no chain and can be made elsewhere (another process) once the ids are reserved."""
    texts = []
    encode = _DETAILS.encode
    for entry_id, entry in enumerate(entries, start=first_entry_id):
        text = encode(entry.details or {})
        if entry.sealed and entry.customer_code:
            text = _seal(subject[entry.customer_code], entry_id, text)
        texts.append(text)
    return texts


def chain_texts(
    keys: KeyRing,
    entries: Sequence[Entry],
    texts: Sequence[str],
    end: tuple[int, str],
    *,
    at: str,
    actor: str,
) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
    """`chain_rows` of entries whose details are stored as `texts` (`details_texts` made for
    the ids following `end`): each entry's MAC over the one before it."""
    entry_id, prev_hash = end
    rows = []
    for entry, text in zip(entries, texts, strict=True):
        entry_id += 1
        fields = (
            entry_id,
            at,
            actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.customer_code,
            text,
        )
        entry_hash = _mac(keys, prev_hash, fields)
        rows.append((*fields, prev_hash, entry_hash))
        prev_hash = entry_hash
    return rows, (entry_id, prev_hash)


def verify(
    conn: sqlite3.Connection,
    keys: KeyRing,
    *,
    anchors: Sequence[Anchor] = (),
    against: str | None = None,
    legacy: bool = False,
) -> VerifyResult:
    """Walk the whole chain and name the first entry that does not follow from the one before;
    then check the authenticated head, every anchor (`anchors`, e.g. from backup manifests,
    and the `against` head line) and the customers' log keys.

    An anchor past the end of the log, or whose entry has another hash, means the log was
    cut short or rewritten, unless a restore recorded in the log abandoned that backup's
    branch. `legacy_head` accepts the unsigned `id:hash` head of databases from before heads
    were signed (only for checking old backups, whose signed manifest vouches for the head).
    """
    pending: dict[int, list[Anchor]] = {}
    for anchor in [*anchors, *([parse_head_line(against)] if against is not None else [])]:
        pending.setdefault(anchor.entry_id, []).append(anchor)
    superseded: set[str] = set()
    restores: list[str] = []
    prev_hash = GENESIS
    expected_id = 1
    checked = matched = 0
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
            if row["action"] == RESTORE_ACTION:
                details = json.loads(row["details"])
                superseded.update(details.get(SUPERSEDED, []))
                restores.append(
                    _("entry {entry} restored backup {backup}").format(
                        entry=row["id"], backup=details.get("backup")
                    )
                )
            for anchor in pending.pop(row["id"], []):
                if anchor.backup_id in superseded:
                    continue
                if anchor.hash != row["hash"]:
                    return VerifyResult(
                        False,
                        checked,
                        row["id"],
                        _("differs from {anchor}: the log was rewritten").format(
                            anchor=anchor.label
                        )
                        + _restore_hint(restores),
                    )
                matched += 1
            prev_hash = row["hash"]
            expected_id += 1
            checked += 1
    finally:
        cursor.close()
    head_problem = _head_problem(conn, keys, checked, prev_hash, legacy)
    if head_problem:
        return VerifyResult(False, checked, expected_id, head_problem)
    for entry_id in sorted(pending):
        for anchor in pending[entry_id]:
            if anchor.backup_id in superseded:
                continue
            if entry_id == 0 and anchor.hash == GENESIS:
                matched += 1
                continue
            return VerifyResult(
                False,
                checked,
                expected_id,
                _(
                    "the log ends at entry {last}, but {anchor} recorded entry {entry}:"
                    " entries were removed"
                ).format(last=checked, anchor=anchor.label, entry=entry_id)
                + _restore_hint(restores),
            )
    key_problem = _key_problem(conn, keys, legacy)
    if key_problem:
        return VerifyResult(False, checked, key_problem[0], key_problem[1])
    return VerifyResult(True, checked, anchors=matched)


def _restore_hint(restores: list[str]) -> str:
    if not restores:
        return ""
    return _(" (note: {restores})").format(restores=pgettext("separator", "; ").join(restores))


def _head_problem(
    conn: sqlite3.Connection, keys: KeyRing, count: int, last_hash: str, legacy: bool
) -> str:
    """Why the stored head does not vouch for a log of `count` entries ending in `last_hash`."""
    stored = conn.execute("SELECT value FROM meta WHERE key=?", (HEAD_KEY,)).fetchone()
    if stored is None:
        return _("the audit head is missing: entries (or all of them) may have been removed")
    head = keys.open_audit_head(stored[0])
    if head is None and legacy:
        legacy = parse_head(stored[0], "the head")
        head = (legacy.entry_id, legacy.entry_id, legacy.hash) if legacy else None
    if head is None:
        return _("the audit head was altered or forged (its MAC does not match)")
    recorded_count, recorded_id, recorded_hash = head
    if recorded_count > count:
        return _("entries after it up to {last} were removed").format(last=recorded_id)
    if (recorded_count, recorded_id, recorded_hash) != (count, count, last_hash):
        return _("the audit head does not match the log")
    return ""


def _key_problem(
    conn: sqlite3.Connection, keys: KeyRing, legacy: bool
) -> tuple[int | None, str] | None:
    """(entry, reason) for the first customer whose log key is missing without a purge, was
    swapped or altered, or came back after the purge that destroyed it."""
    missing = conn.execute(
        "SELECT customer_code, MIN(id) FROM audit_log"
        " WHERE customer_code <> '' AND details LIKE ? || '%'"
        " AND customer_code NOT IN (SELECT customer_code FROM customer_keys)"
        " AND customer_code NOT IN (SELECT customer_code FROM audit_log WHERE action = ?)"
        " GROUP BY customer_code ORDER BY MIN(id) LIMIT 1",
        (_SEALED_PREFIX, PURGE_ACTION),
    ).fetchone()
    if missing is not None:
        code = missing[0]
        return missing[1], _(
            "the log key of customer {code} is missing, yet no purge removed it"
        ).format(code=code)
    cursor = conn.execute(
        "SELECT k.id, k.customer_code, k.wrapped,"
        " (SELECT MIN(a.id) FROM audit_log a WHERE a.customer_code = k.customer_code) AS first,"
        " (SELECT MIN(a.id) FROM audit_log a WHERE a.customer_code = k.customer_code"
        "  AND a.action = ?) AS purged"
        " FROM customer_keys k ORDER BY k.id",
        (PURGE_ACTION,),
    )
    try:
        for key_row in cursor:
            code = key_row["customer_code"]
            if key_row["purged"] is not None:
                return key_row["purged"], _(
                    "the log key of customer {code} is present again after the purge that"
                    " destroyed it"
                ).format(code=code)
            try:
                _unwrap(keys, key_row["id"], "" if legacy else code, key_row["wrapped"])
            except DecryptionError:
                return key_row["first"], _(
                    "the log key of customer {code} was altered or swapped with another customer's"
                ).format(code=code)
    finally:
        cursor.close()
    return None


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
    keys_seen: dict[str, bytes | dict[str, str]] = {}

    def key_for(code: str) -> bytes | dict[str, str]:
        if code not in keys_seen:
            keys_seen[code] = details_key(conn, keys, code)
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
