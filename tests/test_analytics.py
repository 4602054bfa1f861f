"""Value tiers, churn warnings, the funnel and activity on a small hand-built database.

Every expected number below was worked out by hand from the rows `shop` inserts (the
comments show the arithmetic); none is read back from the code under test. "Today" is
2026-06-30 throughout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import rewind_schema
from tui_crm import analytics, listing, retention
from tui_crm.backup import BackupStore
from tui_crm.config import AnalyticsSettings, ChurnRule, ConfigError, Settings
from tui_crm.db import MIGRATIONS, Database, connect
from tui_crm.listing import CustomerQuery
from tui_crm.service import Service
from tui_crm.validation import FollowUpResult, InteractionKind

TODAY = dt.date(2026, 6, 30)
# Spend >= 2,000.00 scores 3, >= 500.00 2; 3+ orders 3, 2 orders 2; last order at most 30
# days ago 3, at most 90 days 2; 8+ points is high, 6-7 medium, 3-5 low.
FIXED = AnalyticsSettings(
    spend_high_cents=200_000,
    spend_medium_cents=50_000,
    orders_high=3,
    orders_medium=2,
    recency_high_days=30,
    recency_medium_days=90,
)

# code: (name, owner, created, type, source, industry, province)
CUSTOMERS = {
    "C1": ("Alpha", "sales1", "2026-01-01", "customer", "referral", "C", "北京市"),
    "C2": ("Beta", "sales1", "2026-02-01", "customer", "online ad", "I", "上海市"),
    "C3": ("Gamma", "sales2", "2026-03-01", "prospect", "trade show", "C", "北京市"),
    "C4": ("Delta", "sales2", "2026-04-01", "customer", "referral", "F", ""),
    "C5": ("Epsilon", None, "2025-06-01", "churned", "other", "C", ""),
    "C6": ("Zeta", "sales2", "2026-05-01", "prospect", "online ad", "I", "上海市"),
    "C7": ("Eta", "sales1", "2026-01-15", "prospect", "website", "C", ""),
    "C8": ("Theta", "sales2", "2026-01-20", "customer", "trade show", "F", ""),
}
# (code, day, kind, yuan)
INTERACTIONS = [
    ("C1", "2026-01-11", "order", 1000),
    ("C1", "2026-03-01", "order", 2000),
    ("C1", "2026-06-20", "order", 3000),
    ("C2", "2026-02-15", "order", 500),
    ("C2", "2026-05-01", "complaint", None),
    ("C2", "2026-05-02", "complaint", None),
    ("C2", "2026-06-01", "complaint", None),
    ("C3", "2026-04-01", "complaint", None),  # one day before the 90-day window
    ("C3", "2026-04-02", "complaint", None),
    ("C3", "2026-06-10", "complaint", None),
    ("C3", "2026-06-11", "complaint", None),
    ("C3", "2026-06-12", "enquiry", None),
    ("C5", "2025-07-01", "order", 100),
    ("C5", "2025-08-01", "order", 100),
    ("C7", "2026-03-01", "order", 800),
    ("C7", "2026-04-01", "order", 800),  # exactly 90 days before today
    ("C8", "2026-03-31", "order", 3000),  # 91 days before today
]
# (code, day, result, next planned)
FOLLOWUPS = [
    ("C1", "2026-01-05", "interest", None),
    ("C1", "2026-06-02", "no answer", None),
    ("C2", "2026-02-10", "need confirmed", None),
    ("C2", "2026-03-01", "interest", None),
    ("C3", "2026-03-11", "interest", None),
    ("C4", "2026-04-02", "no answer", None),
    ("C6", "2026-06-03", "no answer", None),
    ("C8", "2026-06-29", "other", "2026-07-05"),
]


@pytest.fixture
def shop(db: Database) -> dict[str, int]:
    """The customers above, inserted row by row; returns code -> id (and user name -> id)."""
    users = dict(db.conn.execute("SELECT username, id FROM users").fetchall())
    ids: dict[str, int] = {}
    with db.write() as tx:
        for code, (name, owner, created, ctype, source, industry, province) in CUSTOMERS.items():
            ids[code] = tx.execute(
                "INSERT INTO customers(code, name, kind, customer_type, source, industry,"
                " province, owner_id, created_at, updated_at) VALUES (?, ?, 'company', ?, ?, ?,"
                " ?, ?, ?, ?)",
                (
                    code,
                    name,
                    ctype,
                    source,
                    industry,
                    province,
                    users.get(owner),
                    f"{created}T09:00:00",
                    f"{created}T09:00:00",
                ),
            ).lastrowid
        for code, day, kind, yuan in INTERACTIONS:
            tx.execute(
                "INSERT INTO interactions(customer_id, at, kind, amount_cents) VALUES (?, ?, ?, ?)",
                (ids[code], f"{day}T10:00:00", kind, None if yuan is None else yuan * 100),
            )
        for code, day, result, planned in FOLLOWUPS:
            tx.execute(
                "INSERT INTO followups(customer_id, at, channel, result, next_followup_date)"
                " VALUES (?, ?, 'phone', ?, ?)",
                (ids[code], f"{day}T11:00:00", result, planned),
            )
        tx.execute(
            "UPDATE customers SET last_interaction_at = (SELECT MAX(at) FROM"
            " (SELECT at FROM interactions i WHERE i.customer_id = customers.id UNION ALL"
            " SELECT at FROM followups f WHERE f.customer_id = customers.id)),"
            " next_followup_at = (SELECT MAX(next_followup_date) FROM followups f"
            " WHERE f.customer_id = customers.id)"
        )
    return {**ids, **users}


def _scored(db: Database, settings: AnalyticsSettings = FIXED) -> analytics.TierRecompute:
    with db.write() as tx:
        return analytics.recompute_tiers(tx, settings, TODAY)


def _refresh(
    db: Database, today: dt.date = TODAY, settings: AnalyticsSettings = FIXED
) -> analytics.ChurnRefresh:
    with db.write() as tx:
        return analytics.refresh_churn(tx, settings, today)


def _figures(db: Database, customer_id: int) -> tuple:
    return tuple(
        db.conn.execute(
            "SELECT order_total_cents, order_count, first_order_at, second_order_at,"
            " last_order_at FROM customers WHERE id = ?",
            (customer_id,),
        ).fetchone()
    )


def _tier_of(db: Database, customer_id: int) -> str | None:
    rank = db.conn.execute(
        "SELECT value_tier FROM customers WHERE id = ?", (customer_id,)
    ).fetchone()[0]
    return analytics.tier_name(rank)


def test_sql_literals_match_the_enums() -> None:
    """The migration's triggers spell out kinds and results; they must be the real ones."""
    script = next(m for m in MIGRATIONS if isinstance(m, str) and "value_tier_rules" in m)
    assert f"('{FollowUpResult.INTEREST}', '{FollowUpResult.NEED_CONFIRMED}')" in script
    assert f"kind = '{InteractionKind.ORDER}'" in script


# --- figures kept by triggers ---------------------------------------------------------------


def test_order_figures_after_inserts(db: Database, shop: dict[str, int]) -> None:
    # Alpha: 1000 + 2000 + 3000 yuan in three orders; Epsilon: 100 + 100.
    assert _figures(db, shop["C1"]) == (
        600_000,
        3,
        "2026-01-11T10:00:00",
        "2026-03-01T10:00:00",
        "2026-06-20T10:00:00",
    )
    assert _figures(db, shop["C5"]) == (
        20_000,
        2,
        "2025-07-01T10:00:00",
        "2025-08-01T10:00:00",
        "2025-08-01T10:00:00",
    )
    assert _figures(db, shop["C3"]) == (0, 0, None, None, None)  # complaints are not orders
    interest = "SELECT first_interest_at FROM customers WHERE id = ?"
    assert db.conn.execute(interest, (shop["C2"],)).fetchone()[0] == "2026-02-10T11:00:00"
    assert db.conn.execute(interest, (shop["C4"],)).fetchone()[0] is None  # "no answer"


def test_order_figures_follow_earlier_orders_deletes_moves_and_edits(
    db: Database, shop: dict[str, int]
) -> None:
    alpha, beta, zeta = shop["C1"], shop["C2"], shop["C6"]
    with db.write() as tx:
        tx.execute(
            "INSERT INTO interactions(customer_id, at, kind, amount_cents)"
            " VALUES (?, '2026-01-02T08:00:00', 'order', 10000)",
            (alpha,),
        )
        tx.execute(  # an order without an amount is not counted
            "INSERT INTO interactions(customer_id, at, kind) VALUES (?, '2026-06-25T08:00:00',"
            " 'order')",
            (alpha,),
        )
    # 600,000 + 10,000; the new earliest order pushes 01-11 into second place.
    assert _figures(db, alpha) == (
        610_000,
        4,
        "2026-01-02T08:00:00",
        "2026-01-11T10:00:00",
        "2026-06-20T10:00:00",
    )
    with db.write() as tx:
        tx.execute(
            "DELETE FROM interactions WHERE customer_id = ? AND at LIKE '2026-01-11%'", (alpha,)
        )
        tx.execute(
            "DELETE FROM interactions WHERE customer_id = ? AND at LIKE '2026-06-20%'", (alpha,)
        )
    # left: 01-02 (100) and 03-01 (2,000)
    assert _figures(db, alpha) == (
        210_000,
        2,
        "2026-01-02T08:00:00",
        "2026-03-01T10:00:00",
        "2026-03-01T10:00:00",
    )
    with db.write() as tx:  # a merge moves Beta's order to Zeta
        tx.execute(
            "UPDATE interactions SET customer_id = ? WHERE customer_id = ? AND kind = 'order'",
            (zeta, beta),
        )
    assert _figures(db, beta) == (0, 0, None, None, None)
    assert _figures(db, zeta) == (50_000, 1, "2026-02-15T10:00:00", None, "2026-02-15T10:00:00")
    with db.write() as tx:  # an order re-filed as an enquiry stops counting
        tx.execute("UPDATE interactions SET kind = 'enquiry' WHERE customer_id = ?", (zeta,))
    assert _figures(db, zeta) == (0, 0, None, None, None)
    with db.write() as tx:
        tx.execute(
            "UPDATE followups SET result = 'no answer' WHERE customer_id = ? AND"
            " result = 'need confirmed'",
            (beta,),
        )
    interest = "SELECT first_interest_at FROM customers WHERE id = ?"
    assert db.conn.execute(interest, (beta,)).fetchone()[0] == "2026-03-01T11:00:00"


def test_saving_an_order_through_the_service_scores_the_customer(
    db: Database, shop: dict[str, int], session
) -> None:
    _scored(db)
    assert _tier_of(db, shop["C3"]) == "none"
    sales2: Service = session("sales2")
    interaction_id = sales2.activity.add_interaction(
        shop["C3"], kind="order", detail="First order", amount="3000", at="2026-06-29T15:00:00"
    )
    # 300,000 >= 200,000: 3; one order: 1; 1 day before the scoring day: 3 -> 7: medium.
    assert _figures(db, shop["C3"])[:2] == (300_000, 1)
    assert _tier_of(db, shop["C3"]) == "medium"
    with db.read() as conn:
        figures = analytics.customer_figures(conn, shop["C3"], FIXED, TODAY)
    assert figures is not None
    assert (figures.spend_score, figures.orders_score, figures.recency_score) == (3, 1, 3)
    assert figures.average_order_cents == 300_000
    assert figures.complaints_recent == 3  # 04-02, 06-10, 06-11 (04-01 is outside)
    assert [w.rule for w in figures.warnings] == ["complaints_3_in_90d"]
    with db.write() as tx:
        tx.execute("DELETE FROM interactions WHERE id = ?", (interaction_id,))
    assert _figures(db, shop["C3"])[:2] == (0, 0)
    assert _tier_of(db, shop["C3"]) == "none"


def test_retention_purge_takes_the_customer_figures_and_warnings_along(
    db: Database, shop: dict[str, int]
) -> None:
    _scored(db)
    _refresh(db)
    policy = retention.Policy(years=1)
    later = dt.date(2027, 9, 1)  # Epsilon (churned) last heard from 2025-08-01
    assert [c.code for c in retention.preview(db, policy, later)] == ["C5"]
    retention.purge(db, policy, 1, actor="test", today=later)
    with db.read() as conn:
        report = analytics.tier_report(conn, None)
        churn = analytics.churn_summary(conn, None)
    low = next(t for t in report.tiers if t.tier == "low")
    # low was Beta 50,000 + Epsilon 20,000 + Theta 300,000; Epsilon is gone
    assert (low.customers, low.order_total_cents, low.order_count) == (2, 350_000, 2)
    assert churn.at_risk == 3
    left = "SELECT COUNT(*) FROM churn_warnings WHERE customer_id = ?"
    assert db.conn.execute(left, (shop["C5"],)).fetchone()[0] == 0
    assert _figures(db, shop["C1"])[:2] == (600_000, 3)


def test_incremental_backup_restores_the_figures_exactly(
    db: Database, shop: dict[str, int], session, tmp_path: Path
) -> None:
    store = BackupStore(tmp_path / "backups", db.keys)
    store.create(db, full=True)
    session("sales1").activity.add_interaction(
        shop["C2"], kind="order", detail="Second order", amount="700", at="2026-06-28T10:00:00"
    )
    with db.write() as tx:
        tx.execute(
            "DELETE FROM interactions WHERE customer_id = ? AND kind = 'order'", (shop["C7"],)
        )
    incremental = store.create(db, full=False)
    restored = tmp_path / "restored.db"
    store.restore(incremental.id, restored)
    copy = connect(restored)
    try:
        for code in ("C2", "C7"):
            back = copy.execute(
                "SELECT order_total_cents, order_count, first_order_at, second_order_at,"
                " last_order_at FROM customers WHERE id = ?",
                (shop[code],),
            ).fetchone()
            assert tuple(back) == _figures(db, shop[code])
    finally:
        copy.close()
    assert _figures(db, shop["C2"])[:2] == (120_000, 2)


def test_the_migration_backfills_figures_of_an_older_database(
    db: Database, shop: dict[str, int]
) -> None:
    before_analytics = next(
        i for i, m in enumerate(MIGRATIONS) if isinstance(m, str) and "value_tier_rules" in m
    )
    with db.write() as tx:
        rewind_schema(tx, before_analytics)
    reopened = Database.open(db.path, db.keys)
    try:
        row = reopened.conn.execute(
            "SELECT order_total_cents, order_count, first_order_at, second_order_at,"
            " last_order_at, first_interest_at, value_tier FROM customers WHERE id = ?",
            (shop["C1"],),
        ).fetchone()
        assert tuple(row) == (
            600_000,
            3,
            "2026-01-11T10:00:00",
            "2026-03-01T10:00:00",
            "2026-06-20T10:00:00",
            "2026-01-05T11:00:00",
            None,  # scored by the first recompute_tiers
        )
        assert _tier_of(reopened, shop["C4"]) == "none"
        assert analytics.tier_rules(reopened.conn) is None
    finally:
        reopened.close()


# --- value tiers ----------------------------------------------------------------------------


def test_tiers_from_configured_thresholds(db: Database, shop: dict[str, int]) -> None:
    result = _scored(db)
    # Alpha 3+3+3 high; Eta 2 (1,600) + 2 (2 orders) + 2 (90 days) medium; Beta 2+1+1,
    # Epsilon 1+2+1 and Theta 3+1+1 (91 days) low; Gamma, Delta, Zeta never ordered.
    assert result.counts == {"high": 1, "medium": 1, "low": 3, "none": 3}
    assert result.changed == 5
    assert result.rules.sources["spend_high_cents"] == "config"
    assert {code: _tier_of(db, shop[code]) for code in CUSTOMERS} == {
        "C1": "high",
        "C2": "low",
        "C3": "none",
        "C4": "none",
        "C5": "low",
        "C6": "none",
        "C7": "medium",
        "C8": "low",
    }
    with db.read() as conn:
        everyone = analytics.tier_report(conn, None, top=2)
        sales1 = analytics.tier_report(conn, shop["sales1"])
        sales2 = analytics.tier_report(conn, shop["sales2"])
    rows = {t.tier: t for t in everyone.tiers}
    assert (rows["high"].customers, rows["high"].order_total_cents, rows["high"].order_count) == (
        1,
        600_000,
        3,
    )
    # low: 50,000 + 20,000 + 300,000 over 1 + 2 + 1 orders
    assert (rows["low"].order_total_cents, rows["low"].average_order_cents) == (370_000, 92_500)
    assert rows["none"].share == 3 / 8
    assert [c.code for c in everyone.top["low"]] == ["C8", "C2"]
    assert {t.tier: t.customers for t in sales1.tiers} == {
        "high": 1,
        "medium": 1,
        "low": 1,
        "none": 0,
    }
    assert {t.tier: t.customers for t in sales2.tiers} == {
        "high": 0,
        "medium": 0,
        "low": 1,
        "none": 3,
    }
    assert [c.code for c in sales2.top["low"]] == ["C8"]
    assert sales2.top["high"] == ()


def test_tiers_default_to_quantiles_of_the_base(db: Database, shop: dict[str, int]) -> None:
    result = _scored(db, AnalyticsSettings())
    # Spend of the five who ordered, ascending: 20,000 50,000 160,000 300,000 600,000;
    # orders 1 1 2 2 3; days since the last order 10 90 91 135 333. The 0.8 quantile is the
    # 5th value (index int(0.8 * 5) = 4), 0.5 the 3rd; recency takes the 0.2 and 0.5 ones.
    rules = result.rules
    assert (rules.spend_high_cents, rules.spend_medium_cents) == (600_000, 160_000)
    assert (rules.orders_high, rules.orders_medium) == (3, 2)
    assert (rules.recency_high_days, rules.recency_medium_days) == (90, 91)
    assert set(rules.sources.values()) == {"quantile 0.80", "quantile 0.50", "quantile 0.20"}
    # Alpha 3+3+3; Eta 2+2+3 = 7 medium; Theta 2+1+2, Epsilon 1+2+1, Beta 1+1+1 low.
    assert result.counts == {"high": 1, "medium": 1, "low": 3, "none": 3}
    assert _tier_of(db, shop["C7"]) == "medium"


def test_a_threshold_change_rescores_only_those_who_move(
    db: Database, shop: dict[str, int]
) -> None:
    _scored(db)
    stricter = dataclasses.replace(FIXED, high_score=9, medium_score=7)
    result = _scored(db, stricter)
    # Alpha keeps 9 (high); Eta's 6 falls below medium's new 7.
    assert result.changed == 1
    assert result.counts == {"high": 1, "medium": 0, "low": 4, "none": 3}


def test_list_filters_and_sorts_by_tier_and_churn_risk(db: Database, shop: dict[str, int]) -> None:
    _scored(db)
    _refresh(db)

    def names(query: CustomerQuery, scope: int | None = None, limit: int = 50) -> list[str]:
        rows = listing.page(db.conn, db.keys, query, scope, limit=limit)
        return [row["name"] for _, row in rows]

    assert names(CustomerQuery(tier="high")) == ["Alpha"]
    assert names(CustomerQuery(tier="low")) == ["Beta", "Epsilon", "Theta"]
    assert names(CustomerQuery(tier="none", customer_type="customer")) == ["Delta"]
    by_tier = names(CustomerQuery(sort="tier"))
    assert by_tier[:2] == ["Alpha", "Eta"]
    assert set(by_tier[2:5]) == {"Beta", "Epsilon", "Theta"}
    assert set(by_tier[5:]) == {"Gamma", "Delta", "Zeta"}
    assert names(CustomerQuery(sort="tier", descending=True))[-1] == "Alpha"
    # At risk: Beta (no order 135 days, 3 complaints), Gamma (3 complaints), Epsilon and
    # Theta (no order for 333 and 91 days); listed most valuable first, then by id.
    assert names(CustomerQuery(churn_risk=True)) == ["Beta", "Epsilon", "Theta", "Gamma"]
    assert listing.sort_label(CustomerQuery(churn_risk=True)) == "value tier"
    assert listing.sort_label(CustomerQuery(tier="low")) == "customer id"
    assert names(CustomerQuery(churn_risk=True, sort="tier"), shop["sales2"]) == [
        "Theta",
        "Gamma",
    ]
    assert names(CustomerQuery(churn_risk=True, tier="low", sort="tier")) == [
        "Beta",
        "Epsilon",
        "Theta",
    ]
    plan = " ".join(
        listing.explain(
            db.conn, db.keys, CustomerQuery(churn_risk=True, sort="tier"), shop["sales2"]
        )
    )
    assert "customers_churn " in plan
    for query, index in (
        (CustomerQuery(churn_risk=True), "customers_churn_tier"),
        (CustomerQuery(sort="tier"), "customers_tier"),
        (CustomerQuery(tier="high", sort="last_interaction"), "customers_tier"),
    ):
        assert index + " " in " ".join(listing.explain(db.conn, db.keys, query, None))
    # keyset paging one row at a time walks the same order as one big page
    query = CustomerQuery(sort="tier")
    walked, after = [], None
    while rows := listing.page(db.conn, db.keys, query, None, after, limit=1):
        walked.append(rows[0][1]["name"])
        after = rows[0][0]
    assert walked == by_tier
    assert listing.count(db.conn, db.keys, CustomerQuery(churn_risk=True), None) == (4, False)


def test_unscored_customers_list_last_under_the_tier_sort(
    db: Database, shop: dict[str, int]
) -> None:
    """Before the first recompute, customers with orders have no tier yet (NULL)."""
    rows = listing.page(db.conn, db.keys, CustomerQuery(sort="tier"), None)
    names = [row["name"] for _, row in rows]
    assert set(names[:3]) == {"Gamma", "Delta", "Zeta"}  # "none" is known without scoring
    assert set(names[3:]) == {"Alpha", "Beta", "Epsilon", "Eta", "Theta"}


# --- churn ----------------------------------------------------------------------------------


def test_churn_warnings_name_their_rule_and_numbers(db: Database, shop: dict[str, int]) -> None:
    _scored(db)
    result = _refresh(db)
    raised = {(c.customer_id, c.rule) for c in result.raised}
    assert raised == {
        (shop["C2"], "no_order_90d"),
        (shop["C2"], "complaints_3_in_90d"),
        (shop["C3"], "complaints_3_in_90d"),
        (shop["C5"], "no_order_90d"),
        (shop["C8"], "no_order_90d"),
    }
    assert result.at_risk == 4 and result.cleared == ()
    # Reminders for owners with nothing planned: Beta (sales1) and Gamma (sales2); Theta
    # has a call planned on 07-05 and Epsilon has no owner.
    assert [(r.code, r.on) for r in result.reminders] == [
        ("C2", "2026-06-30"),
        ("C3", "2026-06-30"),
    ]
    with db.read() as conn:
        warnings = analytics.warnings_for(conn, [shop["C2"], shop["C8"], shop["C1"]], FIXED, TODAY)
    beta = {w.rule: w for w in warnings[shop["C2"]]}
    assert beta["no_order_90d"].days_since_order == 135
    assert beta["no_order_90d"].last_order_at == "2026-02-15"
    assert beta["no_order_90d"].orders == 1
    assert beta["no_order_90d"].reminder_on == "2026-06-30"
    assert beta["complaints_3_in_90d"].complaints == 3
    assert "135 days" in beta["no_order_90d"].describe()
    (theta,) = warnings[shop["C8"]]
    assert (theta.days_since_order, theta.since, theta.reminder_on) == (91, "2026-06-30", None)
    assert warnings[shop["C1"]] == ()


def test_a_warning_plans_a_follow_up_in_the_owners_due_list(
    db: Database, shop: dict[str, int], session
) -> None:
    _refresh(db)
    due = session("sales1").due.followups(today=TODAY)
    assert [(d.code, d.days_overdue) for d in due] == [("C2", 0)]
    due = session("sales2").due.followups(today=TODAY)
    assert [d.code for d in due] == ["C3"]  # Theta's own plan (07-05) is not due yet


def test_churn_refresh_keeps_persisting_warnings_and_clears_lapsed_ones(
    db: Database, shop: dict[str, int], session
) -> None:
    _scored(db)
    _refresh(db)
    again = _refresh(db)
    assert (again.raised, again.cleared, again.reminders, again.at_risk) == ((), (), (), 4)
    session("sales1").activity.add_interaction(
        shop["C2"], kind="order", detail="Back again", amount="100", at="2026-06-30T09:00:00"
    )
    next_day = _refresh(db, TODAY + dt.timedelta(days=1))
    # Beta ordered: its no-order warning goes (complaints stay). On 07-01 the window starts
    # 04-03, so Gamma is down to 2 complaints; Eta's last order (04-01) is now 91 days old.
    assert {(c.code, c.rule) for c in next_day.cleared} == {
        ("C2", "no_order_90d"),
        ("C3", "complaints_3_in_90d"),
    }
    assert {(c.code, c.rule) for c in next_day.raised} == {("C7", "no_order_90d")}
    assert [r.code for r in next_day.reminders] == ["C7"]
    flags = dict(db.conn.execute("SELECT code, churn_risk FROM customers").fetchall())
    assert flags == {"C1": 0, "C2": 1, "C3": 0, "C4": 0, "C5": 1, "C6": 0, "C7": 1, "C8": 1}
    since = db.conn.execute(
        "SELECT since FROM churn_warnings WHERE customer_id = ? AND rule = 'no_order_90d'",
        (shop["C8"],),
    ).fetchone()[0]
    assert since == "2026-06-30"


def test_churn_rules_come_from_config(db: Database, shop: dict[str, int], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[analytics]\n"
        "[[analytics.churn]]\nkind = 'complaints'\ncount = 1\ndays = 30\nname = 'angry'\n"
        "[[analytics.churn]]\nkind = 'no_order'\ndays = 120\n"
    )
    settings = Settings.load(config).analytics
    assert [r.name for r in settings.churn_rules] == ["angry", "no_order_120d"]
    result = _refresh(db, settings=settings)
    # complaints since 06-01: Beta (06-01) and Gamma (06-10, 06-11); no order for over 120
    # days: Beta (135) and Epsilon (333), not Theta (91).
    assert {(c.code, c.rule) for c in result.raised} == {
        ("C2", "angry"),
        ("C3", "angry"),
        ("C2", "no_order_120d"),
        ("C5", "no_order_120d"),
    }


def test_churn_summary_and_worklist_by_scope(db: Database, shop: dict[str, int]) -> None:
    _scored(db)
    _refresh(db)
    with db.read() as conn:
        everyone = analytics.churn_summary(conn, None)
        sales2 = analytics.churn_summary(conn, shop["sales2"])
        worklist = analytics.churn_worklist(conn, db.keys, shop["sales2"], FIXED, today=TODAY)
        first = analytics.churn_worklist(conn, db.keys, None, FIXED, limit=2, today=TODAY)
        rest = analytics.churn_worklist(
            conn, db.keys, None, FIXED, after=first[-1].key, today=TODAY
        )
    assert (everyone.customers, everyone.at_risk) == (8, 4)
    assert everyone.by_rule == {"complaints_3_in_90d": 2, "no_order_90d": 3}
    assert everyone.by_tier == {"high": 0, "medium": 0, "low": 3, "none": 1}
    assert [(r.owner, r.at_risk) for r in everyone.by_rep] == [
        ("sales2", 2),
        ("", 1),
        ("sales1", 1),
    ]
    assert (sales2.customers, sales2.at_risk, sales2.by_rule) == (
        4,
        2,
        {"complaints_3_in_90d": 1, "no_order_90d": 1},
    )
    assert [(w.code, w.tier, [x.rule for x in w.warnings]) for w in worklist] == [
        ("C8", "low", ["no_order_90d"]),
        ("C3", "none", ["complaints_3_in_90d"]),
    ]
    assert [w.code for w in (*first, *rest)] == ["C2", "C5", "C8", "C3"]


# --- funnel and activity --------------------------------------------------------------------


def _steps(row: analytics.FunnelRow) -> list[tuple]:
    return [(s.step, s.count, s.rate, s.median_days) for s in row.steps]


def test_funnel_counts_rates_and_median_days(db: Database, shop: dict[str, int]) -> None:
    with db.read() as conn:
        result = analytics.funnel(conn, None, dt.date(2026, 1, 1), TODAY)
    # Leads created in 2026: all but Epsilon (7). Interested: Alpha, Beta, Gamma (follow-
    # ups), Delta (typed customer), Eta and Theta (ordered) = 6. Customers: Alpha, Beta,
    # Delta, Eta, Theta = 5. Repeat: Alpha (3 orders), Eta (2) = 2.
    # Days lead -> interested: Alpha 4, Beta 9, Gamma 10 (median 9); interested -> customer:
    # Alpha 6, Beta 5 (5.5); first -> second order: Alpha 49, Eta 31 (40).
    assert _steps(result.total) == [
        ("leads", 7, None, None),
        ("interested", 6, 6 / 7, 9.0),
        ("customers", 5, 5 / 6, 5.5),
        ("repeat", 2, 2 / 5, 40.0),
    ]
    assert result.total.steps[3].rate_of_leads == 2 / 7
    assert result.groups == ()


def test_funnel_breakdowns_and_scope(db: Database, shop: dict[str, int]) -> None:
    start = dt.date(2026, 1, 1)
    with db.read() as conn:
        by_rep = analytics.funnel(conn, None, start, TODAY, by="rep")
        by_region = analytics.funnel(conn, None, start, TODAY, by="region")
        by_source = analytics.funnel(conn, None, start, TODAY, by="source")
        sales2 = analytics.funnel(conn, shop["sales2"], start, TODAY, by="industry")
        all_time = analytics.funnel(conn, None, until=TODAY)
    counts = {g.label: [s.count for s in g.steps] for g in by_rep.groups}
    # sales1: Alpha, Beta, Eta; sales2: Gamma, Delta, Zeta, Theta
    assert counts == {"sales2": [4, 3, 2, 0], "sales1": [3, 3, 3, 2]}
    assert [g.label for g in by_rep.groups] == ["sales2", "sales1"]  # most leads first
    regions = {g.label: [s.count for s in g.steps] for g in by_region.groups}
    assert regions == {"(none)": [3, 3, 3, 1], "北京市": [2, 2, 1, 1], "上海市": [2, 1, 1, 0]}
    sources = {g.key: g.steps[0].count for g in by_source.groups}
    assert sources == {"referral": 2, "online ad": 2, "trade show": 2, "website": 1}
    industries = {g.key: [s.count for s in g.steps] for g in sales2.groups}
    # sales2 in industry C: Gamma; F: Delta, Theta; I: Zeta
    assert industries == {"C": [1, 1, 0, 0], "F": [2, 2, 2, 0], "I": [1, 0, 0, 0]}
    assert _steps(sales2.total)[0] == ("leads", 4, None, None)
    # all time adds Epsilon (churned: a customer once, 2 orders, 31 days apart)
    assert [s.count for s in all_time.total.steps] == [8, 7, 6, 3]
    assert all_time.total.steps[3].median_days == 31.0  # Epsilon 31, Eta 31, Alpha 49


def test_activity_per_week_in_scope(db: Database, shop: dict[str, int]) -> None:
    start, end = dt.date(2026, 6, 1), TODAY  # Mondays: 06-01 ... 06-29
    with db.read() as conn:
        everyone = analytics.activity(conn, None, start, end)
        sales1 = analytics.activity(conn, shop["sales1"], start, end)
        sales2 = analytics.activity(conn, shop["sales2"], start, end)
    # June follow-ups: Alpha 06-02, Zeta 06-03 (week of 06-01), Theta 06-29; one order,
    # Alpha's 3,000 on 06-20 (week of 06-15).
    assert [(w.week, w.followups, w.orders, w.order_total_cents) for w in everyone.weeks] == [
        ("2026-06-01", 2, 0, 0),
        ("2026-06-08", 0, 0, 0),
        ("2026-06-15", 0, 1, 300_000),
        ("2026-06-22", 0, 0, 0),
        ("2026-06-29", 1, 0, 0),
    ]
    assert [(w.followups, w.orders) for w in sales1.weeks] == [
        (1, 0),
        (0, 0),
        (0, 1),
        (0, 0),
        (0, 0),
    ]
    assert [(w.followups, w.orders) for w in sales2.weeks] == [
        (1, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (1, 0),
    ]
    default = analytics.activity(db.conn, None, until=TODAY)
    assert len(default.weeks) == analytics.ACTIVITY_WEEKS
    assert default.weeks[-1].week == "2026-06-29"


def test_dashboard_numbers_are_plain_data(db: Database, shop: dict[str, int]) -> None:
    _scored(db)
    _refresh(db)
    with db.read() as conn:
        board = analytics.dashboard(conn, db.keys, shop["sales1"], FIXED, TODAY)
    data = json.loads(json.dumps(board.to_dict()))
    assert [t["customers"] for t in data["tiers"]["tiers"]] == [1, 1, 1, 0]
    assert data["churn"]["at_risk"] == 1
    assert [w["code"] for w in data["worklist"]] == ["C2"]
    assert data["funnel"]["total"]["steps"][0]["count"] == 3  # Alpha, Beta, Eta (since 2025-06-30)
    assert board.funnel.csv_rows()[0]["repeat"] == 2
    assert board.tiers.csv_rows()[0] == {
        "tier": "high",
        "customers": 1,
        "share": 1 / 3,
        "order_total_cents": 600_000,
        "order_count": 3,
        "average_order_cents": 200_000,
    }


def test_analytics_config_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[analytics]\nspend_high = 2000\nspend_medium = '500.50'\norders_high = 3\n")
    settings = Settings.load(config).analytics
    assert (settings.spend_high_cents, settings.spend_medium_cents) == (200_000, 50_050)
    assert settings.orders_high == 3 and settings.orders_medium is None
    for bad in (
        "spend_high = 100\nspend_medium = 200",
        "orders_high = -1",
        "high_quantile = 0.4",
        "[[analytics.churn]]\nkind = 'weather'",
        "[[analytics.churn]]\nkind = 'no_order'\n[[analytics.churn]]\nkind = 'no_order'",
    ):
        config.write_text("[analytics]\n" + bad + "\n")
        with pytest.raises(ConfigError, match=r"\[analytics\]"):
            Settings.load(config)
    assert ChurnRule("complaints", days=30, count=2).name == "complaints_2_in_30d"
