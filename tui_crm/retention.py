"""Retention purge: churned customers long without contact and not on legal hold.

Each customer goes in the same transaction as its audit entry (code and reason only, no
personal data); batches commit one after another, so an interruption leaves every customer
either whole or wholly gone. Afterwards the search index is merged into one segment (FTS5
keeps deleted tokens in old segments until they are merged) and the WAL is checkpointed
and truncated; `secure_delete` (set on every connection) zeroes the freed pages.

A purge refuses to start while a backup's or restore's staged copy of the database exists
(see `staging`): that copy would keep the purged customers. Copies left by killed jobs are
deleted first; a job still running makes the purge wait for another time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from . import audit, staging
from .db import Database

BATCH = 200
PURGE_ACTION = audit.PURGE_ACTION

Progress = Callable[[float, str], None]


class RetentionError(Exception):
    """A purge refused: the confirmation does not match what would be purged."""


@dataclass(frozen=True)
class Candidate:
    id: int
    code: str
    name: str
    last_activity: str
    reason: str


@dataclass(frozen=True)
class Policy:
    """Churned, no interaction for `years` (last interaction, else creation), no legal hold."""

    years: int = 2

    def cutoff(self, today: dt.date | None = None) -> str:
        day = today or dt.date.today()
        try:
            return day.replace(year=day.year - self.years).isoformat()
        except ValueError:  # 29 February
            return day.replace(year=day.year - self.years, day=28).isoformat()

    def reason(self, last_activity: str) -> str:
        return (
            f"churned; no interaction since {last_activity[:10]} (over {self.years} years);"
            " no legal hold"
        )


_ELIGIBLE = (
    "SELECT id, code, name, COALESCE(last_interaction_at, created_at) AS last_activity"
    " FROM customers WHERE customer_type = 'churned' AND legal_hold = 0"
    " AND COALESCE(last_interaction_at, created_at) < ?"
)


def preview(db: Database, policy: Policy, today: dt.date | None = None) -> list[Candidate]:
    """Who would be purged now, and why, oldest activity first."""
    rows = db.conn.execute(
        _ELIGIBLE + " ORDER BY last_activity, id", (policy.cutoff(today),)
    ).fetchall()
    return [
        Candidate(
            r["id"], r["code"], r["name"], r["last_activity"], policy.reason(r["last_activity"])
        )
        for r in rows
    ]


def count(db: Database, policy: Policy, today: dt.date | None = None) -> int:
    sql = "SELECT COUNT(*) FROM (" + _ELIGIBLE + ")"
    return int(db.conn.execute(sql, (policy.cutoff(today),)).fetchone()[0])


def purge(
    db: Database,
    policy: Policy,
    confirm_count: int,
    *,
    actor: str,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> int:
    """Purge every eligible customer if `confirm_count` is how many there are; returns it.

    Each batch re-checks eligibility inside its own write transaction, so a customer put
    on legal hold or contacted meanwhile is spared.
    """
    report = progress or (lambda fraction, message: None)
    cutoff = policy.cutoff(today)
    ids = [c.id for c in preview(db, policy, today)]
    if confirm_count != len(ids):
        raise RetentionError(
            f"{len(ids)} customer(s) are due for purging, but the confirmation says"
            f" {confirm_count}; nothing was purged"
        )
    if staging.sweep(db.path.parent).busy:
        raise RetentionError(
            "a backup or restore is working on a copy of the database, which would keep the"
            " purged customers; nothing was purged: try again when it has finished"
        )
    purged = 0
    now = dt.datetime.now().isoformat(timespec="seconds")
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        marks = ",".join("?" * len(batch))
        with db.write() as tx:
            rows = tx.execute(
                f"SELECT * FROM ({_ELIGIBLE}) WHERE id IN ({marks}) ORDER BY id",
                (cutoff, *batch),
            ).fetchall()
            for row in rows:
                tx.execute("DELETE FROM customer_search WHERE rowid=?", (row["id"],))
                tx.execute("DELETE FROM customers WHERE id=?", (row["id"],))
                destroyed = audit.forget_subject(tx, row["code"])
                audit.append(
                    tx,
                    db.keys,
                    at=now,
                    actor=actor,
                    action=PURGE_ACTION,
                    entity="customer",
                    entity_id=row["id"],
                    customer_code=row["code"],
                    details={
                        "reason": policy.reason(row["last_activity"]),
                        audit.DESTROYED_KEY: destroyed,
                    },
                )
            purged += len(rows)
        report(min(start + BATCH, len(ids)) / max(1, len(ids)) * 0.9, f"purged {purged:,}")
    report(0.95, "rewriting the search index")
    compact(db)
    report(1.0, f"purged {purged:,} customer(s)")
    return purged


def compact(db: Database) -> None:
    """Leave no deleted text behind: merge FTS segments, then empty the WAL into the file."""
    with db.write() as tx:
        tx.execute("INSERT INTO customer_search(customer_search) VALUES ('optimize')")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
