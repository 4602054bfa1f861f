"""Issue 11 figures: managers' reports, the dashboard, tier and churn list filters, the cost
the order-figure triggers add to saving an order, and the monthly 10% verification draw.

Targets at 1M customers: each report <= 2 s; every dashboard number together <= 1 s; tier
and churn filters page as fast as any other filter; keeping the figures current adds
<= 1 ms to saving an order; drawing a 10% sample <= 5 s.

The long-running rows also show the median CPU time of the process: on a shared machine
wall time includes waiting for a core, CPU time is what the work itself costs.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.common import copy_of, median_ms, open_db, print_table, timings
from tui_crm import analytics, listing, verification
from tui_crm.config import AnalyticsSettings
from tui_crm.db import Database
from tui_crm.listing import CustomerQuery
from tui_crm.roles import Role
from tui_crm.service import Service, UserInfo

SETTINGS = AnalyticsSettings()
SAVES_PER_ROUND = 40
ROUNDS = 5
FIGURE_TRIGGERS = ("interactions_order_insert",)
REPORT_INDEXES = ("interactions_customer_kind", "interactions_kind_at")


def _wall_and_cpu(fn: Callable[[], Any], repeat: int, warmup: int) -> tuple[float, float, float]:
    """Median wall ms, max wall ms and median CPU ms of `repeat` calls after `warmup`."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return median_ms(wall), max(wall) * 1000, median_ms(cpu)


def _repeat(n: int) -> tuple[int, int]:
    """(repeat, warmup) for a size: fewer rounds where one round takes seconds."""
    return (5, 1) if n >= 1_000_000 else (9, 2)


def _json(result: analytics.Result | tuple[analytics.Result, ...]) -> str:
    data = [r.to_dict() for r in result] if isinstance(result, tuple) else result.to_dict()
    return json.dumps(data, ensure_ascii=False)


def _a_rep(db: Database) -> tuple[int, str]:
    row = db.conn.execute(
        "SELECT id, username FROM users WHERE role = 'sales' ORDER BY id LIMIT 1"
    ).fetchone()
    return row[0], row[1]


def _reports(db: Database, n: int, rep: int) -> list[list[Any]]:
    repeat, warmup = _repeat(n)
    keys = db.keys

    def read(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with db.read() as conn:
                return _json(fn(conn))

        return run

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("tiers", read(lambda c: analytics.tier_report(c, None))),
        ("tiers (one rep)", read(lambda c: analytics.tier_report(c, rep))),
        ("churn summary", read(lambda c: analytics.churn_summary(c, None))),
        ("churn worklist page", read(lambda c: analytics.churn_worklist(c, keys, None, SETTINGS))),
        (
            "churn worklist (one rep)",
            read(lambda c: analytics.churn_worklist(c, keys, rep, SETTINGS)),
        ),
        ("funnel, all time", read(lambda c: analytics.funnel(c, None))),
        ("funnel, all time by rep", read(lambda c: analytics.funnel(c, None, by="rep"))),
        ("funnel, all time by region", read(lambda c: analytics.funnel(c, None, by="region"))),
        ("funnel, one rep by source", read(lambda c: analytics.funnel(c, rep, by="source"))),
        ("activity, 12 weeks", read(lambda c: analytics.activity(c, None))),
        ("activity (one rep)", read(lambda c: analytics.activity(c, rep))),
    ]
    rows = [[n, name, *_wall_and_cpu(fn, repeat, warmup)] for name, fn in cases]
    # writing jobs: a threshold change re-scores everyone; the daily churn refresh
    scores = iter([7, 8] * 20)

    def rescore() -> None:
        with db.write() as tx:
            analytics.recompute_tiers(tx, AnalyticsSettings(high_score=next(scores)))

    def refresh() -> None:
        with db.write() as tx:
            analytics.refresh_churn(tx, SETTINGS)

    rows.append([n, "recompute tiers (threshold changed)", *_wall_and_cpu(rescore, 4, 0)])
    rows.append([n, "refresh churn (daily, steady)", *_wall_and_cpu(refresh, 4, 1)])
    return rows


def _dashboard(db: Database, n: int, rep: int, rep_name: str) -> list[list[Any]]:
    repeat, warmup = _repeat(n)
    manager_id = db.conn.execute("SELECT id FROM users WHERE role = 'manager'").fetchone()[0]
    manager = Service(db, UserInfo(manager_id, "manager", Role.MANAGER))
    rep_session = Service(db, UserInfo(rep, rep_name, Role.SALES))
    rows = []
    for who, scope, session in (("everyone", None, manager), ("one rep", rep, rep_session)):

        def board(scope: int | None = scope, session: Service = session) -> None:
            with db.read() as conn:
                _json(analytics.dashboard(conn, db.keys, scope, SETTINGS))
            session.due.by_rep()

        rows.append([n, who, *_wall_and_cpu(board, repeat, warmup)])
    return rows


def _list_pages(db: Database, n: int, rep: int) -> list[list[Any]]:
    cases = {
        "no filter (name)": (CustomerQuery(), None),
        "type = customer": (CustomerQuery(customer_type="customer"), None),
        "industry = C": (CustomerQuery(industry="C"), None),
        "industry = T (rare)": (CustomerQuery(industry="T"), None),
        "due overdue": (CustomerQuery(due="overdue"), None),
        "tier = high": (CustomerQuery(tier="high"), None),
        "tier = medium": (CustomerQuery(tier="medium"), None),
        "tier = low": (CustomerQuery(tier="low"), None),
        "tier = none": (CustomerQuery(tier="none"), None),
        "churn risk": (CustomerQuery(churn_risk=True), None),
        "sort by tier": (CustomerQuery(sort="tier"), None),
        "churn risk, by tier": (CustomerQuery(churn_risk=True, sort="tier"), None),
        "rep: no filter": (CustomerQuery(), rep),
        "rep: type = customer": (CustomerQuery(customer_type="customer"), rep),
        "rep: tier = high": (CustomerQuery(tier="high"), rep),
        "rep: churn risk": (CustomerQuery(churn_risk=True), rep),
        "rep: churn risk, by tier": (CustomerQuery(churn_risk=True, sort="tier"), rep),
    }
    rows = []
    for name, (query, scope) in cases.items():

        def first(query: CustomerQuery = query, scope: int | None = scope) -> None:
            listing.page(db.conn, db.keys, query, scope, limit=50)

        page = listing.page(db.conn, db.keys, query, scope, limit=50)
        after = page[-1][0] if page else None

        def second(
            query: CustomerQuery = query, scope: int | None = scope, after: Any = after
        ) -> None:
            listing.page(db.conn, db.keys, query, scope, after, 50)

        rows.append(
            [
                n,
                name,
                median_ms(timings(first, repeat=25)),
                median_ms(timings(second, repeat=25)),
            ]
        )
    return rows


def _save_orders(service: Service, customer_ids: list[int], rng: random.Random) -> list[float]:
    out = []
    for _ in range(SAVES_PER_ROUND):
        customer_id = rng.choice(customer_ids)
        started = time.perf_counter()
        service.activity.add_interaction(
            customer_id, kind="order", detail="Bench order", amount=f"{rng.randrange(1, 99999)}"
        )
        out.append(time.perf_counter() - started)
    return out


def _order_cost(db: Database, n: int) -> list[list[Any]]:
    """Saving an order end to end (service: checks, insert, customer dates, audit), with
    the figure triggers and without, alternating rounds; then without the report indexes."""
    manager_id = db.conn.execute("SELECT id FROM users WHERE role = 'manager'").fetchone()[0]
    service = Service(db, UserInfo(manager_id, "manager", Role.MANAGER))
    top = db.conn.execute("SELECT MAX(id) FROM customers").fetchone()[0]
    rng = random.Random(11)
    customers = [rng.randrange(1, top + 1) for _ in range(2000)]
    customers = [
        c
        for c in customers
        if db.conn.execute("SELECT 1 FROM customers WHERE id=?", (c,)).fetchone()
    ]
    triggers = {
        name: db.conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        for name in FIGURE_TRIGGERS
    }
    with_figures: list[float] = []
    without: list[float] = []
    _save_orders(service, customers, rng)  # warm the cache
    for _ in range(ROUNDS):
        with_figures += _save_orders(service, customers, rng)
        with db.write() as tx:
            for name in triggers:
                tx.execute(f"DROP TRIGGER {name}")
        without += _save_orders(service, customers, rng)
        with db.write() as tx:
            for sql in triggers.values():
                tx.execute(sql)
    with db.write() as tx:
        for name in triggers:
            tx.execute(f"DROP TRIGGER {name}")
        for index in REPORT_INDEXES:
            tx.execute(f"DROP INDEX {index}")
    bare = []
    for _ in range(ROUNDS):
        bare += _save_orders(service, customers, rng)
    with_ms, without_ms, bare_ms = (
        statistics.median(s) * 1000 for s in (with_figures, without, bare)
    )
    return [[n, with_ms, without_ms, bare_ms, with_ms - without_ms, with_ms - bare_ms]]


def _draws(db: Database, n: int) -> list[list[Any]]:
    months = iter(f"2099-{month:02d}" for month in range(1, 13))
    drawn: list[verification.Sample] = []

    def draw() -> None:
        with db.write() as tx:
            drawn.append(
                verification.draw_sample(tx, month=next(months), drawn_by="bench", percent=10)
            )

    figures = _wall_and_cpu(draw, 3, 0)
    sample = drawn[-1]
    report = _wall_and_cpu(
        lambda: verification.report(db.conn, sample.id, dt.date(2099, 12, 31)), 3, 1
    )
    return [[n, sample.size, *figures, report[0]]]


def run(sizes: list[int]) -> None:
    reports, boards, pages, costs, draws = [], [], [], [], []
    for n in sizes:
        db_path, key_path = copy_of(n, "analytics")
        db = open_db(db_path, key_path)
        rep, rep_name = _a_rep(db)
        db.conn.execute("PRAGMA optimize").close()
        reports += _reports(db, n, rep)
        boards += _dashboard(db, n, rep, rep_name)
        pages += _list_pages(db, n, rep)
        draws += _draws(db, n)
        costs += _order_cost(db, n)
        db.close()
    print_table(
        "analytics: each report (target <= 2 s at 1M), JSON included",
        ["customers", "report", "median ms", "max ms", "cpu ms"],
        reports,
    )
    print_table(
        "analytics: every dashboard number together, plus due per rep (target <= 1 s)",
        ["customers", "scope", "median ms", "max ms", "cpu ms"],
        boards,
    )
    print_table(
        "analytics: customer list pages with tier and churn filters vs other filters",
        ["customers", "query", "first page ms", "next page ms"],
        pages,
    )
    print_table(
        "analytics: saving an order (service end to end; median ms)",
        [
            "customers",
            "with figures",
            "no triggers",
            "no triggers, no report idx",
            "figures add",
            "figures + idx add",
        ],
        costs,
    )
    print_table(
        "verification: drawing a 10% sample (target <= 5 s at 1M) and its report",
        ["customers", "drawn", "median ms", "max ms", "cpu ms", "report ms"],
        draws,
    )
