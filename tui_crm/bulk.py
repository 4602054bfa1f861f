"""Write many customers per transaction: the path imports and the demo builder share.

One call inserts (or updates) a whole batch with the same guarantees as a single save:
contact values encrypted and bound to their row id, blind indexes for exact lookup, the
search document, each customer's own audit key and one sealed audit entry per customer,
all in the caller's write transaction. The cost per customer is what the row itself costs:
ids and codes are reserved once per batch, statements run with `executemany`, and the
audit chain is extended with `audit.append_many` (one read of its end, one head write).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import gc
import json
import os
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import audit
from .crypto import MASKERS, SENSITIVE_FIELDS, KeyRing, customer_columns
from .db import Database, next_row_id, recount_customer_figures, reserve_customer_codes
from .search_text import search_document
from .validation import now, phone_last4

BASE_FIELDS = (
    "name",
    "kind",
    "customer_type",
    "contact_name",
    "contact_title",
    "credit_code",
    "province",
    "city",
    "industry",
    "company_size",
    "source",
    "notes",
)
CUSTOMER_FIELDS = BASE_FIELDS + SENSITIVE_FIELDS
"""Every field a customer record holds that an operator or a file can set."""
CUSTOMER_FIELDS_SORTED = tuple(sorted(CUSTOMER_FIELDS))

_INSERT_COLUMNS = (
    "id, code, name, kind, customer_type, contact_name, contact_title, credit_code, province,"
    " city, industry, company_size, source, notes, phone_enc, phone_bidx, phone_last4,"
    " email_enc, email_bidx, id_number_enc, id_number_bidx, address_enc, extra_contacts_enc,"
    " owner_id, created_at, updated_at, last_interaction_at, next_followup_at, legal_hold,"
    " import_run_id, version"
)
INSERT_CUSTOMER = (
    f"INSERT INTO customers({_INSERT_COLUMNS})"
    f" VALUES ({', '.join('?' * len(_INSERT_COLUMNS.split(',')))})"
)
INSERT_SEARCH = "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)"


class BulkConflict(Exception):
    """A customer changed between reading it and writing the batch (its version moved)."""


@dataclass
class NewCustomer:
    """A validated customer to insert; `values` holds `CUSTOMER_FIELDS` (missing = empty).

    `extra_contacts` are further (label, value) pairs such as ("Phone 2", "+44...") kept
    encrypted; `audit_details` is added to the customer's create entry (e.g. run and line);
    `blind_indexes`, when the caller has them already, are those of phone, email and ID number;
    `search_text`, likewise, is `search_document` of its values less the code (`search_text_of`).
    """

    values: Mapping[str, Any]
    owner_id: int | None = None
    created_at: str | None = None
    last_interaction_at: str | None = None
    next_followup_at: str | None = None
    updated_at: str | None = None
    legal_hold: bool = False
    import_run_id: int | None = None
    extra_contacts: Sequence[tuple[str, str]] = ()
    audit_details: Mapping[str, Any] = field(default_factory=dict)
    blind_indexes: Mapping[str, bytes | None] | None = None
    search_text: str | None = None


@dataclass
class CustomerUpdate:
    """New values for some fields of a customer last read at `version`.

    `before` holds the current values of at least the fields in `changes` (plaintext, as
    read and decrypted inside the same transaction); only fields whose value differs are
    written. `extra_contacts`, when not None, replaces the stored list.
    """

    customer_id: int
    code: str
    version: int
    before: Mapping[str, Any]
    changes: Mapping[str, Any]
    extra_contacts: Sequence[tuple[str, str]] | None = None
    audit_details: Mapping[str, Any] = field(default_factory=dict)


FIGURE_TRIGGERS = ("interactions_order_insert", "followups_interest_insert")


@contextmanager
def deferred_indexes(db: Database) -> Iterator[None]:
    """Build a NEW database's secondary indexes, change-log triggers and order figures once,
    at the end.

    Filling a million rows into a dozen indexes row by row costs more than the rows
    themselves; sorting each index once afterwards does not. Likewise the insert triggers
    that keep order figures and first interest rewrite (and re-tier) a customer's row for
    every order and interested follow-up, a tenth of the demo writer's work; every
    customer is recounted once instead. The append-only audit triggers stay on throughout.
    Only for a database nobody else uses yet (the demo builder): until this returns,
    lookups have no index.
    """
    figures = ",".join("?" * len(FIGURE_TRIGGERS))
    with db.write() as tx:
        saved = tx.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " AND (type = 'index' OR (type = 'trigger' AND (name LIKE 'change\\_%' ESCAPE '\\'"
            f" OR name IN ({figures}))))"
            " AND tbl_name NOT IN ('meta', 'users', 'tags') ORDER BY type, name",
            FIGURE_TRIGGERS,
        ).fetchall()
        for kind, name, _ in saved:
            tx.execute(f"DROP {kind.upper()} {name}")
    complete = False
    try:
        yield
        complete = True
    finally:
        with db.write() as tx:
            for _, _, sql in saved:
                tx.execute(sql)
            if complete:
                recount_customer_figures(tx)


@contextmanager
def young_collections_only() -> Iterator[Callable[[], None]]:
    """The cycle collector paused, but for young objects when the caller says (per batch).

    A batch (of an import, of the demo) keeps ~100k objects alive until it is written, so
    left to itself the collector walks the whole heap again and again (pypinyin's
    dictionaries alone are millions of objects): a fifth of an import's time, a third of
    the demo's. Young garbage (a rejected row's exception) is
    still collected each batch, and everything else once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(1)
    finally:
        if enabled:
            gc.enable()


def end_with(parent_pid: int) -> None:
    """A worker process's initializer: end this worker as soon as the process it works for
    is gone. Killed (kill -9, a lost SSH session) that process cannot stop its pool, and
    the worker would go on with its queue, keeping a forkserver, a resource tracker and
    ~150 MB alive for good."""

    def watch() -> None:
        try:
            handle = os.pidfd_open(parent_pid)
        except OSError:  # gone already, or a kernel without pidfd: ask every second
            while alive(parent_pid):
                time.sleep(1)
        else:
            select.select([handle], [], [])  # readable once the process has ended
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def alive(pid: int) -> bool:
    """Whether a process of that id runs (perhaps another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def search_text_of(values: Mapping[str, Any]) -> str:
    """A new customer's search document but for its code, which it gets when written: the
    costly (pinyin) part, made where the row is validated (a worker process for big files).
    `search_document` puts the code first and on its own, so the two join with a space."""
    return search_document("", values["name"], values.get("contact_name", ""), values.get("kind"))


def audit_view(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values as the audit log may hold them: sensitive ones masked, empty ones left out."""
    return {
        k: (MASKERS[k](val) if k in MASKERS else val)
        for k, val in values.items()
        if val not in ("", None)
    }


def audit_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for every changed field, masked; a sensitive value that changed
    but masks the same is marked "(changed)" so the entry never hides the change."""
    old, new = audit_view(before), audit_view(after)
    fields = {
        key: [old.get(key), new.get(key)]
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    }
    for name in SENSITIVE_FIELDS:
        if name not in fields and (before.get(name) or "") != (after.get(name) or ""):
            fields[name] = [old.get(name), f"{new.get(name, '')} (changed)"]
    return fields


def encrypt_extra_contacts(
    keys: KeyRing, row_id: int, contacts: Sequence[tuple[str, str]]
) -> bytes | None:
    text = json.dumps([list(pair) for pair in contacts], ensure_ascii=False) if contacts else None
    return keys.encrypt(text, "customers", "extra_contacts_enc", row_id)


def decrypt_extra_contacts(keys: KeyRing, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    text = keys.decrypt(row["extra_contacts_enc"], "customers", "extra_contacts_enc", row["id"])
    return [(label, value) for label, value in json.loads(text)] if text else []


def plain_values(keys: KeyRing, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored customer's fields in clear (for comparing and undoing inside a transaction)."""
    values = {name: row[name] for name in BASE_FIELDS}
    values["credit_code"] = values["credit_code"] or ""
    for name in SENSITIVE_FIELDS:
        column = f"{name}_enc"
        values[name] = keys.decrypt(row[column], "customers", column, row["id"]) or ""
    return values


def insert_customers(
    conn: sqlite3.Connection,
    keys: KeyRing,
    customers: Sequence[NewCustomer],
    *,
    actor: str,
    at: str | None = None,
    year: int | None = None,
    writer: Executor | None = None,
) -> list[tuple[int, str]]:
    """Insert validated customers with consecutive new ids and codes; returns (id, code) each.

    Call inside a write transaction (ids are reserved from the table's end). With `writer`
    (one thread), each chunk's statements run there while this thread encrypts and seals
    the next chunk: SQLite lets go of the GIL while it writes, so the two share the cores.
    """
    if not customers:
        return []
    at = at or now()
    ids = reserve_ids(conn, len(customers), year or dt.date.today().year)
    codes = customer_codes(ids, 0, len(customers))
    end = audit.chain_end(conn)
    with _change_log_per_batch(conn, ids, len(customers)), _Statements(conn, writer) as run:
        for start in range(0, len(customers), CHUNK):
            chunk = customers[start : start + CHUNK]
            prepared = prepare_customers(keys, chunk, ids, start, at)
            end = _write_prepared(keys, prepared, end, at, actor, run)
    audit.write_head(conn, keys, end)
    return [(ids.first_id + offset, code) for offset, code in enumerate(codes)]


@dataclass(frozen=True)
class ReservedIds:
    """Where a bulk insert's customers start: row ids, `customer_keys` ids, the audit entry
    id of the first one's create entry, and the code sequence number before the first."""

    first_id: int
    first_key_id: int
    first_entry_id: int
    year: int
    code_seq: int


def reserve_ids(conn: sqlite3.Connection, count: int, year: int) -> ReservedIds:
    """Reserve `count` customer codes and read where the next rows go. Inside the write
    transaction that inserts them (the rest are reserved by inserting in that order)."""
    return ReservedIds(
        first_id=next_row_id(conn, "customers"),
        first_key_id=next_row_id(conn, "customer_keys"),
        first_entry_id=audit.chain_end(conn)[0] + 1,
        year=year,
        code_seq=reserve_customer_codes(conn, year, count),
    )


def customer_codes(ids: ReservedIds, start: int, count: int) -> list[str]:
    """The codes of the customers `start` to `start + count` of a reservation."""
    first = ids.code_seq + start + 1
    return [f"C{ids.year}{n:06d}" for n in range(first, first + count)]


@dataclass
class PreparedCustomers:
    """Customers encrypted, indexed and sealed for the ids they were prepared at: rows for
    `customers`, the search index and `customer_keys`, and their audit entries with the
    stored details (the chain is added when written). Picklable, so a worker process can
    make it while the writer writes an earlier batch."""

    first_id: int
    first_entry_id: int
    rows: list[tuple[Any, ...]]
    docs: list[tuple[int, str]]
    key_rows: list[tuple[int, str, bytes | None]]
    entries: list[audit.Entry]
    texts: list[str]


def prepare_customers(
    keys: KeyRing, customers: Sequence[NewCustomer], ids: ReservedIds, start: int, at: str
) -> PreparedCustomers:
    """The customers `start` to `start + len(customers)` of the reservation `ids`, ready to
    write. Pure: no database, so it runs anywhere the key ring is."""
    codes = customer_codes(ids, start, len(customers))
    rows, docs, entries = _insert_rows(keys, customers, ids.first_id + start, codes, at)
    subject, key_rows = audit.new_subject_keys(keys, codes, ids.first_key_id + start)
    first_entry_id = ids.first_entry_id + start
    texts = audit.details_texts(entries, subject, first_entry_id)
    entries = [dataclasses.replace(entry, details=None) for entry in entries]
    return PreparedCustomers(
        ids.first_id + start, first_entry_id, rows, docs, key_rows, entries, texts
    )


def write_prepared(
    conn: sqlite3.Connection,
    keys: KeyRing,
    batches: Iterable[PreparedCustomers],
    *,
    actor: str,
    at: str,
    writer: Executor | None = None,
) -> None:
    """Write prepared batches in order, in the caller's write transaction, each exactly at
    the ids it was prepared for (anything else is refused before a row is written)."""
    end = audit.chain_end(conn)
    next_id, next_key_id = next_row_id(conn, "customers"), next_row_id(conn, "customer_keys")
    with _Statements(conn, writer) as run:
        for prepared in batches:
            if (prepared.first_id, prepared.key_rows[0][0]) != (next_id, next_key_id):
                raise BulkConflict(
                    f"customers prepared from id {prepared.first_id}, the next is {next_id}"
                )
            end = _write_prepared(keys, prepared, end, at, actor, run)
            next_id += len(prepared.rows)
            next_key_id += len(prepared.key_rows)
    audit.write_head(conn, keys, end)


def _write_prepared(
    keys: KeyRing,
    prepared: PreparedCustomers,
    end: tuple[int, str],
    at: str,
    actor: str,
    run: _Statements,
) -> tuple[int, str]:
    if prepared.first_entry_id != end[0] + 1:
        raise BulkConflict(
            f"audit entries prepared from id {prepared.first_entry_id}, the log ends at {end[0]}"
        )
    entry_rows, end = audit.chain_texts(
        keys, prepared.entries, prepared.texts, end, at=at, actor=actor
    )
    run(
        (INSERT_CUSTOMER, prepared.rows),
        (INSERT_SEARCH, prepared.docs),
        (audit.INSERT_SUBJECT_KEY, prepared.key_rows),
        (audit.INSERT_ENTRY, entry_rows),
    )
    return end


CHUNK = 1000
CHANGE_LOG_PER_BATCH_FROM = 500


@contextmanager
def _change_log_per_batch(conn: sqlite3.Connection, ids: ReservedIds, count: int) -> Iterator[None]:
    """Insert `count` rows with consecutive ids from `first_ids[table]` into each table with
    its change-log insert trigger off, and log them with one statement per table instead.

    The trigger (see `db._change_triggers`) costs a sub-program run per row, a tenth of a
    bulk insert. It is dropped and created again inside the caller's transaction, so no other
    connection ever sees it missing, and `change_log` gets the same (table, id) rows. A few
    rows (a form's save) keep the trigger: DDL costs more than it saves there.
    """
    first_ids = {"customers": ids.first_id, "customer_keys": ids.first_key_id}
    names = [f"change_{table}_insert" for table in first_ids]
    found = (
        conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='trigger'"
            f" AND name IN ({','.join('?' * len(names))})",
            names,
        ).fetchall()
        if count >= CHANGE_LOG_PER_BATCH_FROM
        else []
    )
    for name, _sql in found:
        conn.execute(f"DROP TRIGGER {name}")
    try:
        yield
    finally:
        for _name, sql in found:
            conn.execute(sql)
    tracking = conn.execute("SELECT value FROM meta WHERE key = 'change_tracking'").fetchone()
    for name, _sql in found:
        table = name.removeprefix("change_").removesuffix("_insert")
        if tracking is not None and tracking[0] == "1":
            conn.execute(
                f"INSERT INTO change_log(tbl, row_id) SELECT ?, id FROM {table}"
                " WHERE id >= ? AND id < ? ORDER BY id",
                (table, first_ids[table], first_ids[table] + count),
            )


class _Statements:
    """Runs chunks of statements in order, on a writer thread when there is one (at most
    one chunk waiting, so memory stays flat) or at once. Leaving waits for the writer, so
    the caller's transaction never ends while a statement of it still runs."""

    def __init__(self, conn: sqlite3.Connection, writer: Executor | None) -> None:
        self.conn = conn
        self.writer = writer
        self.pending: Future[None] | None = None

    def __enter__(self) -> _Statements:
        return self

    def __call__(self, *statements: tuple[str, list[Any]]) -> None:
        if self.writer is None:
            _execute(self.conn, statements)
            return
        self.wait()
        self.pending = self.writer.submit(_execute, self.conn, statements)

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if error is None:
            self.wait()
        elif self.pending is not None:
            concurrent.futures.wait([self.pending])

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()


def _execute(conn: sqlite3.Connection, statements: Sequence[tuple[str, list[Any]]]) -> None:
    for sql, rows in statements:
        if rows:
            conn.executemany(sql, rows)


def _insert_rows(
    keys: KeyRing,
    customers: Sequence[NewCustomer],
    first_id: int,
    codes: Sequence[str],
    at: str,
) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]], list[audit.Entry]]:
    """The customers, search and (unsealed) audit rows of consecutive new customers."""
    rows, docs, entries = [], [], []
    encrypt, blind_index = keys.encrypt, keys.blind_index
    for offset, customer in enumerate(customers):
        row_id, code = first_id + offset, codes[offset]
        v = customer.values
        phone = v.get("phone") or None
        email = v.get("email") or None
        id_number = v.get("id_number") or None
        indexes = customer.blind_indexes
        if indexes is None:
            indexes = {
                "phone": blind_index("phone", phone),
                "email": blind_index("email", email),
                "id_number": blind_index("id_number", id_number),
            }
        created = customer.created_at or at
        rows.append(
            (
                row_id,
                code,
                v["name"],
                v.get("kind") or "company",
                v["customer_type"],
                v.get("contact_name", ""),
                v.get("contact_title", ""),
                v.get("credit_code") or None,
                v.get("province", ""),
                v.get("city", ""),
                v.get("industry", ""),
                v.get("company_size", ""),
                v.get("source", ""),
                v.get("notes", ""),
                encrypt(phone, "customers", "phone_enc", row_id),
                indexes["phone"],
                phone_last4(phone),
                encrypt(email, "customers", "email_enc", row_id),
                indexes["email"],
                encrypt(id_number, "customers", "id_number_enc", row_id),
                indexes["id_number"],
                encrypt(v.get("address") or None, "customers", "address_enc", row_id),
                encrypt_extra_contacts(keys, row_id, customer.extra_contacts),
                customer.owner_id,
                created,
                customer.updated_at or max(created, customer.last_interaction_at or ""),
                customer.last_interaction_at,
                customer.next_followup_at,
                int(customer.legal_hold),
                customer.import_run_id,
                1,
            )
        )
        text = customer.search_text
        docs.append(
            (
                row_id,
                f"{code} {text}"
                if text
                else search_document(code, v["name"], v.get("contact_name", ""), v.get("kind")),
            )
        )
        details: dict[str, Any] = {"fields": _created_fields(v), **customer.audit_details}
        if customer.extra_contacts:
            details["extra_contacts"] = [
                [label, _mask_extra(label, value)] for label, value in customer.extra_contacts
            ]
        entries.append(audit.Entry("customer.create", "customer", row_id, code, details, True))
    return rows, docs, entries


def update_customers(
    conn: sqlite3.Connection,
    keys: KeyRing,
    updates: Sequence[CustomerUpdate],
    *,
    actor: str,
    at: str | None = None,
) -> list[int]:
    """Write each update (changed fields only), bump the version, re-index, audit each.

    Returns each customer's new version (unchanged when nothing differed). Raises
    `BulkConflict` when a customer's version is no longer the one it was read at.
    """
    at = at or now()
    versions: list[int] = []
    entries: list[audit.Entry] = []
    for update in updates:
        changed = {
            name: value
            for name, value in update.changes.items()
            if (value or "") != (update.before.get(name) or "")
        }
        columns: dict[str, Any] = {
            name: (value or None) if name == "credit_code" else value
            for name, value in changed.items()
            if name in BASE_FIELDS
        }
        columns.update(customer_columns(keys, update.customer_id, changed))
        details: dict[str, Any] = {
            "fields": audit_fields(update.before, {**update.before, **changed})
        }
        if update.extra_contacts is not None:
            columns["extra_contacts_enc"] = encrypt_extra_contacts(
                keys, update.customer_id, update.extra_contacts
            )
            details["extra_contacts"] = [
                [label, _mask_extra(label, value)] for label, value in update.extra_contacts
            ]
        if not columns:
            versions.append(update.version)
            continue
        columns.update(updated_at=at, version=update.version + 1)
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        cursor = conn.execute(
            f"UPDATE customers SET {assignments} WHERE id = :id AND version = :expected",
            {**columns, "id": update.customer_id, "expected": update.version},
        )
        if cursor.rowcount != 1:
            raise BulkConflict(f"{update.code} was changed by someone else meanwhile")
        if "name" in changed or "contact_name" in changed:
            after = {**update.before, **changed}
            reindex(
                conn,
                update.customer_id,
                update.code,
                after["name"],
                after["contact_name"],
                after.get("kind"),
            )
        details.update(update.audit_details)
        entries.append(
            audit.Entry(
                "customer.update", "customer", update.customer_id, update.code, details, True
            )
        )
        versions.append(update.version + 1)
    audit.append_many(conn, keys, entries, at=at, actor=actor)
    return versions


def _created_fields(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`audit_fields({}, values)` for a new customer, in the few microseconds a bulk write
    can spend on it."""
    fields = {}
    for name in CUSTOMER_FIELDS_SORTED:
        value = values.get(name)
        if value not in ("", None):
            fields[name] = [None, MASKERS[name](value) if name in MASKERS else value]
    return fields


def reindex(
    conn: sqlite3.Connection, row_id: int, code: str, name: str, contact: str, kind: str | None
) -> None:
    conn.execute("DELETE FROM customer_search WHERE rowid=?", (row_id,))
    conn.execute(INSERT_SEARCH, (row_id, search_document(code, name, contact, kind)))


def _mask_extra(label: str, value: str) -> str:
    kind = "email" if "@" in value else "phone"
    return MASKERS[kind](value)
