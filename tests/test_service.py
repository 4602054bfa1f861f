"""Logins, optimistic concurrency, child records and validation through the service."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, customer_data
from tui_crm import validation as v
from tui_crm.crypto import load_key_file
from tui_crm.db import Database
from tui_crm.service import LOGIN_FAILED, AuthError, ConflictError, Service
from tui_crm.service.session import UNKNOWN_USER


def _actions(db: Database) -> list[tuple[str, str]]:
    return [
        (r["actor"], r["action"]) for r in db.conn.execute("SELECT * FROM audit_log ORDER BY id")
    ]


def test_login_good_and_bad_are_audited(db: Database) -> None:
    service = Service.login(db, "sales1", PASSWORD, failure_delay=0)
    assert service.user.role == "sales"
    with pytest.raises(AuthError, match="Wrong username or password"):
        Service.login(db, "sales1", "wrong", failure_delay=0)
    with pytest.raises(AuthError, match="Wrong username or password"):
        Service.login(db, "nobody", "wrong", failure_delay=0)
    assert _actions(db) == [
        ("sales1", "login"),
        ("sales1", "login.failed"),
        (UNKNOWN_USER, "login.failed"),
    ]


def test_disabled_user_cannot_log_in_and_last_admin_is_kept(db: Database, session) -> None:
    admin = session("admin")
    admin.users.set_active("sales2", False)
    with pytest.raises(AuthError) as refused:
        Service.login(db, "sales2", PASSWORD, failure_delay=0)
    assert str(refused.value) == LOGIN_FAILED, "a disabled account answers like any failure"
    with pytest.raises(Exception, match="no active admin"):
        admin.users.set_active("admin", False)


def test_password_policy_outside_demo(session) -> None:
    with pytest.raises(v.ValidationError, match="at least 10"):
        session("admin").users.add("eve", "sales", "demo")
    session("admin").users.add("eve", "sales", "Longer-pass-42")


def test_stale_save_is_a_conflict_never_an_overwrite(db: Database, session) -> None:
    first, second = session("manager"), session("admin")
    created = first.customers.create(customer_data())
    first.customers.update(created.id, {"notes": "first"}, created.version)
    with pytest.raises(ConflictError) as caught:
        second.customers.update(created.id, {"notes": "second"}, created.version)
    assert caught.value.current.notes == "first"
    assert first.customers.get(created.id).notes == "first"
    second.customers.update(created.id, {"notes": "second"}, caught.value.current.version)
    assert first.customers.get(created.id).notes == "second"


def test_update_records_before_and_after(db: Database, session) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data())
    admin.customers.update(created.id, {"name": "Acme Two", "owner": "sales1"}, created.version)
    entry = admin.audit_log.entries(__import__("tui_crm.audit").audit.AuditFilter(), limit=1)[0]
    assert entry.details["fields"]["name"] == ["Acme Trading Ltd", "Acme Two"]
    assert entry.details["fields"]["owner"] == ["", "sales1"]


def test_failed_write_leaves_database_as_it_was(db: Database, session) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data())
    with pytest.raises(v.FormErrors) as caught:
        admin.customers.update(created.id, {"phone": "", "email": ""}, created.version)
    assert "phone" in caught.value.errors
    assert admin.customers.get(created.id).version == created.version


def test_followups_keep_last_interaction_and_next_plan_current(session) -> None:
    rep = session("sales1")
    created = rep.customers.create(customer_data())
    rep.activity.add_followup(
        created.id,
        channel="phone",
        content="rang",
        next_followup_date="2099-01-02",
        at="2026-05-01T10:00:00",
    )
    rep.activity.add_interaction(
        created.id, kind="order", detail="PO 17", amount="1200.50", at="2026-06-01T10:00:00"
    )
    rep.activity.add_followup(
        created.id,
        channel="visit",
        content="old note",
        at="2026-01-01T10:00:00",
        next_followup_date="2099-03-04",
    )
    after = rep.customers.get(created.id)
    assert after.last_interaction_at == "2026-06-01T10:00:00"
    assert after.next_followup_at == "2099-03-04"
    timeline = rep.activity.timeline(created.id)
    assert [e.kind for e in timeline] == ["order", "phone", "visit"]
    assert timeline[0].amount_cents == 120050


def test_child_records_validate_every_field(session) -> None:
    rep = session("sales1")
    created = rep.customers.create(customer_data())
    with pytest.raises(v.FormErrors) as caught:
        rep.activity.add_followup(
            created.id, channel="fax", content="", next_followup_date="2020-13-01"
        )
    assert set(caught.value.errors) == {"channel", "content", "next_followup_date"}
    with pytest.raises(v.FormErrors) as caught:
        rep.activity.add_interaction(created.id, kind="order", detail="x", amount="")
    assert "amount" in caught.value.errors


def test_tags_add_remove(session) -> None:
    rep = session("sales1")
    created = rep.customers.create(customer_data())
    tag = rep.tags.add(created.id, "need", "purchase need")
    rep.tags.add(created.id, "need", "purchase need")
    assert [t.name for t in rep.customers.get(created.id).tags] == ["purchase need"]
    rep.tags.remove(created.id, tag.id)
    assert rep.customers.get(created.id).tags == ()
    assert [t.name for t in rep.tags.suggest("purch")] == ["purchase need"]


def test_find_by_blind_index_tail_code_and_name(session) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data(name="北京科技有限公司", contact_name="张伟"))
    for text in (
        "138 0013 8000",
        "ZED@example.com",
        "8000",
        created.code,
        "北京",
        "张",
        "科技有限",
    ):
        assert [c.code for c in admin.customers.find(text)] == [created.code], text


def _writer(db_path: str, key_path: str, worker: int, count: int) -> None:
    db = Database.open(Path(db_path), load_key_file(Path(key_path)))
    row = db.conn.execute("SELECT id FROM users WHERE username='admin'").fetchone()
    from tui_crm.roles import Role
    from tui_crm.service import UserInfo

    service = Service(db, UserInfo(row[0], "admin", Role.ADMIN))
    customer_id = service.customers.find("13800138000")[0].id
    for i in range(count):
        service.activity.add_followup(customer_id, channel="phone", content=f"w{worker} n{i}")


def test_concurrent_processes_lose_nothing(db: Database, session, tmp_path: Path) -> None:
    session("admin").customers.create(customer_data())
    key_path = tmp_path / "keys" / "crm.key"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_writer, args=(str(db.path), str(key_path), w, 200))
        for w in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert db.conn.execute("SELECT COUNT(*) FROM followups").fetchone()[0] == 800
    from tui_crm import audit

    assert audit.verify(db.conn, db.keys).ok


def test_find_person_by_id_number_and_scope_in_sql(session) -> None:
    admin = session("admin")
    person = admin.customers.create(
        customer_data(name="Wang Wu", kind="person", owner="sales1", id_number="11010519491231002X")
    )
    assert [c.code for c in admin.customers.find("11010519491231002x")] == [person.code]
    for n in range(25):
        admin.customers.create(
            customer_data(name=f"Common {n}", phone=f"1390013{n:04d}", owner="sales2")
        )
    admin.customers.create(customer_data(name="Common Mine", phone="13700137000", owner="sales1"))
    assert [c.name for c in session("sales1").customers.find("common")] == ["Common Mine"]
