"""The monthly verification sample: draw, spread, assignment, marks, progress and report.

Eight customers are created through the service (three owned by sales1, four by sales2, one
unassigned), so corrections are real `customer.update` audit entries.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from tests.conftest import customer_data
from tui_crm import verification as v
from tui_crm.db import Database
from tui_crm.verification import ItemStatus, VerificationError

DRAWN = dt.datetime(2026, 6, 30, 17, 0, 0)
OWNERS = ["sales1"] * 3 + ["sales2"] * 4 + [None]


@pytest.fixture
def base(db: Database, session) -> dict[str, int]:
    """The customers (code -> id) and users (name -> id)."""
    admin = session("admin")
    ids = {}
    for n, owner in enumerate(OWNERS):
        data = customer_data(
            name=f"Customer {n}", phone=f"1380000{n:04d}", email=f"c{n}@example.com"
        )
        if owner:
            data["owner"] = owner
        customer = admin.customers.create(data)
        ids[customer.code] = customer.id
    users = dict(db.conn.execute("SELECT username, id FROM users").fetchall())
    return {**ids, **users}


def _draw(db: Database, percent: float = 50, month: str = "2026-06", **kwargs) -> v.Sample:
    with db.write() as tx:
        return v.draw_sample(
            tx, month=month, drawn_by="admin", percent=percent, seed=42, now=DRAWN, **kwargs
        )


def _items(db: Database, sample: v.Sample) -> list[v.Item]:
    return list(v.worklist(db.conn, sample.id, limit=1000))


def test_a_draw_is_spread_across_owners_and_shared_out_evenly(
    db: Database, base: dict[str, int]
) -> None:
    sample = _draw(db)
    # 50% of 8 is 4: sales1 1.5, sales2 2.0, unassigned 0.5 by proportion; whole parts
    # 1 + 2 + 0, and the one left over goes to the largest remainder (a tie of 0.5, given
    # to the unassigned group first).
    assert (sample.population, sample.size, sample.due_on) == (8, 4, "2026-07-14")
    items = _items(db, sample)
    owners = Counter(item.owner for item in items)
    assert owners == {"sales1": 1, "sales2": 2, "": 1}
    # checked by service staff, who may read every customer and own none: independent of
    # the rep, never outside what the checker may see
    assert {item.assignee for item in items} == {"service"}
    assert all(item.status == "pending" for item in items)


def test_without_service_staff_each_rep_checks_their_own(
    db: Database, base: dict[str, int]
) -> None:
    """A sales rep may read only their own customers; a check they could not open would be
    a check nobody can do, so reps get their own and an unowned customer waits for an admin."""
    sample = _draw(db, percent=100, staff=([], [base["sales1"], base["sales2"]]))
    items = _items(db, sample)
    assert len(items) == 8
    assert all(item.assignee == item.owner for item in items if item.owner)
    assert [item.assignee_id for item in items if not item.owner] == [None]


def test_a_draw_is_reproducible_from_its_seed_and_refused_twice(
    db: Database, base: dict[str, int]
) -> None:
    sample = _draw(db)
    drawn = sorted(item.customer_id for item in _items(db, sample))
    assert v.redraw(db.conn, sample) == (drawn, True)
    with pytest.raises(VerificationError, match="already drawn on 2026-06-30 by admin"):
        _draw(db, percent=10)
    # the same seed on the same population draws the same customers for another month
    july = _draw(db, month="2026-07")
    assert sorted(item.customer_id for item in _items(db, july)) == drawn
    assert v.sample_for(db.conn, "2026-06") == sample
    assert [s.month for s in v.samples(db.conn)] == ["2026-07", "2026-06"]
    # a customer reassigned since changes the population: the redraw says so
    with db.write() as tx:
        tx.execute(
            "UPDATE customers SET owner_id = NULL"
            " WHERE id = (SELECT MIN(id) FROM customers WHERE owner_id IS NOT NULL)"
        )
    assert v.redraw(db.conn, sample)[1] is False


def test_small_percentages_and_bad_input(db: Database, base: dict[str, int]) -> None:
    # 10% of 8 is 0.8, rounded to 1; shared in proportion (sales1 3/8, sales2 4/8,
    # unassigned 1/8) it goes to sales2, the largest share
    sample = _draw(db, percent=10)
    assert [item.owner for item in _items(db, sample)] == ["sales2"]
    for month, percent in (("2026-13", 10), ("June", 10), ("2026-08", 0), ("2026-08", 101)):
        with pytest.raises(VerificationError):
            _draw(db, percent=percent, month=month)
    with pytest.raises(VerificationError, match="no active service or sales user"):
        _draw(db, month="2026-09", staff=([], []))


def test_marks_link_corrections_to_their_edit(db: Database, base: dict[str, int], session) -> None:
    sample = _draw(db)
    items = _items(db, sample)
    verified, corrected, unreachable, pending = items
    now = "2026-07-01T10:00:00"
    with db.write() as tx:
        change = v.mark(tx, db.keys, verified.id, "verified", by_user_id=base["service"], at=now)
        v.mark(tx, db.keys, unreachable.id, "unreachable", by_user_id=base["service"], at=now)
    assert (change.before, change.after, change.fields) == ("pending", "verified", ())
    admin = session("admin")
    customer = admin.customers.get(corrected.customer_id)
    admin.customers.update(
        customer.id,
        {"contact_name": "Corrected Name", "email": "right@example.com"},
        customer.version,
    )
    edit_id = db.conn.execute(
        "SELECT MAX(id) FROM audit_log WHERE action = 'customer.update' AND entity_id = ?",
        (customer.id,),
    ).fetchone()[0]
    assert v.latest_edit(db.conn, corrected.id) == edit_id
    assert v.latest_edit(db.conn, pending.id) is None
    other_id = pending.customer_id
    with db.write() as tx:
        with pytest.raises(VerificationError, match="must name the edit"):
            v.mark(tx, db.keys, corrected.id, "corrected", by_user_id=1, at=now)
        with pytest.raises(VerificationError, match="not an edit of"):
            v.mark(tx, db.keys, pending.id, "corrected", by_user_id=1, at=now, audit_id=edit_id)
        with pytest.raises(VerificationError, match="only a correction"):
            v.mark(tx, db.keys, pending.id, "verified", by_user_id=1, at=now, audit_id=edit_id)
        change = v.mark(
            tx, db.keys, corrected.id, ItemStatus.CORRECTED, by_user_id=1, at=now, audit_id=edit_id
        )
    assert change.fields == ("contact_name", "email")
    stored = v.item(db.conn, corrected.id)
    assert stored is not None
    assert (stored.status, stored.audit_id, stored.customer_version) == ("corrected", edit_id, 2)
    assert stored.checked_at == now
    # an edit made before the draw cannot be passed off as the correction
    admin.customers.update(
        other_id, {"contact_name": "Early"}, admin.customers.get(other_id).version
    )
    early = db.conn.execute("SELECT MAX(id) FROM audit_log").fetchone()[0]
    with db.write() as tx:
        tx.execute("UPDATE verification_samples SET drawn_at = '2099-01-01T00:00:00'")
        with pytest.raises(VerificationError, match="since the draw"):
            v.mark(tx, db.keys, pending.id, "corrected", by_user_id=1, at=now, audit_id=early)


def test_progress_report_error_rates_and_overdue(
    db: Database, base: dict[str, int], session
) -> None:
    sample = _draw(db)
    items = _items(db, sample)
    admin = session("admin")
    now = "2026-07-01T10:00:00"
    # two corrections (contact name twice, email once), one verified, one left pending
    edits = []
    for item, changes in (
        (items[0], {"contact_name": "A"}),
        (items[1], {"contact_name": "B", "email": "b@example.com"}),
    ):
        customer = admin.customers.get(item.customer_id)
        admin.customers.update(customer.id, changes, customer.version)
        edits.append(db.conn.execute("SELECT MAX(id) FROM audit_log").fetchone()[0])
    with db.write() as tx:
        for item, edit in zip(items[:2], edits, strict=True):
            v.mark(tx, db.keys, item.id, "corrected", by_user_id=1, at=now, audit_id=edit)
        v.mark(tx, db.keys, items[2].id, "verified", by_user_id=1, at=now)
    on_time = v.report(db.conn, sample.id, dt.date(2026, 7, 14))
    assert on_time.counts == {
        "pending": 1,
        "verified": 1,
        "corrected": 2,
        "unreachable": 0,
        "wrong_person": 0,
    }
    assert (on_time.shares["corrected"], on_time.shares["verified"]) == (0.5, 0.25)
    # 3 customers reached; contact name corrected on 2 of them, email on 1
    assert [(e.field, e.corrected, e.reached) for e in on_time.field_errors] == [
        ("contact_name", 2, 3),
        ("email", 1, 3),
    ]
    assert on_time.field_errors[0].rate == 2 / 3
    assert (on_time.overdue, on_time.overdue_items) == (0, ())
    late = v.report(db.conn, sample.id, dt.date(2026, 7, 15))
    assert late.overdue == 1
    assert [i.id for i in late.overdue_items] == [items[3].id]
    progress = {p.assignee: (p.total, p.done) for p in late.progress}
    expected = Counter(item.assignee for item in items)
    assert {name: total for name, (total, _) in progress.items()} == dict(expected)
    assert sum(done for _, done in progress.values()) == 3
    # each assignee's worklist pages in id order; undoing a mark returns it to pending
    mine = items[0].assignee_id
    own = v.worklist(db.conn, sample.id, mine, limit=1)
    assert [i.assignee_id for i in own] == [mine]
    with db.write() as tx:
        v.mark(tx, db.keys, items[2].id, "pending", by_user_id=1, at=now)
    undone = v.item(db.conn, items[2].id)
    assert undone is not None and (undone.status, undone.checked_at) == ("pending", None)
    pending = v.worklist(db.conn, sample.id, status="pending")
    assert [i.id for i in pending] == [items[2].id, items[3].id]


def test_a_purged_customer_leaves_the_sample(db: Database, base: dict[str, int]) -> None:
    sample = _draw(db)
    gone = _items(db, sample)[0]
    with db.write() as tx:
        tx.execute("DELETE FROM customers WHERE id = ?", (gone.customer_id,))
    assert gone.id not in {i.id for i in _items(db, sample)}
    assert v.sample_for(db.conn, "2026-06").size == 3
