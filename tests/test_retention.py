"""Retention purge: who goes, who stays, and no trace of the purged left in the file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import customer_data
from tui_crm import audit, retention
from tui_crm.db import Database, search_document
from tui_crm.retention import Policy, RetentionError
from tui_crm.service import Service

GONE_NAME = "Xylophone Quibble Ventures"
GONE_CN_NAME = "鸿鹄翱翔科技有限公司"
GONE_CONTACT = "Wilhelmina Zzyzx"
GONE_NOTE = "secret-handshake-4471"
GONE_FOLLOWUP = "discussed-the-marmalade-deal"


def insert_customer(
    db: Database,
    name: str,
    *,
    customer_type: str = "churned",
    last_interaction_at: str | None = "2019-03-01T10:00:00",
    created_at: str = "2018-01-01T09:00:00",
    legal_hold: int = 0,
    contact: str = "",
    notes: str = "",
) -> int:
    """A customer as an import of old records would write it (no audit history of its own)."""
    with db.write() as tx:
        row_id = tx.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers").fetchone()[0]
        code = f"C2018{row_id:06d}"
        tx.execute(
            "INSERT INTO customers(id, code, name, kind, contact_name, customer_type, notes,"
            " created_at, updated_at, last_interaction_at, legal_hold, phone_enc)"
            " VALUES (?, ?, ?, 'company', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row_id,
                code,
                name,
                contact,
                customer_type,
                notes,
                created_at,
                created_at,
                last_interaction_at,
                legal_hold,
                db.keys.encrypt("13700001111", "customers", "phone_enc", row_id),
            ),
        )
        tx.execute(
            "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
            (row_id, search_document(code, name, contact)),
        )
    return int(row_id)


def file_bytes(db: Database) -> bytes:
    data = db.path.read_bytes()
    wal = Path(f"{db.path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_preview_lists_only_eligible_with_reasons(db: Database) -> None:
    old = insert_customer(db, "Old Churned")
    never = insert_customer(db, "Never Contacted", last_interaction_at=None)
    insert_customer(db, "Held", legal_hold=1)
    insert_customer(db, "Recent", last_interaction_at="2099-01-01T00:00:00")
    insert_customer(db, "Still A Customer", customer_type="customer")
    insert_customer(db, "Recently Created", last_interaction_at=None, created_at="2099-01-01")
    found = retention.preview(db, Policy(years=2))
    assert [c.id for c in found] == [never, old]
    assert "no interaction since 2018-01-01" in found[0].reason
    assert retention.count(db, Policy(years=2)) == 2


def test_purge_leaves_no_plaintext_in_file_or_wal(db: Database) -> None:
    gone = insert_customer(db, GONE_NAME, contact=GONE_CONTACT, notes=GONE_NOTE)
    gone_cn = insert_customer(db, GONE_CN_NAME)
    held = insert_customer(db, "Held Harbour Co", legal_hold=1)
    recent = insert_customer(db, "Recent Rivers Co", last_interaction_at="2099-01-01T00:00:00")
    with db.write() as tx:  # old history, as an import of past records writes it
        tx.execute(
            "INSERT INTO followups(customer_id, at, channel, content) VALUES (?, ?, 'phone', ?)",
            (gone, "2019-01-01T00:00:00", GONE_FOLLOWUP),
        )
        tx.execute(
            "INSERT INTO interactions(customer_id, at, kind, detail) VALUES (?, ?, 'enquiry', ?)",
            (gone, "2019-01-01T00:00:00", GONE_FOLLOWUP),
        )
        tx.execute("INSERT INTO tags(tag_type, name) VALUES ('need', 'pricing')")
        tx.execute(
            "INSERT INTO customer_tags(customer_id, tag_id, set_at) VALUES (?, 1, '2019-01-01')",
            (gone,),
        )
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    assert GONE_NAME.encode() in file_bytes(db)

    assert retention.purge(db, Policy(), 2, actor="admin") == 2

    remaining = {r[0] for r in db.conn.execute("SELECT id FROM customers")}
    assert remaining == {held, recent}
    for table in ("followups", "interactions", "customer_tags"):
        assert db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert (
        db.conn.execute(
            "SELECT rowid FROM customer_search WHERE customer_search MATCH 'xylophone'"
        ).fetchall()
        == []
    )
    raw = file_bytes(db)
    for secret in (
        GONE_NAME,
        "Xylophone",
        "xylophone",
        GONE_CN_NAME,
        "鸿鹄",
        GONE_CONTACT,
        "zzyzx",
        GONE_NOTE,
        GONE_FOLLOWUP,
    ):
        assert secret.encode() not in raw, f"{secret!r} is still in the database file"

    entries = audit.query(db.conn, db.keys, audit.AuditFilter(action=retention.PURGE_ACTION))
    assert sorted(e.entity_id for e in entries) == sorted([gone, gone_cn])
    for entry in entries:
        assert set(entry.details) == {"reason", audit.DESTROYED_KEY}, "code and reason only"
        assert "churned" in entry.details["reason"]
    assert audit.verify(db.conn, db.keys).ok


def test_purge_of_a_customer_created_through_the_service_leaves_no_name(
    db: Database, session: Callable[[str], Service]
) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data(name=GONE_NAME))
    admin.activity.add_followup(created.id, channel="phone", content=GONE_FOLLOWUP)
    with db.write() as tx:
        tx.execute(
            "UPDATE customers SET customer_type='churned', last_interaction_at='2019-01-01'"
            " WHERE id=?",
            (created.id,),
        )
    before = admin.audit_log.entries(audit.AuditFilter(customer_code=created.code))
    assert any(GONE_NAME in str(e.details) for e in before)
    retention.purge(db, Policy(), 1, actor="admin")
    raw = file_bytes(db)
    assert GONE_NAME.encode() not in raw and GONE_FOLLOWUP.encode() not in raw
    after = admin.audit_log.entries(audit.AuditFilter(customer_code=created.code))
    assert after[0].action == retention.PURGE_ACTION
    assert all(e.details == audit.ERASED for e in after[1:])
    assert audit.verify(db.conn, db.keys).ok


def test_held_and_recent_customers_are_never_purged(db: Database) -> None:
    held = insert_customer(db, "Held", legal_hold=1, last_interaction_at="2000-01-01")
    recent = insert_customer(db, "Recent", last_interaction_at="2099-01-01T00:00:00")
    active = insert_customer(
        db, "Active", customer_type="customer", last_interaction_at="2000-01-01"
    )
    assert retention.purge(db, Policy(), 0, actor="admin") == 0
    remaining = {r[0] for r in db.conn.execute("SELECT id FROM customers")}
    assert remaining == {held, recent, active}


def test_wrong_confirmation_purges_nothing(db: Database) -> None:
    insert_customer(db, "Old One")
    insert_customer(db, "Old Two")
    with pytest.raises(RetentionError, match="2 customer"):
        retention.purge(db, Policy(), 3, actor="admin")
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 2


def test_interrupted_purge_leaves_a_consistent_database(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [insert_customer(db, f"Old {n}") for n in range(5)]
    monkeypatch.setattr(retention, "BATCH", 2)

    def stop_after_first_batch(fraction: float, message: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        retention.purge(db, Policy(), 5, actor="admin", progress=stop_after_first_batch)
    left = [r[0] for r in db.conn.execute("SELECT id FROM customers ORDER BY id")]
    assert left == ids[2:]
    purged_audit = audit.query(db.conn, db.keys, audit.AuditFilter(action=retention.PURGE_ACTION))
    assert sorted(e.entity_id for e in purged_audit) == ids[:2]
    conn = sqlite3.connect(db.path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT COUNT(*) FROM customer_search").fetchone()[0] == 3
    conn.close()
    assert audit.verify(db.conn, db.keys).ok
