"""Admin jobs at scale: full and incremental backups, verify, drill, retention purge.

Targets (issue 5): an incremental after 1% of customers changed is at most 5% of the full
backup's size; a full backup of 1M customers takes at most 30 s.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

from bench.common import copy_of, open_db, print_table
from tui_crm import audit, retention
from tui_crm.backup import BackupStore
from tui_crm.db import Database

CHANGED_FRACTION = 0.01
POLICY = retention.Policy(years=2)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def change_customers(db: Database, fraction: float, seed: int = 5) -> int:
    """Edit a random `fraction` of customers as the app would: row, search doc, audit entry."""
    top = db.conn.execute("SELECT MAX(id) FROM customers").fetchone()[0]
    ids = random.Random(seed).sample(range(1, top + 1), int(top * fraction))
    now = dt.datetime.now().isoformat(timespec="seconds")
    for start in range(0, len(ids), 1000):
        with db.write() as tx:
            for customer_id in ids[start : start + 1000]:
                row = tx.execute(
                    "SELECT code, name, contact_name FROM customers WHERE id=?", (customer_id,)
                ).fetchone()
                if row is None:
                    continue
                tx.execute(
                    "UPDATE customers SET notes = notes || ' (edited)', contact_name = ?,"
                    " updated_at = ?, version = version + 1 WHERE id = ?",
                    (row["contact_name"] + " Jr", now, customer_id),
                )
                tx.execute("DELETE FROM customer_search WHERE rowid=?", (customer_id,))
                tx.execute(
                    "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
                    (customer_id, f"{row['code']} {row['name']} {row['contact_name']} Jr"),
                )
                audit.append(
                    tx,
                    db.keys,
                    at=now,
                    actor="bench",
                    action="customer.update",
                    entity="customer",
                    entity_id=customer_id,
                    customer_code=row["code"],
                    details={"fields": {"contact_name": ["x", "x Jr"]}},
                )
    return len(ids)


def run(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        db_path, key_path = copy_of(n, "admin")
        db = open_db(db_path, key_path)
        store = BackupStore(db_path.parent / "backups", db.keys)
        full_s, full = _timed(lambda db=db, store=store: store.create(db, full=True))
        changed = change_customers(db, CHANGED_FRACTION)
        incr_s, incr = _timed(lambda db=db, store=store: store.create(db, full=False))
        verify_s, check = _timed(lambda store=store, i=incr.id: store.verify(i))
        drill_s, drill = _timed(store.drill)
        with db.write() as tx:
            tx.execute(
                "UPDATE customers SET customer_type='churned', legal_hold=0,"
                " last_interaction_at='2015-01-01T00:00:00' WHERE id % 10 = 0"
            )
        due = retention.count(db, POLICY)
        purge_s, purged = _timed(
            lambda db=db, due=due: retention.purge(db, POLICY, due, actor="bench")
        )
        rows.append(
            [
                n,
                full_s,
                full.size / 1e6,
                changed,
                incr_s,
                incr.size / 1e6,
                f"{100 * incr.size / full.size:.2f}%",
                verify_s,
                "ok" if check.ok and drill.ok else "FAILED",
                drill_s,
                purged,
                purge_s,
            ]
        )
        db.close()
    print_table(
        "admin: backups, verify, drill, retention purge",
        [
            "customers",
            "full s",
            "full MB",
            "changed",
            "incr s",
            "incr MB",
            "incr/full",
            "verify s",
            "checks",
            "drill s",
            "purged",
            "purge s",
        ],
        rows,
    )
