"""What managers get out of the data: value tiers, churn warnings, the sales funnel, activity.

Plain functions over a connection, usable from the service, the CLI and cron. Every report
takes `scope`: a sales rep's user id (only the customers they own) or None (everyone); the
service decides which a user gets and audits the jobs that write (`recompute_tiers`,
`refresh_churn`), in the same transaction they run in.

The per-customer order figures these read (total, count, first, second and last order, the
first "interested" follow-up) are kept by triggers on `interactions` and `followups` (see
the issue 11 migration in db.py), so every path that adds, moves or deletes an order keeps
them right without calling anything here. The value tier is scored by the `customer_value`
view against the thresholds `recompute_tiers` stores; the triggers re-score a customer when
their orders change, and `recompute_tiers` re-scores everyone after the thresholds change
or as days pass (recency). Complaints in the last N days depend on today, so they are
counted when read, from an index, never stored as a count that would go stale overnight.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from . import listing
from .config import AnalyticsSettings, ChurnRule, ChurnRuleKind
from .crypto import KeyRing
from .db import set_meta

TIERS: dict[int, str] = {rank: name for name, rank in listing.TIER_RANKS.items()}
CHURN_REFRESHED_KEY = "churn_refreshed_on"
BREAKDOWNS = {
    "rep": "c.owner_id",
    "source": "c.source",
    "industry": "c.industry",
    "region": "c.province",
}
Breakdown = Literal["rep", "source", "industry", "region"]
FUNNEL_STEPS = ("leads", "interested", "customers", "repeat")
ACTIVITY_WEEKS = 12
DASHBOARD_FUNNEL_DAYS = 365
DASHBOARD_WORKLIST = 20
# A customer counts as having become a customer by a first order or by their type: a
# churned customer was one once (the type is one of three, so "not a prospect").
_BECAME_CUSTOMER = "(c.first_order_at IS NOT NULL OR c.customer_type <> 'prospect')"
# The calendar day of an ISO date or timestamp as a number (Julian days turn at noon).
_DAY_NUMBER = "CAST(julianday({}) + 0.5 AS INTEGER)"
_ORDER = "i.kind = 'order' AND i.amount_cents IS NOT NULL"


class Result:
    """A report value: `to_dict()` gives plain data for JSON (and, flattened, CSV)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tier_name(rank: int | None) -> str | None:
    return None if rank is None else TIERS[rank]


def _owner_clause(scope: int | None, column: str = "c.owner_id") -> str:
    return "" if scope is None else f" AND {column} = :scope"


def _after(day: dt.date) -> str:
    """The first instant past a whole day, as an upper bound for ISO timestamps."""
    return (day + dt.timedelta(days=1)).isoformat()


# --- value tiers --------------------------------------------------------------------------


@dataclass(frozen=True)
class TierRules(Result):
    """The thresholds the tiers were last scored by, and where each came from."""

    spend_high_cents: int | None
    spend_medium_cents: int | None
    orders_high: int | None
    orders_medium: int | None
    recency_high_days: int | None
    recency_medium_days: int | None
    high_score: int
    medium_score: int
    as_of: str | None
    sources: dict[str, str]  # threshold -> "config" or "quantile 0.8"


@dataclass(frozen=True)
class TierRecompute(Result):
    rules: TierRules
    changed: int  # customers whose tier changed
    counts: dict[str, int]  # customers per tier afterwards


@dataclass(frozen=True)
class TierCount(Result):
    tier: str
    customers: int
    share: float  # of the customers in scope
    order_total_cents: int
    order_count: int
    average_order_cents: int | None


@dataclass(frozen=True)
class TopCustomer(Result):
    id: int
    code: str
    name: str
    owner_id: int | None
    owner: str
    tier: str
    order_total_cents: int
    order_count: int
    last_order_at: str | None


@dataclass(frozen=True)
class TierReport(Result):
    rules: TierRules | None
    tiers: tuple[TierCount, ...]
    top: dict[str, tuple[TopCustomer, ...]]  # tier -> its biggest spenders

    def csv_rows(self) -> list[dict[str, Any]]:
        return [tier.to_dict() for tier in self.tiers]


def tier_rules(conn: sqlite3.Connection) -> TierRules | None:
    """The stored thresholds, or None before `recompute_tiers` first ran."""
    row = conn.execute("SELECT * FROM value_tier_rules WHERE id = 1").fetchone()
    if row is None or row["as_of"] is None:
        return None
    return TierRules(
        spend_high_cents=row["spend_high_cents"],
        spend_medium_cents=row["spend_medium_cents"],
        orders_high=row["orders_high"],
        orders_medium=row["orders_medium"],
        recency_high_days=row["recency_high_days"],
        recency_medium_days=row["recency_medium_days"],
        high_score=row["high_score"],
        medium_score=row["medium_score"],
        as_of=row["as_of"],
        sources=json.loads(row["sources"]),
    )


def _quantile(ordered: Sequence[int], q: float) -> int | None:
    """The value below which a share `q` of the (ascending) values lie; None if none."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(round(q * len(ordered), 9)))]


def recompute_tiers(
    tx: sqlite3.Connection, settings: AnalyticsSettings, today: dt.date | None = None
) -> TierRecompute:
    """Store the thresholds (config, else quantiles of today's base) and re-score everyone.

    Run inside a write transaction (the caller audits it there). Spend and order count
    score 3 at or above the high quantile, 2 at or above the medium one; recency scores 3
    for the most recent (1 - high quantile) share, 2 for the most recent half by default.
    """
    day = today or dt.date.today()
    spend: list[int] = []
    orders: list[int] = []
    days_since: list[int] = []
    for row in tx.execute(
        "SELECT order_total_cents, order_count,"
        " CAST(julianday(:day) - julianday(substr(last_order_at, 1, 10)) AS INTEGER)"
        " FROM customers INDEXED BY customers_orders WHERE order_count > 0",
        {"day": day.isoformat()},
    ):
        spend.append(row[0])
        orders.append(row[1])
        days_since.append(row[2])
    spend.sort()
    orders.sort()
    days_since.sort()
    high_q, medium_q = settings.high_quantile, settings.medium_quantile
    candidates: dict[str, tuple[int | None, int | None, float]] = {
        "spend_high_cents": (settings.spend_high_cents, _quantile(spend, high_q), high_q),
        "spend_medium_cents": (settings.spend_medium_cents, _quantile(spend, medium_q), medium_q),
        "orders_high": (settings.orders_high, _quantile(orders, high_q), high_q),
        "orders_medium": (settings.orders_medium, _quantile(orders, medium_q), medium_q),
        "recency_high_days": (
            settings.recency_high_days,
            _quantile(days_since, 1 - high_q),
            1 - high_q,
        ),
        "recency_medium_days": (
            settings.recency_medium_days,
            _quantile(days_since, 1 - medium_q),
            1 - medium_q,
        ),
    }
    values: dict[str, int | None] = {}
    sources: dict[str, str] = {}
    for name, (configured, quantile, q) in candidates.items():
        values[name] = configured if configured is not None else quantile
        sources[name] = "config" if configured is not None else f"quantile {q:.2f}"
    # A threshold taken from config and its partner from the data may cross; keep them in order.
    for high, medium, keep_below in (
        ("spend_high_cents", "spend_medium_cents", True),
        ("orders_high", "orders_medium", True),
        ("recency_high_days", "recency_medium_days", False),
    ):
        top, mid = values[high], values[medium]
        if top is not None and mid is not None and (mid > top if keep_below else mid < top):
            values[medium] = top
    tx.execute(
        "UPDATE value_tier_rules SET spend_high_cents = :spend_high_cents,"
        " spend_medium_cents = :spend_medium_cents, orders_high = :orders_high,"
        " orders_medium = :orders_medium, recency_high_days = :recency_high_days,"
        " recency_medium_days = :recency_medium_days, high_score = :high_score,"
        " medium_score = :medium_score, as_of = :as_of, sources = :sources WHERE id = 1",
        {
            **values,
            "high_score": settings.high_score,
            "medium_score": settings.medium_score,
            "as_of": day.isoformat(),
            "sources": json.dumps(sources, sort_keys=True),
        },
    )
    changed = tx.execute(
        "UPDATE customers SET value_tier = v.tier FROM customer_value v"
        " WHERE v.id = customers.id AND customers.order_count > 0"
        " AND customers.value_tier IS NOT v.tier"
    ).rowcount
    rules = tier_rules(tx)
    assert rules is not None
    return TierRecompute(rules, changed, _tier_counts(tx, None))


def _tier_counts(conn: sqlite3.Connection, scope: int | None) -> dict[str, int]:
    return {name: counts[0] for name, counts in _tier_sums(conn, scope).items()}


def _tier_sums(conn: sqlite3.Connection, scope: int | None) -> dict[str, tuple[int, int, int]]:
    """(customers, order total, orders) per tier. Everyone's come from two covering indexes
    (`customers_tier`, `customers_orders`); one rep's from their own rows."""
    sums = dict.fromkeys(TIERS.values(), (0, 0, 0))
    if scope is None:
        rows = conn.execute(
            "SELECT t.value_tier, t.n, COALESCE(o.total, 0), COALESCE(o.orders, 0) FROM"
            " (SELECT value_tier, COUNT(*) AS n FROM customers INDEXED BY customers_tier"
            "  GROUP BY value_tier) AS t LEFT JOIN"
            " (SELECT value_tier, SUM(order_total_cents) AS total, SUM(order_count) AS orders"
            "  FROM customers INDEXED BY customers_orders WHERE order_count > 0"
            "  GROUP BY value_tier) AS o ON o.value_tier IS t.value_tier"
        )
    else:
        rows = conn.execute(
            "SELECT value_tier, COUNT(*), SUM(order_total_cents), SUM(order_count)"
            " FROM customers WHERE owner_id = ? GROUP BY value_tier",
            (scope,),
        )
    for row in rows:
        if row[0] is not None:
            sums[TIERS[row[0]]] = (row[1], row[2], row[3])
    return sums


def tier_report(conn: sqlite3.Connection, scope: int | None, top: int = 10) -> TierReport:
    """Customers, spend and orders per tier, and each tier's `top` biggest spenders."""
    sums = _tier_sums(conn, scope)
    everyone = sum(n for n, _, _ in sums.values())
    tiers = []
    for name, (customers, total, orders) in sums.items():
        tiers.append(
            TierCount(
                tier=name,
                customers=customers,
                share=customers / everyone if everyone else 0.0,
                order_total_cents=total,
                order_count=orders,
                average_order_cents=round(total / orders) if orders else None,
            )
        )
    leaders: dict[str, tuple[TopCustomer, ...]] = {}
    residual_owner = _owner_clause(scope, "+c.owner_id")
    for rank in (1, 2, 3):
        rows = conn.execute(
            "SELECT c.id, c.code, c.name, c.owner_id, COALESCE(u.username, '') AS owner,"
            " c.order_total_cents, c.order_count, c.last_order_at FROM customers c"
            " INDEXED BY customers_orders LEFT JOIN users u ON u.id = c.owner_id"
            f" WHERE c.order_count > 0 AND c.value_tier = :rank{residual_owner}"
            " ORDER BY c.order_total_cents DESC LIMIT :top",
            {"rank": rank, "scope": scope, "top": top},
        ).fetchall()
        leaders[TIERS[rank]] = tuple(
            TopCustomer(
                id=r["id"],
                code=r["code"],
                name=r["name"],
                owner_id=r["owner_id"],
                owner=r["owner"],
                tier=TIERS[rank],
                order_total_cents=r["order_total_cents"],
                order_count=r["order_count"],
                last_order_at=r["last_order_at"],
            )
            for r in rows
        )
    return TierReport(tier_rules(conn), tuple(tiers), leaders)


# --- one customer -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnWarning(Result):
    """One rule that fires for a customer, with the numbers behind it."""

    rule: str  # the rule's name, e.g. "no_order_90d"
    kind: str  # ChurnRuleKind
    limit_days: int
    limit_count: int | None  # complaints only
    since: str | None  # the day it was first raised (None: evaluated live, not stored)
    last_order_at: str | None = None  # no_order
    days_since_order: int | None = None  # no_order
    orders: int | None = None  # no_order
    complaints: int | None = None  # complaints
    reminder_on: str | None = None  # the follow-up date this warning planned, if any

    def describe(self) -> str:
        """Plain English for logs and the CLI; screens format the fields themselves."""
        if self.kind == ChurnRuleKind.NO_ORDER:
            return (
                f"{self.rule}: no order for {self.days_since_order} days (over"
                f" {self.limit_days}); last order {self.last_order_at}, {self.orders} in all"
            )
        return (
            f"{self.rule}: {self.complaints} complaints in the last {self.limit_days} days"
            f" ({self.limit_count} or more)"
        )


@dataclass(frozen=True)
class CustomerFigures(Result):
    """The detail header's numbers: orders, tier with its scores, complaints, churn."""

    customer_id: int
    order_total_cents: int
    order_count: int
    average_order_cents: int | None
    first_order_at: str | None
    last_order_at: str | None
    complaints_recent: int
    complaint_window_days: int
    tier: str | None
    spend_score: int | None
    orders_score: int | None
    recency_score: int | None
    churn_risk: bool  # as of the last refresh (the list filter)
    warnings: tuple[ChurnWarning, ...]  # evaluated now, against today's rules


def customer_figures(
    conn: sqlite3.Connection,
    customer_id: int,
    settings: AnalyticsSettings,
    today: dt.date | None = None,
) -> CustomerFigures | None:
    """One customer's figures, tier scores and churn warnings as of `today` (None: no such)."""
    day = today or dt.date.today()
    row = conn.execute(
        "SELECT c.*, v.spend_score, v.orders_score, v.recency_score, r.as_of"
        " FROM customers c JOIN customer_value v ON v.id = c.id"
        " JOIN value_tier_rules r ON r.id = 1 WHERE c.id = ?",
        (customer_id,),
    ).fetchone()
    if row is None:
        return None
    window = next((r.days for r in settings.churn_rules if r.kind is ChurnRuleKind.COMPLAINTS), 90)
    complaints = conn.execute(
        "SELECT COUNT(*) FROM interactions WHERE customer_id = ? AND kind = 'complaint'"
        " AND at >= ?",
        (customer_id, _window_start(day, window)),
    ).fetchone()[0]
    scored = row["order_count"] > 0 and row["as_of"] is not None
    warnings = tuple(
        w
        for rule in settings.churn_rules
        for w in _evaluate(conn, rule, day, customer_id=customer_id)
    )
    return CustomerFigures(
        customer_id=customer_id,
        order_total_cents=row["order_total_cents"],
        order_count=row["order_count"],
        average_order_cents=round(row["order_total_cents"] / row["order_count"])
        if row["order_count"]
        else None,
        first_order_at=row["first_order_at"],
        last_order_at=row["last_order_at"],
        complaints_recent=complaints,
        complaint_window_days=window,
        tier=tier_name(row["value_tier"]),
        spend_score=row["spend_score"] if scored else None,
        orders_score=row["orders_score"] if scored else None,
        recency_score=row["recency_score"] if scored else None,
        churn_risk=bool(row["churn_risk"]),
        warnings=tuple(warnings),
    )


# --- churn --------------------------------------------------------------------------------


def _window_start(day: dt.date, days: int) -> str:
    """The first day of the `days` days that end with `day` (both counted)."""
    return (day - dt.timedelta(days=days - 1)).isoformat()


def _rule_query(rule: ChurnRule, day: dt.date, customer_id: int | None) -> tuple[str, dict]:
    """SQL giving (customer_id, figures JSON) for every customer the rule fires for."""
    one = customer_id is not None
    if rule.kind is ChurnRuleKind.NO_ORDER:
        # "for over N days": the last order was on or before day - N - 1.
        cutoff = (day - dt.timedelta(days=rule.days)).isoformat()
        source = "customers" if one else "customers INDEXED BY customers_orders"
        sql = (
            "SELECT id AS customer_id, json_object('last_order_at', substr(last_order_at, 1, 10),"
            f" 'orders', order_count) AS figures FROM {source}"
            " WHERE order_count > 0 AND last_order_at < :cutoff"
            + (" AND id = :customer_id" if one else "")
        )
        return sql, {"cutoff": cutoff, "customer_id": customer_id}
    sql = (
        "SELECT customer_id, json_object('complaints', COUNT(*)) AS figures FROM interactions"
        + (" INDEXED BY interactions_customer_kind" if one else " INDEXED BY interactions_kind_at")
        + " WHERE kind = 'complaint' AND at >= :since"
        + (" AND customer_id = :customer_id" if one else "")
        + " GROUP BY customer_id HAVING COUNT(*) >= :count"
    )
    return sql, {
        "since": _window_start(day, rule.days),
        "count": rule.count,
        "customer_id": customer_id,
    }


def _warning(
    rule: ChurnRule,
    figures: Mapping[str, Any],
    day: dt.date,
    since: str | None = None,
    reminder_on: str | None = None,
) -> ChurnWarning:
    if rule.kind is ChurnRuleKind.NO_ORDER:
        last = figures["last_order_at"]
        return ChurnWarning(
            rule=rule.name,
            kind=rule.kind.value,
            limit_days=rule.days,
            limit_count=None,
            since=since,
            last_order_at=last,
            days_since_order=(day - dt.date.fromisoformat(last)).days,
            orders=figures["orders"],
            reminder_on=reminder_on,
        )
    return ChurnWarning(
        rule=rule.name,
        kind=rule.kind.value,
        limit_days=rule.days,
        limit_count=rule.count,
        since=since,
        complaints=figures["complaints"],
        reminder_on=reminder_on,
    )


def _evaluate(
    conn: sqlite3.Connection, rule: ChurnRule, day: dt.date, *, customer_id: int
) -> list[ChurnWarning]:
    sql, params = _rule_query(rule, day, customer_id)
    return [_warning(rule, json.loads(row[1]), day) for row in conn.execute(sql, params)]


@dataclass(frozen=True)
class ChurnChange(Result):
    customer_id: int
    code: str
    owner_id: int | None
    rule: str


@dataclass(frozen=True)
class Reminder(Result):
    customer_id: int
    code: str
    owner_id: int
    on: str


@dataclass(frozen=True)
class ChurnRefresh(Result):
    """What one refresh changed, for its audit entry."""

    as_of: str
    rules: tuple[str, ...]
    at_risk: int  # customers with at least one warning afterwards
    raised: tuple[ChurnChange, ...]
    cleared: tuple[ChurnChange, ...]
    reminders: tuple[Reminder, ...]

    def summary(self) -> dict[str, Any]:
        """Counts only: the audit entry of a refresh that touched thousands of customers."""
        return {
            "as_of": self.as_of,
            "rules": list(self.rules),
            "at_risk": self.at_risk,
            "raised": len(self.raised),
            "cleared": len(self.cleared),
            "reminders": len(self.reminders),
        }


def refresh_churn(
    tx: sqlite3.Connection,
    settings: AnalyticsSettings,
    today: dt.date | None = None,
    *,
    remind: bool = True,
) -> ChurnRefresh:
    """Re-evaluate every churn rule for everyone; store new warnings, drop the ones that no
    longer hold, set the `churn_risk` flag, and plan a follow-up today for the owner of each
    customer that got a new warning and has none planned (so it is in their due list).

    Run inside a write transaction, daily (cron) or on demand; the caller audits the result.
    A warning that persists keeps its `since` day and plans nothing again.
    """
    day = today or dt.date.today()
    rules = {rule.name: rule for rule in settings.churn_rules}
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS churn_now"
        " (customer_id INTEGER NOT NULL, rule TEXT NOT NULL, figures TEXT NOT NULL,"
        " PRIMARY KEY (customer_id, rule)) WITHOUT ROWID"
    )
    tx.execute("DELETE FROM temp.churn_now")
    for rule in rules.values():
        sql, params = _rule_query(rule, day, None)
        tx.execute(
            f"INSERT INTO temp.churn_now SELECT customer_id, :rule, figures FROM ({sql})",
            {**params, "rule": rule.name},
        )
    changes = (
        "SELECT w.customer_id, c.code, c.owner_id, w.rule FROM {} w"
        " JOIN customers c ON c.id = w.customer_id ORDER BY w.customer_id, w.rule"
    )
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS churn_gone"
        " (customer_id INTEGER NOT NULL, rule TEXT NOT NULL)"
    )
    tx.execute("DELETE FROM temp.churn_gone")
    tx.execute(
        "INSERT INTO temp.churn_gone SELECT customer_id, rule FROM churn_warnings w"
        " WHERE NOT EXISTS (SELECT 1 FROM temp.churn_now n"
        " WHERE n.customer_id = w.customer_id AND n.rule = w.rule)"
    )
    cleared = [ChurnChange(*r) for r in tx.execute(changes.format("temp.churn_gone"))]
    tx.execute(
        "DELETE FROM churn_warnings WHERE (customer_id, rule) IN"
        " (SELECT customer_id, rule FROM temp.churn_gone)"
    )
    tx.execute(
        "UPDATE churn_warnings SET figures = n.figures FROM temp.churn_now n"
        " WHERE n.customer_id = churn_warnings.customer_id AND n.rule = churn_warnings.rule"
        " AND n.figures IS NOT churn_warnings.figures"
    )
    tx.execute(
        "DELETE FROM temp.churn_now WHERE (customer_id, rule) IN"
        " (SELECT customer_id, rule FROM churn_warnings)"
    )
    raised = [ChurnChange(*r) for r in tx.execute(changes.format("temp.churn_now"))]
    tx.execute(
        "INSERT INTO churn_warnings(customer_id, rule, figures, since)"
        " SELECT customer_id, rule, figures, :day FROM temp.churn_now",
        {"day": day.isoformat()},
    )
    tx.execute(
        "UPDATE customers SET churn_risk = 1 WHERE churn_risk = 0"
        " AND id IN (SELECT customer_id FROM temp.churn_now)"
    )
    tx.execute(
        "UPDATE customers SET churn_risk = 0 WHERE id IN (SELECT customer_id FROM temp.churn_gone)"
        " AND NOT EXISTS (SELECT 1 FROM churn_warnings w WHERE w.customer_id = customers.id)"
    )
    reminders: list[Reminder] = []
    if remind:
        reminders = [
            Reminder(*r)
            for r in tx.execute(
                "UPDATE customers SET next_followup_at = :day WHERE next_followup_at IS NULL"
                " AND owner_id IS NOT NULL AND id IN (SELECT customer_id FROM temp.churn_now)"
                " RETURNING id, code, owner_id, next_followup_at",
                {"day": day.isoformat()},
            ).fetchall()
        ]
        tx.executemany(
            "UPDATE churn_warnings SET reminder_on = ? WHERE customer_id = ? AND since = ?",
            [(r.on, r.customer_id, r.on) for r in reminders],
        )
    tx.execute("DELETE FROM temp.churn_now")
    tx.execute("DELETE FROM temp.churn_gone")
    set_meta(tx, CHURN_REFRESHED_KEY, day.isoformat())
    at_risk = tx.execute(
        "SELECT COUNT(*) FROM customers INDEXED BY customers_churn WHERE churn_risk = 1"
    ).fetchone()[0]
    return ChurnRefresh(
        as_of=day.isoformat(),
        rules=tuple(rules),
        at_risk=at_risk,
        raised=tuple(raised),
        cleared=tuple(cleared),
        reminders=tuple(sorted(reminders, key=lambda r: r.customer_id)),
    )


def warnings_for(
    conn: sqlite3.Connection,
    customer_ids: Iterable[int],
    settings: AnalyticsSettings,
    today: dt.date | None = None,
) -> dict[int, tuple[ChurnWarning, ...]]:
    """The stored warnings (as of the last refresh) of some customers, e.g. a page."""
    day = today or dt.date.today()
    rules = {rule.name: rule for rule in settings.churn_rules}
    ids = list(customer_ids)
    found: dict[int, list[ChurnWarning]] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        for row in conn.execute(
            "SELECT customer_id, rule, figures, since, reminder_on FROM churn_warnings"
            f" WHERE customer_id IN ({marks}) ORDER BY customer_id, rule",
            ids,
        ):
            rule = rules.get(row["rule"])
            if rule is None:  # a rule taken out of config since the last refresh
                continue
            found.setdefault(row["customer_id"], []).append(
                _warning(rule, json.loads(row["figures"]), day, row["since"], row["reminder_on"])
            )
    return {customer_id: tuple(found.get(customer_id, ())) for customer_id in ids}


@dataclass(frozen=True)
class AtRiskCustomer(Result):
    key: listing.SortKey  # pass the last one as `after` for the next page
    id: int
    code: str
    name: str
    owner_id: int | None
    owner: str
    tier: str | None
    warnings: tuple[ChurnWarning, ...]


def churn_worklist(
    conn: sqlite3.Connection,
    keys: KeyRing,
    scope: int | None,
    settings: AnalyticsSettings,
    *,
    after: listing.SortKey | None = None,
    limit: int = 50,
    today: dt.date | None = None,
) -> tuple[AtRiskCustomer, ...]:
    """At-risk customers (as of the last refresh), most valuable first, a page at a time;
    with `scope` a rep's own worklist, read from the `customers_churn` index."""
    rows = listing.page(
        conn, keys, listing.CustomerQuery(churn_risk=True, sort="tier"), scope, after, limit
    )
    warnings = warnings_for(conn, [row["id"] for _, row in rows], settings, today)
    return tuple(
        AtRiskCustomer(
            key=key,
            id=row["id"],
            code=row["code"],
            name=row["name"],
            owner_id=row["owner_id"],
            owner=row["owner"] or "",
            tier=tier_name(row["value_tier"]),
            warnings=warnings[row["id"]],
        )
        for key, row in rows
    )


@dataclass(frozen=True)
class RepRisk(Result):
    owner_id: int | None
    owner: str
    at_risk: int


@dataclass(frozen=True)
class ChurnSummary(Result):
    refreshed_on: str | None
    customers: int  # in scope
    at_risk: int
    by_rule: dict[str, int]
    by_tier: dict[str, int]
    by_rep: tuple[RepRisk, ...]

    def csv_rows(self) -> list[dict[str, Any]]:
        return [rep.to_dict() for rep in self.by_rep]


def churn_summary(conn: sqlite3.Connection, scope: int | None) -> ChurnSummary:
    """How many customers are at risk (as of the last refresh), by rule, tier and rep."""
    params = {"scope": scope}
    flagged = (
        f"FROM customers c INDEXED BY customers_churn WHERE c.churn_risk = 1{_owner_clause(scope)}"
    )
    by_tier = dict.fromkeys(TIERS.values(), 0)
    at_risk = 0
    for row in conn.execute(f"SELECT c.value_tier, COUNT(*) {flagged} GROUP BY 1", params):
        at_risk += row[1]
        if row[0] is not None:
            by_tier[TIERS[row[0]]] = row[1]
    by_rule = {
        row[0]: row[1]
        for row in conn.execute(
            f"SELECT w.rule, COUNT(*) FROM churn_warnings w WHERE 1"
            f"{'' if scope is None else ' AND w.customer_id IN (SELECT c.id ' + flagged + ')'}"
            " GROUP BY w.rule ORDER BY w.rule",
            params,
        )
    }
    by_rep = tuple(
        RepRisk(row[0], row[1] or "", row[2])
        for row in conn.execute(
            "SELECT r.owner_id, u.username, r.n FROM"
            f" (SELECT c.owner_id, COUNT(*) AS n {flagged} GROUP BY c.owner_id) AS r"
            " LEFT JOIN users u ON u.id = r.owner_id ORDER BY r.n DESC, u.username",
            params,
        )
    )
    customers = conn.execute(
        f"SELECT COUNT(*) FROM customers c WHERE 1{_owner_clause(scope)}", params
    ).fetchone()[0]
    refreshed = conn.execute(
        "SELECT value FROM meta WHERE key = ?", (CHURN_REFRESHED_KEY,)
    ).fetchone()
    return ChurnSummary(
        refreshed_on=refreshed[0] if refreshed else None,
        customers=customers,
        at_risk=at_risk,
        by_rule=by_rule,
        by_tier=by_tier,
        by_rep=by_rep,
    )


# --- the sales funnel ---------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep(Result):
    step: str  # leads, interested, customers, repeat
    count: int
    rate: float | None  # of the previous step (None for leads, or when it is empty)
    rate_of_leads: float | None
    median_days: float | None  # from the previous step, over customers with both dates


@dataclass(frozen=True)
class FunnelRow(Result):
    key: str  # the group's value (a rep's user id as text, a source, an industry code, ...)
    label: str
    steps: tuple[FunnelStep, ...]


@dataclass(frozen=True)
class Funnel(Result):
    """The customers created in [since, until] and how far each has come since."""

    since: str | None
    until: str
    by: str | None
    total: FunnelRow
    groups: tuple[FunnelRow, ...]

    def csv_rows(self) -> list[dict[str, Any]]:
        rows = []
        for group in (self.total, *self.groups):
            row: dict[str, Any] = {"group": group.label, "key": group.key}
            for step in group.steps:
                row[step.step] = step.count
                if step.step != "leads":
                    row[f"{step.step}_rate"] = step.rate
                    row[f"{step.step}_median_days"] = step.median_days
            rows.append(row)
        return rows


def _median(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many}."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram)
    cumulative = []
    running = 0
    for value in ordered:
        running += histogram[value]
        cumulative.append(running)

    def nth(n: int) -> int:  # the n-th smallest value, 1-based
        return ordered[bisect.bisect_left(cumulative, n)]

    return (nth((total + 1) // 2) + nth(total // 2 + 1)) / 2


def _funnel_row(
    key: str, label: str, counts: Sequence[int], histograms: Sequence[Mapping[int, int]]
) -> FunnelRow:
    steps = []
    for index, name in enumerate(FUNNEL_STEPS):
        previous = counts[index - 1] if index else 0
        steps.append(
            FunnelStep(
                step=name,
                count=counts[index],
                rate=counts[index] / previous if index and previous else None,
                rate_of_leads=counts[index] / counts[0] if index and counts[0] else None,
                median_days=_median(histograms[index - 1]) if index else None,
            )
        )
    return FunnelRow(key, label, tuple(steps))


def funnel(
    conn: sqlite3.Connection,
    scope: int | None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: Breakdown | None = None,
) -> Funnel:
    """Leads (customers created in the period) -> interested (a follow-up with result
    interest or need confirmed) -> customers (a first order, or typed customer/churned) ->
    repeat customers (two or more orders): counts, conversion rates and median days.

    A step counts every customer who reached it or any later one, so the rates never pass
    100% (an order with no "interested" follow-up logged still went through interest).
    Median days between steps (calendar days) use the customers with both dates, in order.
    """
    end = until or dt.date.today()
    where = "c.created_at < :end" + ("" if since is None else " AND c.created_at >= :start")
    # Everyone's funnel reads the covering `customers_funnel` alone; one rep's reads their
    # own few rows, found through `customers_owner`.
    if scope is None:
        source = "customers c INDEXED BY customers_funnel"
    else:
        source = "customers c INDEXED BY customers_owner"
        where += " AND c.owner_id = :scope"
    params = {"start": since.isoformat() if since else None, "end": _after(end), "scope": scope}
    # One pass, one key per customer (its group and the steps it reached) and one per step
    # gap ("group:days"), counted in Python: SQLite's GROUP BY would sort every row first,
    # which at 1M customers costs several times the whole scan.
    group = f"hex({BREAKDOWNS[by]})" if by else "''"
    reached = (
        f"(c.first_interest_at IS NOT NULL OR {_BECAME_CUSTOMER})"
        f" + 2 * {_BECAME_CUSTOMER} + 4 * (c.second_order_at IS NOT NULL)"
    )
    gaps = (
        ("c.created_at", "c.first_interest_at"),
        ("c.first_interest_at", "c.first_order_at"),
        ("c.first_order_at", "c.second_order_at"),
    )
    spans = "".join(
        f", group_concat(CASE WHEN {later} >= {earlier} THEN {group} || ':' ||"
        f" ({_DAY_NUMBER.format(later)} - {_DAY_NUMBER.format(earlier)}) END, ';')"
        for earlier, later in gaps
    )
    row = conn.execute(
        f"SELECT group_concat({group} || ':' || ({reached}), ';'){spans}"
        f" FROM {source} WHERE {where}",
        params,
    ).fetchone()
    tallies = [Counter(text.split(";")) if text else Counter() for text in row]
    counts: dict[str, list[int]] = {}
    for key, n in tallies[0].items():
        code, bits = key.rsplit(":", 1)
        steps = counts.setdefault(_unhex(code), [0, 0, 0, 0])
        steps[0] += n
        for index in range(3):
            if int(bits) >> index & 1:
                steps[index + 1] += n
    histograms: dict[str, list[dict[int, int]]] = {key: [{}, {}, {}] for key in counts}
    for index, tally in enumerate(tallies[1:]):
        for key, n in tally.items():
            code, days = key.rsplit(":", 1)
            histograms[_unhex(code)][index][int(days)] = n
    labels = _labels(conn, by, counts)
    groups = tuple(
        _funnel_row(key, labels[key], counts[key], histograms[key])
        for key in sorted(counts, key=lambda k: (-counts[k][0], labels[k]))
    )
    total_counts = [sum(c[i] for c in counts.values()) for i in range(len(FUNNEL_STEPS))]
    total_histograms: list[dict[int, int]] = [{}, {}, {}]
    for per_group in histograms.values():
        for index, histogram in enumerate(per_group):
            for days, n in histogram.items():
                total_histograms[index][days] = total_histograms[index].get(days, 0) + n
    return Funnel(
        since=since.isoformat() if since else None,
        until=end.isoformat(),
        by=by,
        total=_funnel_row("", "all", total_counts, total_histograms),
        groups=groups if by else (),
    )


def _unhex(code: str) -> str:
    """A group's value from its hex() in SQL (which keeps any character out of the keys)."""
    return bytes.fromhex(code).decode()


def _labels(conn: sqlite3.Connection, by: str | None, counts: Mapping[str, Any]) -> dict[str, str]:
    labels = {key: key or "(none)" for key in counts}
    if by == "rep":
        names = dict(conn.execute("SELECT id, username FROM users").fetchall())
        labels.update({key: names.get(int(key), key) for key in counts if key})
        if "" in labels:
            labels[""] = "(unassigned)"
    return labels


# --- activity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekActivity(Result):
    week: str  # its Monday
    followups: int
    orders: int
    order_total_cents: int


@dataclass(frozen=True)
class Activity(Result):
    since: str
    until: str
    weeks: tuple[WeekActivity, ...]

    def csv_rows(self) -> list[dict[str, Any]]:
        return [week.to_dict() for week in self.weeks]


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def activity(
    conn: sqlite3.Connection,
    scope: int | None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Activity:
    """Follow-ups and orders (count and amount) per week, every week of the period listed;
    by default the last `ACTIVITY_WEEKS` weeks up to today. (Follow-ups due and overdue per
    rep are the due list's own count, `Service.due_by_rep`.)

    Everyone's weeks are counted week by week as ranges of `followups_at` and
    `interactions_kind_at`, with no sorting; one rep's from their own customers' rows."""
    end = until or dt.date.today()
    start = since or _monday(end) - dt.timedelta(weeks=ACTIVITY_WEEKS - 1)
    mondays = []
    monday = _monday(start)
    while monday <= end:
        mondays.append(monday)
        monday += dt.timedelta(weeks=1)
    # each week, clipped to the period: [its Monday or the start, next Monday or past the end)
    bounds = [
        (
            max(monday, start).isoformat(),
            min(monday + dt.timedelta(weeks=1), end + dt.timedelta(days=1)).isoformat(),
        )
        for monday in mondays
    ]
    followups: list[int]
    orders: list[tuple[int, int]]
    if scope is None:
        followups = [
            conn.execute(
                "SELECT COUNT(*) FROM followups INDEXED BY followups_at WHERE at >= ? AND at < ?",
                week,
            ).fetchone()[0]
            for week in bounds
        ]
        orders = [
            tuple(
                conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0)"
                    " FROM interactions INDEXED BY interactions_kind_at"
                    " WHERE kind = 'order' AND at >= ? AND at < ? AND amount_cents IS NOT NULL",
                    week,
                ).fetchone()
            )
            for week in bounds
        ]
    else:
        params = {"start": start.isoformat(), "end": _after(end), "scope": scope}
        week = "date({}, '-6 days', 'weekday 1')"
        per_followups = dict(
            conn.execute(
                f"SELECT {week.format('f.at')} AS wk, COUNT(*) FROM customers c"
                " CROSS JOIN followups f ON f.customer_id = c.id WHERE c.owner_id = :scope"
                " AND f.at >= :start AND f.at < :end GROUP BY wk",
                params,
            ).fetchall()
        )
        per_orders = {
            row[0]: (row[1], row[2])
            for row in conn.execute(
                f"SELECT {week.format('i.at')} AS wk, COUNT(*), SUM(i.amount_cents)"
                " FROM customers c CROSS JOIN interactions i INDEXED BY interactions_customer_kind"
                " ON i.customer_id = c.id"
                f" WHERE c.owner_id = :scope AND {_ORDER} AND i.at >= :start AND i.at < :end"
                " GROUP BY wk",
                params,
            )
        }
        followups = [per_followups.get(m.isoformat(), 0) for m in mondays]
        orders = [per_orders.get(m.isoformat(), (0, 0)) for m in mondays]
    weeks = tuple(
        WeekActivity(monday.isoformat(), count, placed[0], placed[1])
        for monday, count, placed in zip(mondays, followups, orders, strict=True)
    )
    return Activity(start.isoformat(), end.isoformat(), weeks)


# --- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard(Result):
    """Every tab's numbers (due and overdue per rep come from `Service.due_by_rep`)."""

    tiers: TierReport
    churn: ChurnSummary
    worklist: tuple[AtRiskCustomer, ...]
    funnel: Funnel
    activity: Activity


def dashboard(
    conn: sqlite3.Connection,
    keys: KeyRing,
    scope: int | None,
    settings: AnalyticsSettings,
    today: dt.date | None = None,
) -> Dashboard:
    """The dashboard's numbers with their defaults: the top 5 of each tier, the first page
    of the churn worklist, the funnel of the last `DASHBOARD_FUNNEL_DAYS` days, and activity
    of the last `ACTIVITY_WEEKS` weeks. Run it inside `Database.read()` for one snapshot."""
    day = today or dt.date.today()
    return Dashboard(
        tiers=tier_report(conn, scope, top=5),
        churn=churn_summary(conn, scope),
        worklist=churn_worklist(conn, keys, scope, settings, limit=DASHBOARD_WORKLIST, today=day),
        funnel=funnel(conn, scope, since=day - dt.timedelta(days=DASHBOARD_FUNNEL_DAYS), until=day),
        activity=activity(conn, scope, until=day),
    )
