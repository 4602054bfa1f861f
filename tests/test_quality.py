"""The cleaning report on a real database with messy data: duplicates and merges, missing
shares, stored values that fail today's rules (never shown), anomalies, no contact."""

from __future__ import annotations

import json

import pytest

from tests.records import add_customer, add_order, user_id
from tui_crm import merge, quality
from tui_crm.db import Database


@pytest.fixture
def messy(db: Database) -> dict[str, int]:
    ids = {
        "acme": add_customer(
            db,
            name="Acme Trading Co., Ltd.",
            phone="13800138000",
            email="ops@acme.example",
            company_size="10-49",
        ),
        "acme2": add_customer(db, name="ACME Trading", phone="138 0013 8000"),
        "star": add_customer(
            db, name="北京星辰科技有限公司", email="li@xc.example", credit_code="91110108MA01ABCD84"
        ),
        "star2": add_customer(db, name="北京星辰科技", email="wang@xc.example"),
        "person": add_customer(
            db,
            owner="sales2",
            name="王芳",
            kind="person",
            phone="13900139000",
            id_number="110101199003071233",
        ),
        "orders": add_customer(db, owner=None, name="Big Buyer Ltd", email="buy@big.example"),
    }
    for amount in (100_00, 120_00, 80_00, 5_000_00):
        add_order(db, ids["orders"], "2025-06-01T10:00:00", amount)
    add_order(db, ids["orders"], "2025-06-02T10:00:00", -50_00)
    add_order(db, ids["orders"], "2025-06-03T10:00:00", None)
    # values that slipped in around the rules (an old version, a hand-edited file)
    with db.write() as tx:
        bad_phone = db.keys.encrypt("12345", "customers", "phone_enc", ids["star2"])
        odd_email = db.keys.encrypt("Wang@XC.example", "customers", "email_enc", ids["star2"])
        tx.execute(
            "UPDATE customers SET phone_enc=?, email_enc=?, industry='Z', source='telepathy',"
            " company_size='huge', name=' 北京星辰科技 ' WHERE id=?",
            (bad_phone, odd_email, ids["star2"]),
        )
        tx.execute(
            "UPDATE customers SET phone_enc=NULL, phone_bidx=NULL, credit_code='91110108MA01ABCD80'"
            " WHERE id=?",
            (ids["person"],),
        )
    return ids


def test_the_whole_report(db: Database, messy: dict[str, int]) -> None:
    report = quality.quality_report(db.conn, db.keys)
    assert report.customers == 6
    assert report.duplicate_candidates == 2
    assert report.duplicates_by_reason == {"phone+name": 1, "name": 1}
    assert report.merged == 0
    missing = {m.field: (m.missing, m.applicable, m.share) for m in report.missing}
    assert missing["phone"] == (3, 6, 0.5)
    assert missing["id_number"] == (0, 1, 0.0)
    assert missing["credit_code"] == (4, 5, 0.8)
    assert missing["company_size"] == (3, 5, 0.6)  # "huge" is there, if invalid
    assert missing["owner"] == (1, 6, 0.1667)
    code = {
        i: db.conn.execute("SELECT code FROM customers WHERE id=?", (i,)).fetchone()[0]
        for i in messy.values()
    }
    invalid = {(i.field, i.reason): i.examples for i in report.invalid}
    star2, person = code[messy["star2"]], code[messy["person"]]
    assert invalid[("phone", "not a valid phone number")] == (star2,)
    assert invalid[("email", "not in its normal form")] == (star2,)
    assert invalid[("industry", "must be a GB/T 4754 section letter A–T")] == (star2,)
    assert (
        "source",
        "must be one of: online ad, trade show, referral, cold call, website, other",
    ) in invalid
    assert invalid[("name", "not in its normal form")] == (star2,)
    assert invalid[("company_size", "must be one of: 1-9, 10-49, 50-249, 250-999, 1000+")] == (
        star2,
    )
    assert invalid[("credit_code", "is not a valid unified social credit code")] == (person,)
    assert invalid[("credit_code", "is for companies; persons have an ID number")] == (person,)
    assert report.anomaly_counts == {
        "negative_amount": 1,
        "order_without_amount": 1,
        "order_over_10x_average": 1,
    }
    big = next(a for a in report.anomalies if a.kind == "order_over_10x_average")
    assert (big.amount_cents, big.average_cents) == (5_000_00, 100_00)
    assert (report.no_contact, report.no_contact_examples) == (1, (person,))
    assert invalid[("phone", "a phone or an email is required")] == (person,)
    text = json.dumps(report.to_dict(), ensure_ascii=False)
    for secret in (
        "12345",
        "Wang@XC",
        "wang@xc",
        "13900139000",
        "110101199003071233",
        "13800138000",
    ):
        assert secret not in text
    assert json.loads(text)["missing"][3] == {
        "field": "phone",
        "missing": 3,
        "applicable": 6,
        "share": 0.5,
    }


def test_merges_and_missing_contact_are_counted(db: Database, messy: dict[str, int]) -> None:
    with db.write() as tx:
        merge.merge_customers(tx, db.keys, messy["acme"], messy["acme2"], actor="manager")
        tx.execute("UPDATE customers SET email_enc=NULL WHERE id=?", (messy["orders"],))
    report = quality.quality_report(db.conn, db.keys)
    assert report.merged == 1
    assert report.duplicates_by_reason == {"name": 1}
    assert report.no_contact == 2
    assert {i.field: i.count for i in report.invalid if i.reason.startswith("a phone")} == {
        "phone": 2
    }


def test_restricted_to_an_import_runs_customers(db: Database, messy: dict[str, int]) -> None:
    report = quality.quality_report(
        db.conn, db.keys, customer_ids=[messy["acme2"], messy["orders"]]
    )
    assert report.customers == 2
    assert report.duplicates_by_reason == {"phone+name": 1}
    assert report.anomaly_counts["negative_amount"] == 1
    assert report.invalid == ()
    assert (
        db.conn.execute(
            "SELECT count(*) FROM temp.sqlite_master WHERE name LIKE 'quality_scope_%'"
        ).fetchone()[0]
        == 0
    )
    empty = quality.quality_report(db.conn, db.keys, customer_ids=[])
    assert (
        empty.customers,
        empty.duplicate_candidates,
        empty.anomaly_counts["negative_amount"],
    ) == (0, 0, 0)


def test_restricted_to_one_owner(db: Database, messy: dict[str, int]) -> None:
    report = quality.quality_report(db.conn, db.keys, owner_id=user_id(db, "sales2"))
    assert report.customers == 1 and report.duplicate_candidates == 0
    assert report.anomaly_counts["negative_amount"] == 0
