"""Analytics and the verification sample through the service: who sees which customers'
numbers, and every job audited. The shop and its hand-worked numbers are test_analytics's."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from tests import test_analytics
from tests.test_analytics import FIXED, TODAY
from tui_crm.config import Settings, VerificationSettings
from tui_crm.db import Database
from tui_crm.service import PermissionDenied, Service, ServiceError

shop = test_analytics.shop  # the hand-built customers, as a fixture of this module too
SETTINGS = Settings(analytics=FIXED, verification=VerificationSettings(percent=50, due_days=7))


def _audit(db: Database, action: str) -> list[dict]:
    rows = db.conn.execute(
        "SELECT actor, details FROM audit_log WHERE action = ? ORDER BY id", (action,)
    ).fetchall()
    return [{"actor": r["actor"], "details": r["details"]} for r in rows]


def test_jobs_are_for_managers_and_admins_and_audited(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    for role in ("sales1", "service"):
        with pytest.raises(PermissionDenied):
            session(role).analytics.recompute_tiers(SETTINGS, TODAY)
        with pytest.raises(PermissionDenied):
            session(role).analytics.refresh_churn(SETTINGS, TODAY)
    result = session("manager").analytics.recompute_tiers(SETTINGS, TODAY)
    assert result.counts == {"high": 1, "medium": 1, "low": 3, "none": 3}
    refresh = session("manager").analytics.refresh_churn(SETTINGS, TODAY)
    assert refresh.at_risk == 4
    [recompute_entry] = _audit(db, "analytics.recompute_tiers")
    assert recompute_entry["actor"] == "manager"
    assert json.loads(recompute_entry["details"])["changed"] == 5
    [refresh_entry] = _audit(db, "analytics.refresh_churn")
    assert json.loads(refresh_entry["details"])["at_risk"] == 4


def test_reports_are_scoped_to_a_reps_own_customers(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    manager = session("manager")
    manager.analytics.recompute_tiers(SETTINGS, TODAY)
    manager.analytics.refresh_churn(SETTINGS, TODAY)
    sales2 = session("sales2")
    assert {t.tier: t.customers for t in sales2.analytics.tiers().tiers} == {
        "high": 0,
        "medium": 0,
        "low": 1,
        "none": 3,
    }
    assert (sales2.analytics.churn().customers, manager.analytics.churn().at_risk) == (4, 4)
    assert [w.code for w in sales2.analytics.worklist(settings=SETTINGS, today=TODAY)] == [
        "C8",
        "C3",
    ]
    start = dt.date(2026, 1, 1)
    assert [s.count for s in sales2.analytics.funnel(start, TODAY).total.steps] == [4, 3, 2, 0]
    by_rep = manager.analytics.funnel(start, TODAY, by="rep")
    assert {g.label for g in by_rep.groups} == {"sales1", "sales2"}
    weeks = sales2.analytics.activity(dt.date(2026, 6, 1), TODAY).weeks
    assert [w.followups for w in weeks] == [1, 0, 0, 0, 1]
    board = session("sales1").analytics.dashboard(SETTINGS, TODAY)
    assert {c.code for c in board.worklist} == {"C2"}
    with pytest.raises(PermissionDenied):
        session("service").analytics.tiers()
    with pytest.raises(ValueError):
        manager.analytics.funnel(by="planet")  # type: ignore[arg-type]


def test_detail_figures_need_the_customer_in_scope(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    session("admin").analytics.recompute_tiers(SETTINGS, TODAY)
    figures = session("sales1").analytics.figures(shop["C1"], SETTINGS, TODAY)
    assert figures is not None
    assert (figures.tier, figures.order_total_cents, figures.order_count) == ("high", 600_000, 3)
    with pytest.raises(PermissionDenied):
        session("sales1").analytics.figures(shop["C8"], SETTINGS, TODAY)


def test_verification_draw_work_and_report(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    with pytest.raises(PermissionDenied):
        session("manager").verification.draw("2026-06", settings=SETTINGS)
    sample = session("admin").verification.draw("2026-06", settings=SETTINGS, seed=7)
    assert (sample.population, sample.size, sample.percent) == (8, 4, 50)
    with pytest.raises(ServiceError):
        session("admin").verification.draw("2026-06", settings=SETTINGS)
    [drawn] = _audit(db, "verification.draw")
    assert json.loads(drawn["details"])["seed"] == 7
    everyone = session("admin").verification.worklist("2026-06")
    assert len(everyone) == 4
    mine = {
        name: session(name).verification.worklist("2026-06")
        for name in ("service", "sales1", "sales2")
    }
    assert [len(items) for items in mine.values()] == [4, 0, 0]  # service staff check
    assert all(
        item.assignee == name for name, items in mine.items() for item in items
    )  # each sees only their own
    worker, items = next((n, i) for n, i in mine.items() if i)
    others = [n for n in mine if n != worker]
    with pytest.raises(PermissionDenied):
        session(others[0]).verification.mark(items[0].id, "verified")
    change = session(worker).verification.mark(items[0].id, "unreachable", note="no\x07 answer")
    assert (change.before, change.after) == ("pending", "unreachable")
    [marked] = db.conn.execute(
        "SELECT actor, customer_code, details FROM audit_log WHERE action='verification.mark'"
    ).fetchall()
    assert marked["actor"] == worker
    assert marked["customer_code"] == items[0].code
    assert "answer" not in str(marked["details"])  # the note stays out of the log
    with pytest.raises(ServiceError):
        session(worker).verification.mark(items[0].id, "lost")
    [own] = session(worker).verification.progress()
    assert (own.assignee, own.done, own.total) == (worker, 1, len(items))
    assert len(session("admin").verification.progress()) == 1
    with pytest.raises(PermissionDenied):
        session(worker).verification.report()
    report = session("admin").verification.report(today=dt.date(2099, 1, 1))
    assert report.counts["unreachable"] == 1
    assert report.shares["unreachable"] == 1 / 4
    assert report.overdue == 3


def test_a_correction_links_the_newest_edit(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    session("admin").verification.draw("2026-07", percent=100, settings=SETTINGS, seed=1)
    items = session("service").verification.worklist("2026-07")
    own = items[0]
    editor = session("manager")  # service staff may not edit: someone else corrects
    customer = editor.customers.get(own.customer_id)
    editor.customers.update(own.customer_id, {"phone": "13800138000"}, customer.version)
    change = session("service").verification.mark(own.id, "corrected")
    assert change.fields == ("phone",)
    assert (
        change.audit_id
        == db.conn.execute(
            "SELECT MAX(id) FROM audit_log WHERE action='customer.update'"
        ).fetchone()[0]
    )
