"""The role × action × own/other matrix, checked through the service (not just the table)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import customer_data
from tui_crm.service import PermissionDenied, Service

# role user -> action -> (on own customer, on another rep's customer)
ALLOWED = {
    "admin": {
        "read": (1, 1),
        "update": (1, 1),
        "reassign": (1, 1),
        "hold": (1, 1),
        "followup": (1, 1),
        "interaction": (1, 1),
        "tag": (1, 1),
        "reveal": (1, 1),
    },
    "manager": {
        "read": (1, 1),
        "update": (1, 1),
        "reassign": (1, 1),
        "hold": (0, 0),
        "followup": (1, 1),
        "interaction": (1, 1),
        "tag": (1, 1),
        "reveal": (1, 1),
    },
    "sales1": {
        "read": (1, 0),
        "update": (1, 0),
        "reassign": (0, 0),
        "hold": (0, 0),
        "followup": (1, 0),
        "interaction": (1, 0),
        "tag": (1, 0),
        "reveal": (1, 0),
    },
    "service": {
        "read": (1, 1),
        "update": (0, 0),
        "reassign": (0, 0),
        "hold": (0, 0),
        "followup": (1, 1),
        "interaction": (1, 1),
        "tag": (1, 1),
        "reveal": (0, 0),
    },
}

ACTIONS: dict[str, Callable[[Service, int], object]] = {
    "read": lambda s, cid: s.customers.get(cid),
    "update": lambda s, cid: s.customers.update(
        cid,
        {"notes": "called"},
        s.db.conn.execute("SELECT version FROM customers WHERE id=?", (cid,)).fetchone()[0],
    ),
    "reassign": lambda s, cid: s.customers.update(
        cid,
        {"owner": "sales2"},
        s.db.conn.execute("SELECT version FROM customers WHERE id=?", (cid,)).fetchone()[0],
    ),
    "hold": lambda s, cid: s.customers.update(
        cid,
        {"legal_hold": True},
        s.db.conn.execute("SELECT version FROM customers WHERE id=?", (cid,)).fetchone()[0],
    ),
    "followup": lambda s, cid: s.activity.add_followup(cid, channel="phone", content="rang"),
    "interaction": lambda s, cid: s.activity.add_interaction(cid, kind="enquiry", detail="asked"),
    "tag": lambda s, cid: s.tags.add(cid, "value", "high value"),
    "reveal": lambda s, cid: s.customers.reveal(cid, "phone"),
}

CASES = [
    (user, action, own, bool(flags[0 if own else 1]))
    for user, actions in ALLOWED.items()
    for action, flags in actions.items()
    for own in (True, False)
]


@pytest.mark.parametrize(("user", "action", "own", "allowed"), CASES)
def test_matrix(session, user: str, action: str, own: bool, allowed: bool) -> None:
    admin = session("admin")
    # sales1 owns or does not own it; the other roles are scoped to every customer anyway.
    created = admin.customers.create(customer_data(owner="sales1" if own else "sales2"))
    actor = session(user)
    audit_before = admin.db.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    if allowed:
        ACTIONS[action](actor, created.id)
    else:
        with pytest.raises(PermissionDenied):
            ACTIONS[action](actor, created.id)
        audit_after = admin.db.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        assert audit_after == audit_before, "a refused action must write nothing"


def test_sales_create_is_owned_by_them(session) -> None:
    rep = session("sales1")
    created = rep.customers.create(customer_data())
    assert created.owner == "sales1"
    with pytest.raises(PermissionDenied):
        rep.customers.create(customer_data(owner="sales2", phone="13900139000"))


def test_sales_find_sees_only_own(session) -> None:
    admin = session("admin")
    admin.customers.create(customer_data(name="Mine Co", owner="sales1"))
    admin.customers.create(customer_data(name="Theirs Co", owner="sales2", phone="13900139000"))
    names = {c.name for c in session("sales1").customers.find("co")}
    assert names == {"Mine Co"}


def test_unprivileged_never_receives_plaintext(session) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data(owner="sales1"))
    seen = session("service").customers.get(created.id)
    assert seen.phone == "138****8000"
    assert seen.email == "z***@example.com"


def test_only_admin_manages_users(session) -> None:
    for user in ("manager", "sales1", "service"):
        with pytest.raises(PermissionDenied):
            session(user).users.list()
