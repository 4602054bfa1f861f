"""Service additions for the detail screen and the due list, on a real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tests.conftest import customer_data
from tui_crm.service import PermissionDenied, Service


def _yesterday() -> str:
    return (dt.date.today() - dt.timedelta(days=1)).isoformat()


def test_timeline_pages_without_losing_entries_that_share_a_timestamp(
    session: Callable[[str], Service],
) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    for n in range(7):
        rep.activity.add_followup(
            customer.id, channel="phone", content=f"call {n}", at="2026-01-01T10:00:00"
        )
    rep.activity.add_interaction(
        customer.id, kind="order", detail="order", amount="5", at="2026-01-02T09:00:00"
    )
    seen = []
    page = rep.activity.timeline(customer.id, limit=3)
    while page:
        seen.extend(page)
        last = page[-1]
        page = rep.activity.timeline(customer.id, limit=3, after=(last.at, last.source, last.id))
    assert len(seen) == 8
    assert seen[0].kind == "order"
    assert len({(e.source, e.id) for e in seen}) == 8


def test_timeline_filters_by_kind_in_sql(session: Callable[[str], Service]) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    for n in range(5):
        rep.activity.add_followup(customer.id, channel="visit", content=f"visit {n}")
    rep.activity.add_interaction(customer.id, kind="complaint", detail="late delivery")
    assert [e.kind for e in rep.activity.timeline(customer.id, limit=1, kinds=("complaint",))] == [
        "complaint"
    ]
    assert len(rep.activity.timeline(customer.id, kinds=("followup",))) == 5


def test_find_duplicates_by_phone_email_and_credit_code(session: Callable[[str], Service]) -> None:
    manager = session("manager")
    first = manager.customers.create(customer_data(credit_code="91350100M000100Y43"))
    assert [c.id for c in manager.duplicates.find({"phone": "138 0013 8000"})] == [first.id]
    assert [c.id for c in manager.duplicates.find({"email": "ZED@example.com"})] == [first.id]
    assert [c.id for c in manager.duplicates.find({"credit_code": "91350100M000100Y43"})] == [
        first.id
    ]
    assert manager.duplicates.find({"phone": "not a phone", "email": ""}) == []
    assert manager.duplicates.find({"phone": "13800138000"}, exclude_id=first.id) == []


def test_due_followups_scoped_by_role(session: Callable[[str], Service]) -> None:
    manager, rep1, rep2, service = (session(n) for n in ("manager", "sales1", "sales2", "service"))
    mine = rep1.customers.create(customer_data(name="Mine Co"))
    theirs = rep2.customers.create(customer_data(name="Theirs Co", phone="13900139000"))
    future = rep1.customers.create(customer_data(name="Later Co", phone="13700137000"))
    today = dt.date.today().isoformat()
    rep1.activity.add_followup(mine.id, channel="phone", content="x", next_followup_date=today)
    rep1.activity.add_followup(
        future.id, channel="phone", content="x", next_followup_date="2999-01-01"
    )
    service.activity.add_followup(theirs.id, channel="phone", content="x", next_followup_date=today)
    with manager.db.write() as tx:  # make one overdue, as time would
        tx.execute("UPDATE customers SET next_followup_at=? WHERE id=?", (_yesterday(), mine.id))
        tx.execute(
            "UPDATE followups SET next_followup_date=? WHERE customer_id=?", (_yesterday(), mine.id)
        )

    assert [(d.name, d.days_overdue) for d in rep1.due.followups()] == [("Mine Co", 1)]
    assert [d.name for d in rep2.due.followups()] == ["Theirs Co"]
    assert [d.name for d in service.due.followups()] == ["Theirs Co"]
    assert [(d.owner, d.name) for d in manager.due.followups()] == [
        ("sales1", "Mine Co"),
        ("sales2", "Theirs Co"),
    ]
    assert manager.due.followups(scope_all=False) == []
    with pytest.raises(PermissionDenied):
        rep1.due.followups(scope_all=True)


def test_timeline_reads_each_source_along_its_index_and_pages_in_order(
    session: Callable[[str], Service],
) -> None:
    """Each half of the merge is limited on its own (customer_id, at) index, so a customer
    with thousands of entries costs one page; paging still returns every entry in order."""
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    for n in range(40):
        day = f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:00"
        rep.activity.add_followup(
            customer.id, channel="visit" if n % 2 else "phone", content=f"c{n}", at=day
        )
        if n % 4 == 0:
            rep.activity.add_interaction(
                customer.id, kind="order", detail=f"o{n}", amount="9", at=day
            )
    statements: list[str] = []
    rep.db.conn.set_trace_callback(statements.append)
    rep.activity.timeline(customer.id, limit=5)
    rep.db.conn.set_trace_callback(None)
    merge = next(s for s in statements if "UNION ALL" in s)
    plan = " ".join(str(r[3]) for r in rep.db.conn.execute("EXPLAIN QUERY PLAN " + merge))
    assert "INDEX followups_customer" in plan and "INDEX interactions_customer" in plan
    for kinds, expected in (((), 50), (("order",), 10), (("visit",), 20)):
        seen = []
        page = rep.activity.timeline(customer.id, limit=7, kinds=kinds)
        while page:
            seen.extend(page)
            last = page[-1]
            page = rep.activity.timeline(
                customer.id, limit=7, kinds=kinds, after=(last.at, last.source, last.id)
            )
        keys = [(e.at, e.source, e.id) for e in seen]
        assert len(seen) == expected and keys == sorted(keys, reverse=True)


def test_duplicate_hints_name_a_colleagues_customer_by_code_and_owner_only(
    session: Callable[[str], Service],
) -> None:
    rep1, rep2, manager, service = (session(n) for n in ("sales1", "sales2", "manager", "service"))
    theirs = rep1.customers.create(customer_data(name="Secret Buyer Ltd"))
    mine = rep2.customers.create(customer_data(name="Mine", phone="13900139000", email=""))
    probe = {"phone": "138 0013 8000", "email": "zed@example.com"}

    assert rep2.duplicates.find(probe) == []
    hints = rep2.duplicates.hints(probe)
    assert [(h.code, h.owner, h.matched) for h in hints] == [
        (theirs.code, "sales1", ("phone", "email"))
    ]
    assert rep2.duplicates.hints({"phone": "13900139000"}) == []  # own: find_duplicates has it
    assert [c.id for c in rep2.duplicates.find({"phone": "13900139000"})] == [mine.id]
    assert manager.duplicates.hints(probe) == service.duplicates.hints(probe) == []

    entry = rep2.db.conn.execute(
        "SELECT actor, customer_code, details FROM audit_log WHERE action='duplicate.hint'"
    ).fetchall()
    assert len(entry) == 1 and entry[0]["actor"] == "sales2"
    assert theirs.code in entry[0]["details"] and "phone" in entry[0]["details"]
    assert "13800138000" not in entry[0]["details"] and "zed@" not in entry[0]["details"]
    assert "Secret" not in repr(hints)
