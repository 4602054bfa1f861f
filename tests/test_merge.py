"""Merging two customers on a real database: chosen values (sensitive ones re-encrypted for
the survivor), moved life-cycle, united tags, recomputed dates, the old code resolving,
both codes audited, the old audit key kept readable and shredded with the survivor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.records import add_customer, add_followup, add_order, add_tag, user_id
from tui_crm import audit, listing, merge, retention
from tui_crm import validation as v
from tui_crm.backup import BackupStore
from tui_crm.db import Database, resolve_code
from tui_crm.listing import CustomerQuery
from tui_crm.roles import Action, allows


def row(db: Database, customer_id: int) -> dict:
    found = db.conn.execute("SELECT * FROM customers WHERE id=?", (customer_id,)).fetchone()
    return dict(found) if found else {}


def plain(db: Database, customer_id: int, name: str) -> str | None:
    blob = row(db, customer_id)[f"{name}_enc"]
    return db.keys.decrypt(blob, "customers", f"{name}_enc", customer_id)


def entries(db: Database, code: str) -> list[audit.AuditEntry]:
    return audit.query(db.conn, db.keys, audit.AuditFilter(customer_code=code))


@pytest.fixture
def pair(db: Database) -> tuple[int, int]:
    survivor = add_customer(
        db,
        name="北京星辰科技有限公司",
        phone="13800138000",
        contact_name="李娜",
        industry="I",
        last_interaction_at="2025-02-01T10:00:00",
        next_followup_at="2026-09-01",
    )
    merged = add_customer(
        db,
        owner="sales2",
        name="北京星辰科技",
        phone="13900139000",
        email="Li.Na@XingChen.example",
        address="北京市海淀区中关村大街1号",
        credit_code="91110108MA01ABCD84",
        notes="Imported from the old CRM",
        created_at="2024-06-01T08:00:00",
        next_followup_at="2026-08-15",
    )
    add_followup(db, survivor, "2025-02-01T10:00:00")
    add_followup(db, merged, "2025-05-05T15:30:00", "2026-08-15")
    add_order(db, merged, "2025-04-01T09:00:00", 120_000)
    add_tag(db, survivor, "value", "high value")
    add_tag(db, merged, "value", "high value")
    add_tag(db, merged, "need", "采购需求")
    return survivor, merged


def do_merge(db: Database, survivor: int, merged: int, **kwargs) -> merge.MergeResult:
    with db.write() as tx:
        return merge.merge_customers(tx, db.keys, survivor, merged, actor="manager", **kwargs)


def test_side_by_side_defaults_fill_the_survivors_blanks(db: Database, pair) -> None:
    survivor, merged = pair
    view = {c.field: c for c in merge.side_by_side(db.conn, db.keys, survivor, merged)}
    assert view["name"].survivor == "北京星辰科技有限公司" and view["name"].default == "survivor"
    assert view["phone"].merged == "13900139000" and view["phone"].default == "survivor"
    assert view["email"].survivor == "" and view["email"].default == "merged"
    assert view["email"].merged == "li.na@xingchen.example"
    assert view["credit_code"].default == "merged"
    assert view["owner_id"].default == "survivor"


def test_merge_moves_everything_and_keeps_the_chosen_values(db: Database, pair) -> None:
    survivor, merged = pair
    before = row(db, survivor)
    result = do_merge(
        db,
        survivor,
        merged,
        choices={"phone": "merged", "owner_id": "merged"},
        expected_versions=(1, 1),
    )
    after = row(db, survivor)
    assert row(db, merged) == {}
    assert (result.followups, result.interactions, result.tags) == (1, 1, 1)
    assert after["version"] == before["version"] + 1 == result.version
    assert after["owner_id"] == user_id(db, "sales2")
    # values from the merged-away record are re-encrypted for the survivor's row
    assert plain(db, survivor, "phone") == "13900139000"
    assert plain(db, survivor, "email") == "li.na@xingchen.example"
    assert plain(db, survivor, "address") == "北京市海淀区中关村大街1号"
    assert after["phone_last4"] == "9000"
    assert after["phone_bidx"] == db.keys.blind_index("phone", "13900139000")
    assert after["email_bidx"] == db.keys.blind_index("email", "li.na@xingchen.example")
    assert after["credit_code"] == "91110108MA01ABCD84"
    assert after["notes"] == "Imported from the old CRM"
    assert after["name"] == "北京星辰科技有限公司" and after["contact_name"] == "李娜"
    # dates: the earliest creation, the latest activity, the sooner plan
    assert after["created_at"] == "2024-06-01T08:00:00"
    assert after["last_interaction_at"] == "2025-05-05T15:30:00"
    assert after["next_followup_at"] == "2026-08-15"
    counts = {
        t: db.conn.execute(f"SELECT count(*) FROM {t} WHERE customer_id=?", (survivor,)).fetchone()[
            0
        ]
        for t in ("followups", "interactions", "customer_tags")
    }
    assert counts == {"followups": 2, "interactions": 1, "customer_tags": 2}
    orphans = db.conn.execute(
        "SELECT (SELECT count(*) FROM followups WHERE customer_id=:m)"
        " + (SELECT count(*) FROM interactions WHERE customer_id=:m)"
        " + (SELECT count(*) FROM customer_tags WHERE customer_id=:m)"
        " + (SELECT count(*) FROM customer_search WHERE rowid=:m)",
        {"m": merged},
    ).fetchone()[0]
    assert orphans == 0
    assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_merged_away_code_keeps_resolving(db: Database, pair) -> None:
    survivor, merged = pair
    old_code = row(db, merged)["code"]
    do_merge(db, survivor, merged)
    assert resolve_code(db.conn, old_code) == survivor
    assert resolve_code(db.conn, f"  {old_code.lower()} ") == survivor
    assert resolve_code(db.conn, row(db, survivor)["code"]) == survivor
    assert resolve_code(db.conn, "C2026999999") is None
    found = listing.page(db.conn, db.keys, CustomerQuery(text=old_code), None)
    assert [r["id"] for _, r in found] == [survivor]
    assert listing.count(db.conn, db.keys, CustomerQuery(text=old_code), None) == (1, False)
    sales2 = user_id(db, "sales2")
    assert listing.page(db.conn, db.keys, CustomerQuery(text=old_code), sales2) == []
    # the survivor is found by the email it took from the merged-away record
    by_email = listing.page(db.conn, db.keys, CustomerQuery(text="li.na@xingchen.example"), None)
    assert [r["id"] for _, r in by_email] == [survivor]


def test_a_chain_of_merges_resolves_every_code_to_the_last_survivor(db: Database) -> None:
    a = add_customer(db, name="Acme A", phone="13800138001")
    b = add_customer(db, name="Acme B", phone="13800138002")
    c = add_customer(db, name="Acme C", phone="13800138003")
    code_a, code_b = row(db, a)["code"], row(db, b)["code"]
    do_merge(db, b, a)
    do_merge(db, c, b)
    assert resolve_code(db.conn, code_a) == c
    assert resolve_code(db.conn, code_b) == c
    shred = dict(db.conn.execute("SELECT customer_code, shred_with FROM customer_keys").fetchall())
    assert shred == {
        code_a: row(db, c)["code"],
        code_b: row(db, c)["code"],
        row(db, c)["code"]: None,
    }


def test_both_codes_are_audited_and_old_entries_stay_readable(db: Database, pair) -> None:
    survivor, merged = pair
    old_code, code = row(db, merged)["code"], row(db, survivor)["code"]
    result = do_merge(db, survivor, merged, choices={"phone": "merged"})
    mine = entries(db, code)
    assert mine[0].action == merge.MERGE_ACTION and mine[0].actor == "manager"
    assert mine[0].details["merged"] == old_code
    assert mine[0].details["moved"] == {"followups": 1, "interactions": 1, "tags": 1}
    assert mine[0].details["fields"]["phone"] == ["138****8000", "139****9000"]
    assert mine[0].details["fields"] == result.fields
    theirs = entries(db, old_code)
    assert [e.action for e in theirs] == [merge.MERGED_AWAY_ACTION, "customer.create"]
    assert theirs[0].details["into"] == code
    assert theirs[1].details == {"name": "北京星辰科技"}  # sealed under its own key, readable
    raw = b"".join(r[0].encode() for r in db.conn.execute("SELECT details FROM audit_log"))
    for secret in ("13900139000", "li.na@xingchen.example", "中关村大街", "北京星辰科技"):
        assert secret.encode() not in raw
    assert audit.verify(db.conn, db.keys).ok


def test_purging_the_survivor_shreds_both_audit_keys(db: Database, pair) -> None:
    survivor, merged = pair
    old_code, code = row(db, merged)["code"], row(db, survivor)["code"]
    do_merge(db, survivor, merged)
    with db.write() as tx:
        tx.execute(
            "UPDATE customers SET customer_type='churned', last_interaction_at='2020-01-01'"
            " WHERE id=?",
            (survivor,),
        )
    assert retention.purge(db, retention.Policy(years=2), 1, actor="admin") == 1
    assert db.conn.execute("SELECT count(*) FROM customer_keys").fetchone()[0] == 0
    assert db.conn.execute("SELECT count(*) FROM customer_aliases").fetchone()[0] == 0
    assert resolve_code(db.conn, old_code) is None
    for c in (old_code, code):
        sealed = [e for e in entries(db, c) if e.action != retention.PURGE_ACTION]
        assert sealed and all(e.details == audit.ERASED for e in sealed)
    assert audit.verify(db.conn, db.keys).ok


def test_a_stale_version_is_a_conflict_and_changes_nothing(db: Database, pair) -> None:
    survivor, merged = pair
    with pytest.raises(merge.MergeConflict):
        do_merge(db, survivor, merged, expected_versions=(1, 0))
    assert row(db, merged) and row(db, survivor)["version"] == 1


def test_an_invalid_result_is_refused_by_field(db: Database, pair) -> None:
    survivor, merged = pair
    person = add_customer(db, name="王芳", kind="person", phone="13700137000")
    audit_rows = db.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with pytest.raises(v.FormErrors) as refused:
        do_merge(db, person, merged, choices={"credit_code": "merged"})
    assert set(refused.value.errors) == {"credit_code"}
    with pytest.raises(merge.MergeError, match="wishes"):
        do_merge(db, survivor, merged, choices={"wishes": "merged"})
    with pytest.raises(merge.MergeError, match="name"):
        do_merge(db, survivor, merged, choices={"name": "both"})  # type: ignore[dict-item]
    with pytest.raises(merge.MergeError, match="itself"):
        do_merge(db, survivor, survivor)
    with pytest.raises(merge.MergeError, match="999"):
        do_merge(db, survivor, 999)
    assert db.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_rows
    assert row(db, merged)["version"] == 1
    assert db.conn.execute("SELECT count(*) FROM customer_aliases").fetchone()[0] == 0


def test_legal_hold_survives_and_the_hold_is_never_lost(db: Database) -> None:
    a = add_customer(db, name="Hold Ltd", phone="13800138001")
    b = add_customer(db, name="Hold Limited", phone="13800138002")
    with db.write() as tx:
        tx.execute("UPDATE customers SET legal_hold=1 WHERE id=?", (b,))
    do_merge(db, a, b)
    assert row(db, a)["legal_hold"] == 1


def test_hostile_names_merge_like_any_other(db: Database) -> None:
    from tests.conftest import hostile_strings

    texts = [item["text"] for item in hostile_strings()]
    a = add_customer(db, name=texts[0], phone="13800138001")
    b = add_customer(db, name=texts[2], phone="13800138002", notes=texts[8])
    result = do_merge(db, a, b, choices={"name": "merged"})
    assert row(db, a)["name"] == v.clean_name(texts[2])
    assert row(db, a)["notes"] == v.clean_text(texts[8], multiline=True)
    assert result.fields["name"] == [v.clean_name(texts[0]), v.clean_name(texts[2])]
    assert dt.datetime.fromisoformat(row(db, a)["updated_at"])


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [
        ("admin", True, True),
        ("manager", True, True),
        ("sales", True, False),
        ("service", False, False),
    ],
)
def test_who_may_merge(role: str, own: bool, other: bool) -> None:
    """The rule the service applies to both customers of a merge."""
    assert allows(role, Action.CUSTOMER_MERGE, owns=True) is own
    assert allows(role, Action.CUSTOMER_MERGE, owns=False) is other


def test_incremental_backups_carry_merges(db: Database, pair, tmp_path: Path) -> None:
    survivor, merged = pair
    store = BackupStore(tmp_path / "backups", db.keys)
    store.create(db, full=True)
    old_code = row(db, merged)["code"]
    do_merge(db, survivor, merged)
    incremental = store.create(db, full=False)
    assert incremental.kind == "incremental"
    store.restore(incremental.id, tmp_path / "restored.db")
    copy = Database.open(tmp_path / "restored.db", db.keys)
    assert resolve_code(copy.conn, old_code) == survivor
    assert (
        copy.conn.execute(
            "SELECT shred_with FROM customer_keys WHERE customer_code=?", (old_code,)
        ).fetchone()[0]
        == row(db, survivor)["code"]
    )
    copy.close()
