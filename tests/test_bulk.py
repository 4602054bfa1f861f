"""The bulk write path: batched audit entries chain exactly like single ones, bulk-created
customers read back like saved ones, and the demo builder uses it and leaves every index."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import customer_data
from tui_crm import audit, bulk
from tui_crm import validation as v
from tui_crm.crypto import load_key_file
from tui_crm.db import Database, set_meta
from tui_crm.demo import build_demo
from tui_crm.search_text import search_document


def test_append_many_chains_like_append_and_seals_per_customer(db: Database) -> None:
    with db.write() as tx:
        audit.append(tx, db.keys, at="2026-01-01T00:00:00", actor="a", action="one")
        ids = audit.append_many(
            tx,
            db.keys,
            [
                audit.Entry("two", customer_code="C1", details={"name": "甲"}, sealed=True),
                audit.Entry("three", customer_code="C2", details={"name": "乙"}, sealed=True),
                audit.Entry("four", details={"n": 4}),
            ],
            at="2026-01-01T00:00:01",
            actor="b",
        )
        audit.append(tx, db.keys, at="2026-01-01T00:00:02", actor="a", action="five")
    assert ids == [2, 3, 4]
    assert audit.verify(db.conn, db.keys).ok
    raw = db.conn.execute("SELECT details FROM audit_log WHERE id=2").fetchone()[0]
    assert "甲" not in raw and raw.startswith('{"sealed": "')
    entries = {e.id: e for e in audit.query(db.conn, db.keys, audit.AuditFilter())}
    assert entries[2].details == {"name": "甲"} and entries[3].details == {"name": "乙"}
    with db.write() as tx:
        audit.forget_subject(tx, "C1")
    entries = {e.id: e for e in audit.query(db.conn, db.keys, audit.AuditFilter())}
    assert entries[2].details == audit.KEY_MISSING and entries[3].details == {"name": "乙"}


def test_bulk_customers_read_back_like_saved_ones(db: Database, session) -> None:
    clean = v.validate_customer(customer_data(phone="001-808-617-6467x12895"))
    with db.write() as tx:
        ((customer_id, code),) = bulk.insert_customers(
            tx,
            db.keys,
            [bulk.NewCustomer(clean, extra_contacts=[("Phone 2", "+442079460958")])],
            actor="bulk",
        )
    shown = session("admin").customers.get(customer_id)
    assert shown.code == code and shown.phone == "+180****6467 ext. 12895"
    assert session("admin").customers.find("6467")[0].id == customer_id
    assert session("admin").customers.find("Acme")[0].id == customer_id
    row = db.conn.execute("SELECT * FROM customers WHERE id=?", (customer_id,)).fetchone()
    assert bulk.decrypt_extra_contacts(db.keys, row) == [("Phone 2", "+442079460958")]
    (entry,) = audit.query(db.conn, db.keys, audit.AuditFilter(customer_code=code))
    assert entry.action == "customer.create"
    assert entry.details["fields"]["phone"] == [None, "+180****6467 ext. 12895"]
    assert entry.details["extra_contacts"] == [["Phone 2", "+442****0958"]]


def _new_customers(count: int) -> list[bulk.NewCustomer]:
    return [
        bulk.NewCustomer(
            v.validate_customer(customer_data(name=f"客户{n}", phone=f"1380013{n:04d}")),
            extra_contacts=[("Email 2", f"x{n}@example.com")] if n % 3 == 0 else (),
        )
        for n in range(count)
    ]


def test_a_big_batch_logs_changes_like_the_triggers_and_keeps_them(db: Database) -> None:
    """Past `CHANGE_LOG_PER_BATCH_FROM` rows the change-log insert triggers are swapped for
    one statement per table inside the transaction: same change_log rows, triggers back."""
    triggers = "SELECT name, sql FROM sqlite_master WHERE type='trigger' ORDER BY name"
    before = db.conn.execute(triggers).fetchall()
    logged = "SELECT tbl, row_id FROM change_log WHERE tbl IN ('customers', 'customer_keys')"
    results = []
    for count in (3, bulk.CHANGE_LOG_PER_BATCH_FROM + 7):
        with db.write() as tx:
            tx.execute("DELETE FROM change_log")
            set_meta(tx, "change_tracking", "1")
            written = bulk.insert_customers(tx, db.keys, _new_customers(count), actor="bulk")
        rows = sorted(tuple(r) for r in db.conn.execute(logged))
        ids = [customer_id for customer_id, _code in written]
        codes = [code for _id, code in written]
        marks = ",".join("?" * len(codes))
        query = f"SELECT id FROM customer_keys WHERE customer_code IN ({marks})"
        keys = [r[0] for r in db.conn.execute(query, codes)]
        assert rows == sorted(
            [("customer_keys", k) for k in keys] + [("customers", i) for i in ids]
        )
        results.append(len(rows))
    assert results == [6, 2 * (bulk.CHANGE_LOG_PER_BATCH_FROM + 7)]
    assert db.conn.execute(triggers).fetchall() == before
    with db.write() as tx:
        tx.execute("DELETE FROM change_log")
        set_meta(tx, "change_tracking", "0")
        bulk.insert_customers(tx, db.keys, _new_customers(600), actor="bulk")
    assert db.conn.execute(logged).fetchall() == []
    assert audit.verify(db.conn, db.keys).ok


def test_a_failed_batch_leaves_nothing_and_keeps_the_triggers(db: Database) -> None:
    triggers = "SELECT name, sql FROM sqlite_master WHERE type='trigger' ORDER BY name"
    before = db.conn.execute(triggers).fetchall()
    customers = _new_customers(bulk.CHUNK + 10)
    customers[-1].values = {**customers[-1].values, "customer_type": "nonsense"}  # CHECK fails
    with ThreadPoolExecutor(1) as writer, pytest.raises(sqlite3.IntegrityError), db.write() as tx:
        bulk.insert_customers(tx, db.keys, customers, actor="bulk", writer=writer)
    assert db.conn.execute(triggers).fetchall() == before
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0
    assert audit.verify(db.conn, db.keys).ok


def test_demo_builds_through_the_bulk_path_with_every_index(tmp_path: Path) -> None:
    stats = build_demo(tmp_path / "demo.db", tmp_path / "demo.key", customers=1200, seed=3)
    db = Database.open(tmp_path / "demo.db", load_key_file(tmp_path / "demo.key"))
    fresh = Database.create(tmp_path / "fresh.db", db.keys)
    schema = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
    assert sorted(map(tuple, db.conn.execute(schema))) == sorted(
        map(tuple, fresh.conn.execute(schema))
    )
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == stats.customers
    keys = db.conn.execute("SELECT COUNT(*) FROM customer_keys").fetchone()[0]
    creates = db.conn.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action='customer.create'"
    ).fetchone()[0]
    assert keys == creates == 1200
    figures = (
        "SELECT id, order_total_cents, order_count, first_order_at, second_order_at,"
        " last_order_at, first_interest_at FROM customers ORDER BY id"
    )
    counted_once = db.conn.execute(figures).fetchall()
    assert sum(row["order_count"] for row in counted_once) > 0
    with db.write() as tx:  # the same history again, one row at a time through the triggers
        for table in ("interactions", "followups"):
            tx.execute(f"CREATE TEMP TABLE history_{table} AS SELECT * FROM {table}")
            tx.execute(f"DELETE FROM {table}")
        assert tx.execute("SELECT MAX(order_count) FROM customers").fetchone()[0] == 0
        for table in ("interactions", "followups"):
            tx.execute(f"INSERT INTO {table} SELECT * FROM temp.history_{table} ORDER BY id")
    assert db.conn.execute(figures).fetchall() == counted_once
    assert audit.verify(db.conn, db.keys).ok
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()
    fresh.close()


def test_demo_workers_make_the_same_customers_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_crm import demo

    monkeypatch.setattr(demo, "BATCH", 400)
    read = "SELECT code, name, contact_name, created_at, owner_id FROM customers ORDER BY id"
    built = {}
    for workers in (0, 2):
        folder = tmp_path / str(workers)
        build_demo(folder / "demo.db", folder / "demo.key", customers=1000, seed=5, workers=workers)
        db = Database.open(folder / "demo.db", load_key_file(folder / "demo.key"))
        built[workers] = db.conn.execute(read).fetchall()
        assert len(built[workers]) == 1000
        assert audit.verify(db.conn, db.keys).ok
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    assert [tuple(r) for r in built[0]] == [tuple(r) for r in built[2]]


def test_prepared_customers_are_written_only_at_the_ids_they_were_made_for(
    db: Database,
) -> None:
    customers = _new_customers(3)
    with db.write() as tx:
        ids = bulk.reserve_ids(tx, 3, 2026)
    prepared = bulk.prepare_customers(db.keys, customers, ids, 0, v.now())
    with db.write() as tx:
        bulk.insert_customers(tx, db.keys, _new_customers(1), actor="form")
    with pytest.raises(bulk.BulkConflict), db.write() as tx:
        bulk.write_prepared(tx, db.keys, [prepared], actor="bulk", at=v.now())
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 1
    assert audit.verify(db.conn, db.keys).ok


def test_a_search_text_made_ahead_gives_the_document_made_when_written() -> None:
    from tests.conftest import hostile_strings

    texts = [entry["text"] for entry in hostile_strings()] + ["张伟", "北京京科科技有限公司", ""]
    for name in texts:
        for contact in ("", "欧阳娜娜", name):
            for kind in ("person", "company", None):
                values = {"name": name or "x", "contact_name": contact, "kind": kind}
                ahead = bulk.search_text_of(values)
                written = search_document("C2026000001", values["name"], contact, kind)
                assert not ahead or f"C2026000001 {ahead}" == written


def test_import_creates_index_the_text_made_by_the_cleaning_worker(db: Database) -> None:
    customers = _new_customers(4)
    customers[1].search_text = bulk.search_text_of(customers[1].values)
    with db.write() as tx:
        written = bulk.insert_customers(tx, db.keys, customers, actor="bulk")
    docs = dict(db.conn.execute("SELECT rowid, doc FROM customer_search").fetchall())
    for customer, (customer_id, code) in zip(customers, written, strict=True):
        v_ = customer.values
        expected = search_document(code, v_["name"], v_.get("contact_name", ""), v_.get("kind"))
        assert docs[customer_id] == expected


def test_demo_customers_pass_the_forms_rules() -> None:
    import datetime as dt
    import random

    from tui_crm.demo import _customer, _Pools

    rng = random.Random(11)
    pools = _Pools(rng, 11)
    for serial in range(3000):
        values = _customer(pools, rng, serial, [1], dt.date.today())
        values.pop("days_back")
        v.validate_customer(values)


def test_nonces_are_never_handed_out_twice_not_even_across_a_fork() -> None:
    from tui_crm import crypto

    seen = {crypto.random_nonce() for _ in range(3 * crypto.NONCE_POOL_BYTES)}
    assert len(seen) == 3 * crypto.NONCE_POOL_BYTES
    crypto.random_nonce()  # the pool now has bytes left that a forked child must not reuse
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, crypto.random_nonce())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64) != crypto.random_nonce()


def test_a_worker_ends_when_the_process_it_works_for_is_killed() -> None:
    """kill -9 of an import cannot stop its pool: the worker must notice and end (before,
    it and its forkserver lived on with ~150 MB)."""
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.worker_parent"], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    assert bulk.alive(worker)
    parent.kill()
    parent.wait()
    for _ in range(600):  # a generous bound on a busy machine, not a speed check
        if not bulk.alive(worker) or _zombie(worker):
            break
        time.sleep(0.1)
    assert not bulk.alive(worker) or _zombie(worker)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
