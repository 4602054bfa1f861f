"""The monthly verification sample (每月末抽取10%的客户数据核对): a random share of the
customers, drawn once a month, spread across owners and shared out among service and sales
staff, who call each customer and mark the record verified, corrected, unreachable or
reached the wrong person.

The draw is a pure function of the seed, the percentage and the (owner, id) list at draw
time; the sample stores the seed, the population size, its highest id and a digest of that
list, so `redraw` can repeat it and say whether the population is still the same. Plain
functions over a connection; the service checks who may draw and mark, and audits both in
the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import random
import re
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import audit
from .analytics import Result
from .crypto import KeyRing
from .validation import clean_text

UPDATE_ACTION = "customer.update"
OVERDUE_LISTED = 50
# What a call-back can confirm, and so what a checker may name as needing a correction.
CHECKED_FIELDS = (
    "name",
    "contact_name",
    "contact_title",
    "phone",
    "email",
    "credit_code",
    "id_number",
    "province",
    "city",
    "address",
)
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


class ItemStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    CORRECTED = "corrected"
    UNREACHABLE = "unreachable"
    WRONG_PERSON = "wrong_person"


class VerificationError(Exception):
    """A draw or a mark refused; the message says why."""


@dataclass(frozen=True)
class Sample(Result):
    id: int
    month: str
    percent: float
    seed: int
    population: int
    max_customer_id: int
    population_digest: str
    size: int
    drawn_at: str
    drawn_by: str
    due_on: str


@dataclass(frozen=True)
class Item(Result):
    id: int
    sample_id: int
    customer_id: int
    code: str
    name: str
    owner_id: int | None
    owner: str
    assignee_id: int | None
    assignee: str
    status: str
    checked_at: str | None
    checked_by: int | None
    audit_id: int | None
    customer_version: int | None
    fields: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ItemChange(Result):
    """One mark, for its audit entry: field names only, never values."""

    item_id: int
    sample_id: int
    customer_id: int
    customer_code: str
    before: str
    after: str
    audit_id: int | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AssigneeProgress(Result):
    assignee_id: int | None
    assignee: str
    total: int
    done: int
    counts: dict[str, int]  # per status


@dataclass(frozen=True)
class FieldErrorRate(Result):
    field: str
    corrected: int  # items where this field was corrected
    reached: int  # items checked with the customer (verified + corrected)
    rate: float


@dataclass(frozen=True)
class VerificationReport(Result):
    sample: Sample
    counts: dict[str, int]
    shares: dict[str, float]  # of the whole sample
    field_errors: tuple[FieldErrorRate, ...]
    overdue: int  # still pending after the due day
    overdue_items: tuple[Item, ...]  # the first OVERDUE_LISTED of them
    progress: tuple[AssigneeProgress, ...]

    def csv_rows(self) -> list[dict[str, Any]]:
        return [
            {"field": e.field, "corrected": e.corrected, "rate": e.rate} for e in self.field_errors
        ]


def parse_month(text: str) -> str:
    """'YYYY-MM', checked."""
    if not _MONTH.fullmatch(text.strip()):
        raise VerificationError(f"month must look like 2026-05, not {text!r}")
    return text.strip()


def _sample(row: sqlite3.Row) -> Sample:
    return Sample(**dict(zip(row.keys(), row, strict=True)))


_SAMPLE_SQL = (
    "SELECT s.*, (SELECT COUNT(*) FROM verification_items i WHERE i.sample_id = s.id) AS size"
    " FROM verification_samples s"
)


def sample_for(conn: sqlite3.Connection, month: str) -> Sample | None:
    row = conn.execute(_SAMPLE_SQL + " WHERE s.month = ?", (parse_month(month),)).fetchone()
    return _sample(row) if row else None


def samples(conn: sqlite3.Connection) -> tuple[Sample, ...]:
    """Every sample, newest month first."""
    return tuple(_sample(r) for r in conn.execute(_SAMPLE_SQL + " ORDER BY s.month DESC"))


def _population(
    conn: sqlite3.Connection, max_customer_id: int | None = None
) -> dict[int | None, list[int]]:
    """Customer ids per owner (None: unassigned), ascending, read from `customers_owner`:
    one row per owner (its ids joined in SQL), since a million rows into Python cost more
    than the whole draw."""
    groups: dict[int | None, list[int]] = {}
    for owner_id, ids in conn.execute(
        "SELECT owner_id, group_concat(id) FROM customers INDEXED BY customers_owner"
        + ("" if max_customer_id is None else " WHERE id <= :top")
        + " GROUP BY owner_id ORDER BY owner_id",
        {"top": max_customer_id},
    ):
        groups[owner_id] = sorted(map(int, ids.split(",")))
    return groups


def _digest(groups: dict[int | None, list[int]]) -> str:
    hasher = hashlib.sha256()
    for owner_id, ids in groups.items():
        hasher.update(f"{owner_id}:{','.join(map(str, ids))};".encode())
    return hasher.hexdigest()


def _quotas(sizes: dict[int | None, int], percent: float) -> dict[int | None, int]:
    """How many to draw from each owner's customers: `percent` of the whole, shared in
    proportion to each owner's count (largest remainders get the leftover draws)."""
    population = sum(sizes.values())
    target = round(population * percent / 100)
    if population and not target:
        target = 1
    exact = (
        {owner: size * target / population for owner, size in sizes.items()} if population else {}
    )
    quotas = {owner: int(share) for owner, share in exact.items()}
    leftover = target - sum(quotas.values())
    by_remainder = sorted(exact, key=lambda owner: (-(exact[owner] - quotas[owner]), _order(owner)))
    for owner in by_remainder[:leftover]:
        quotas[owner] += 1
    return quotas


def _order(owner_id: int | None) -> int:
    return -1 if owner_id is None else owner_id


def _draw(
    groups: dict[int | None, list[int]], percent: float, seed: int
) -> list[tuple[int, int | None]]:
    """(customer id, owner id) of every customer drawn; the same inputs give the same draw."""
    rng = random.Random(seed)
    quotas = _quotas({owner: len(ids) for owner, ids in groups.items()}, percent)
    picked: list[tuple[int, int | None]] = []
    for owner in sorted(groups, key=_order):
        picked += [(customer_id, owner) for customer_id in rng.sample(groups[owner], quotas[owner])]
    return picked


def _assign(
    picked: list[tuple[int, int | None]], checkers: Sequence[int], reps: Sequence[int], seed: int
) -> list[tuple[int, int | None, int | None]]:
    """Share the items out evenly among `checkers` (service staff, who may read every
    customer and own none: an independent check), each to whoever has fewest so far.

    A sales rep may read only their own customers, so without service staff each rep checks
    their own (`reps`) and a customer with no active rep is left unassigned, for an admin.
    """
    items = list(picked)
    random.Random(seed + 1).shuffle(items)
    if not checkers:
        mine = set(reps)
        return [(c, owner, owner if owner in mine else None) for c, owner in items]
    heap = [(0, position, checker) for position, checker in enumerate(checkers)]
    heapq.heapify(heap)
    out: list[tuple[int, int | None, int | None]] = []
    for customer_id, owner_id in items:
        load, position, checker = heapq.heappop(heap)
        out.append((customer_id, owner_id, checker))
        heapq.heappush(heap, (load + 1, position, checker))
    return out


def staff_for_checks(conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
    """(active service users, active sales users) by id: who checks a sample by default."""
    staff: dict[str, list[int]] = {"service": [], "sales": []}
    rows = conn.execute(
        "SELECT id, role FROM users WHERE active = 1 AND role IN ('service', 'sales') ORDER BY id"
    )
    for user_id, role in rows:
        staff[role].append(user_id)
    return staff["service"], staff["sales"]


def draw_sample(
    tx: sqlite3.Connection,
    *,
    month: str,
    drawn_by: str,
    percent: float = 10.0,
    due_days: int = 14,
    seed: int | None = None,
    staff: tuple[Sequence[int], Sequence[int]] | None = None,
    now: dt.datetime | None = None,
) -> Sample:
    """Draw `percent`% of the customers for `month`, spread across owners, shared among
    `staff` (service users, sales users; default `staff_for_checks`, see `_assign`).
    Refused if that month already has a sample. Run inside a write transaction; the caller
    audits the returned sample."""
    month = parse_month(month)
    if not 0 < percent <= 100:
        raise VerificationError("percent must be above 0 and at most 100")
    existing = tx.execute(
        "SELECT drawn_at, drawn_by FROM verification_samples WHERE month = ?", (month,)
    ).fetchone()
    if existing:
        raise VerificationError(
            f"the sample for {month} was already drawn on {existing[0][:10]} by {existing[1]};"
            " a month is drawn only once"
        )
    checkers, reps = staff if staff is not None else staff_for_checks(tx)
    if not checkers and not reps:
        raise VerificationError("there is no active service or sales user to check the sample")
    seed = secrets.randbits(62) if seed is None else seed
    groups = _population(tx)
    population = sum(len(ids) for ids in groups.values())
    if not population:
        raise VerificationError("there are no customers to draw from")
    when = (now or dt.datetime.now()).replace(microsecond=0)
    sample_id = tx.execute(
        "INSERT INTO verification_samples(month, percent, seed, population, max_customer_id,"
        " population_digest, drawn_at, drawn_by, due_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            month,
            percent,
            seed,
            population,
            max(max(ids) for ids in groups.values()),
            _digest(groups),
            when.isoformat(),
            drawn_by,
            (when.date() + dt.timedelta(days=due_days)).isoformat(),
        ),
    ).lastrowid
    assigned = sorted(
        _assign(_draw(groups, percent, seed), checkers, reps, seed), key=lambda a: a[0]
    )
    tx.execute(  # one statement: binding 100k rows one by one costs more than the inserts
        "INSERT INTO verification_items(sample_id, customer_id, owner_id, assignee_id)"
        " SELECT :sample, value ->> 0, value ->> 1, value ->> 2 FROM json_each(:items)",
        {"sample": sample_id, "items": json.dumps(assigned)},
    )
    sample = sample_for(tx, month)
    assert sample is not None
    return sample


def redraw(conn: sqlite3.Connection, sample: Sample) -> tuple[list[int], bool]:
    """Repeat a draw from its seed: (customer ids, sorted; whether the population of that
    day, up to its highest id, is still the same, so the ids must equal the sample's)."""
    groups = _population(conn, sample.max_customer_id)
    ids = sorted(c for c, _ in _draw(groups, sample.percent, sample.seed))
    return ids, _digest(groups) == sample.population_digest


_ITEM_SQL = (
    "SELECT i.*, c.code, c.name, COALESCE(o.username, '') AS owner,"
    " COALESCE(a.username, '') AS assignee FROM verification_items i"
    " JOIN customers c ON c.id = i.customer_id"
    " LEFT JOIN users o ON o.id = i.owner_id LEFT JOIN users a ON a.id = i.assignee_id"
)


def _item(row: sqlite3.Row) -> Item:
    return Item(
        id=row["id"],
        sample_id=row["sample_id"],
        customer_id=row["customer_id"],
        code=row["code"],
        name=row["name"],
        owner_id=row["owner_id"],
        owner=row["owner"],
        assignee_id=row["assignee_id"],
        assignee=row["assignee"],
        status=row["status"],
        checked_at=row["checked_at"],
        checked_by=row["checked_by"],
        audit_id=row["audit_id"],
        customer_version=row["customer_version"],
        fields=tuple(json.loads(row["fields"])),
        note=row["note"],
    )


def worklist(
    conn: sqlite3.Connection,
    sample_id: int,
    assignee_id: int | None = None,
    *,
    status: ItemStatus | str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> tuple[Item, ...]:
    """A page of a sample's items (one assignee's, with `assignee_id`), in id order."""
    where = ["i.sample_id = :sample", "i.id > :after"]
    if assignee_id is not None:
        where.append("i.assignee_id = :assignee")
    if status is not None:
        where.append("i.status = :status")
    rows = conn.execute(
        f"{_ITEM_SQL} WHERE {' AND '.join(where)} ORDER BY i.id LIMIT :limit",
        {
            "sample": sample_id,
            "after": after_id,
            "assignee": assignee_id,
            "status": None if status is None else ItemStatus(status).value,
            "limit": limit,
        },
    ).fetchall()
    return tuple(_item(r) for r in rows)


def item(conn: sqlite3.Connection, item_id: int) -> Item | None:
    row = conn.execute(f"{_ITEM_SQL} WHERE i.id = ?", (item_id,)).fetchone()
    return _item(row) if row else None


def mark(
    tx: sqlite3.Connection,
    keys: KeyRing,
    item_id: int,
    status: ItemStatus | str,
    *,
    by_user_id: int | None,
    at: str,
    audit_id: int | None = None,
    note: str = "",
) -> ItemChange:
    """Record the outcome of one check. `corrected` names the `customer.update` audit entry
    of the correction (made after the draw, on this customer): its changed fields are
    recorded (names only) with the customer's version. `pending` undoes a mark."""
    status = ItemStatus(status)
    current = item(tx, item_id)
    if current is None:
        raise VerificationError(f"there is no verification item {item_id}")
    fields: tuple[str, ...] = ()
    version = None
    if status is ItemStatus.CORRECTED:
        if audit_id is None:
            raise VerificationError("a correction must name the edit that made it")
        fields = _corrected_fields(tx, keys, current, audit_id)
        version = tx.execute(
            "SELECT version FROM customers WHERE id = ?", (current.customer_id,)
        ).fetchone()[0]
    elif audit_id is not None:
        raise VerificationError(f"only a correction links an edit, not {status.value}")
    done = status is not ItemStatus.PENDING
    tx.execute(
        "UPDATE verification_items SET status = ?, checked_at = ?, checked_by = ?,"
        " audit_id = ?, customer_version = ?, fields = ?, note = ? WHERE id = ?",
        (
            status.value,
            at if done else None,
            by_user_id if done else None,
            audit_id,
            version,
            json.dumps(list(fields)),
            clean_text(note),
            item_id,
        ),
    )
    return ItemChange(
        item_id=item_id,
        sample_id=current.sample_id,
        customer_id=current.customer_id,
        customer_code=current.code,
        before=current.status,
        after=status.value,
        audit_id=audit_id,
        fields=fields,
    )


def hand_over(
    tx: sqlite3.Connection,
    item_id: int,
    *,
    fields: Sequence[str],
    by_user_id: int | None,
    note: str = "",
) -> tuple[Item, int | None]:
    """Pass a check whose customer needs a correction the checker may not make (service
    staff may not edit base information) to the customer's own rep, or to an admin (no
    assignee) when the customer has no active rep. The wrong fields are kept by name only,
    never their values; the item stays pending until the correction is saved and marked.
    Returns the item as it was and the new assignee."""
    current = item(tx, item_id)
    if current is None:
        raise VerificationError(f"there is no verification item {item_id}")
    if current.status != ItemStatus.PENDING:
        raise VerificationError("only a pending check can be handed over")
    unknown = sorted(set(fields) - set(CHECKED_FIELDS))
    if unknown or not fields:
        raise VerificationError("name the fields that need a correction")
    owner = tx.execute(
        "SELECT u.id FROM customers c JOIN users u ON u.id = c.owner_id"
        " WHERE c.id = ? AND u.active = 1 AND u.role = 'sales' AND u.id != ?",
        (current.customer_id, by_user_id or 0),
    ).fetchone()
    to_user_id = owner[0] if owner else None
    tx.execute(
        "UPDATE verification_items SET assignee_id = ?, fields = ?, note = ? WHERE id = ?",
        (to_user_id, json.dumps(sorted(set(fields))), clean_text(note), item_id),
    )
    return current, to_user_id


def latest_edit(conn: sqlite3.Connection, item_id: int) -> int | None:
    """The newest `customer.update` audit entry of the item's customer since its draw: the
    edit to link when the assignee saved a correction from the worklist."""
    row = conn.execute(
        "SELECT MAX(a.id) FROM verification_items i"
        " JOIN verification_samples s ON s.id = i.sample_id"
        " JOIN customers c ON c.id = i.customer_id"
        " JOIN audit_log a ON a.customer_code = c.code AND a.action = ? AND a.at >= s.drawn_at"
        " WHERE i.id = ?",
        (UPDATE_ACTION, item_id),
    ).fetchone()
    return row[0]


def _corrected_fields(
    tx: sqlite3.Connection, keys: KeyRing, current: Item, audit_id: int
) -> tuple[str, ...]:
    row = tx.execute("SELECT * FROM audit_log WHERE id = ?", (audit_id,)).fetchone()
    drawn_at = tx.execute(
        "SELECT drawn_at FROM verification_samples WHERE id = ?", (current.sample_id,)
    ).fetchone()[0]
    if (
        row is None
        or row["action"] != UPDATE_ACTION
        or row["entity_id"] != current.customer_id
        or row["at"] < drawn_at
    ):
        raise VerificationError(
            f"audit entry {audit_id} is not an edit of {current.code} made since the draw"
        )
    entry = audit.AuditEntry.from_row(row, lambda code: audit.subject_key(tx, keys, code))
    fields = tuple(sorted(entry.details.get("fields", {})))
    if not fields:
        raise VerificationError(f"audit entry {audit_id} names no changed field")
    return fields


def progress(conn: sqlite3.Connection, sample_id: int) -> tuple[AssigneeProgress, ...]:
    """Each assignee's items by status, by name."""
    per: dict[int | None, dict[str, int]] = {}
    names: dict[int | None, str] = {}
    for row in conn.execute(
        "SELECT p.assignee_id, COALESCE(u.username, '') AS name, p.status, p.n FROM"
        " (SELECT assignee_id, status, COUNT(*) AS n FROM verification_items"
        "  WHERE sample_id = ? GROUP BY assignee_id, status) AS p"
        " LEFT JOIN users u ON u.id = p.assignee_id",
        (sample_id,),
    ):
        counts = per.setdefault(row["assignee_id"], dict.fromkeys(ItemStatus, 0))
        counts[ItemStatus(row["status"])] = row["n"]
        names[row["assignee_id"]] = row["name"]
    return tuple(
        AssigneeProgress(
            assignee_id=assignee,
            assignee=names[assignee],
            total=sum(counts.values()),
            done=sum(counts.values()) - counts[ItemStatus.PENDING],
            counts={status.value: n for status, n in counts.items()},
        )
        for assignee, counts in sorted(per.items(), key=lambda kv: names[kv[0]])
    )


def report(
    conn: sqlite3.Connection, sample_id: int, today: dt.date | None = None
) -> VerificationReport:
    """Shares of each outcome, error rate per field (corrections of it per customer
    reached), items still pending after the due day, and progress per assignee."""
    row = conn.execute(_SAMPLE_SQL + " WHERE s.id = ?", (sample_id,)).fetchone()
    if row is None:
        raise VerificationError(f"there is no verification sample {sample_id}")
    sample = _sample(row)
    day = (today or dt.date.today()).isoformat()
    steps = progress(conn, sample_id)
    counts = {status.value: sum(p.counts[status.value] for p in steps) for status in ItemStatus}
    total = sum(counts.values())
    reached = counts[ItemStatus.VERIFIED] + counts[ItemStatus.CORRECTED]
    field_errors = tuple(
        FieldErrorRate(field=r[0], corrected=r[1], reached=reached, rate=r[1] / reached)
        for r in conn.execute(
            "SELECT j.value, COUNT(*) FROM verification_items i, json_each(i.fields) j"
            " WHERE i.sample_id = ? AND i.status = 'corrected' GROUP BY j.value"
            " ORDER BY COUNT(*) DESC, j.value",
            (sample_id,),
        )
    )
    overdue = 0
    overdue_items: tuple[Item, ...] = ()
    if day > sample.due_on:
        overdue = counts[ItemStatus.PENDING]
        overdue_items = worklist(conn, sample_id, status=ItemStatus.PENDING, limit=OVERDUE_LISTED)
    return VerificationReport(
        sample=sample,
        counts=counts,
        shares={status: n / total if total else 0.0 for status, n in counts.items()},
        field_errors=field_errors,
        overdue=overdue,
        overdue_items=overdue_items,
        progress=steps,
    )
