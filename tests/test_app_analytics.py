"""Value tier and churn risk in the app: the list's column, filters and sort, the detail
header's badges (on test_analytics's hand-built shop, scored as of its day)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input, OptionList, Static

from tests import test_analytics
from tests.test_app_customers import settle, signed_in, status
from tests.test_app_login import make_app, run
from tests.test_service_analytics import SETTINGS
from tui_crm.audit import AuditFilter
from tui_crm.db import Database
from tui_crm.screens.checks import ChecksScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.screens.dashboard import DashboardScreen
from tui_crm.screens.wrong_fields import WrongFieldsScreen
from tui_crm.service import Service
from tui_crm.verification import CHECKED_FIELDS
from tui_crm.widgets.customer_header import header_text
from tui_crm.widgets.customer_table import value_mark

# Every flow here also runs with NO_COLOR (see conftest.colour_modes).
pytestmark = pytest.mark.usefixtures("colour_modes")

shop = test_analytics.shop  # the hand-built customers, as a fixture of this module too


def _scored(session: Callable[[str], Service]) -> None:
    manager = session("manager")
    manager.analytics.recompute_tiers(SETTINGS, test_analytics.TODAY)
    manager.analytics.refresh_churn(SETTINGS, test_analytics.TODAY)


@run
async def test_tier_column_filter_sort_and_churn_filter(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    _scored(session)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot, "manager")
        marks = {row.name: value_mark(row) for row in table.rows}
        # Alpha high; Eta medium; Beta, Epsilon, Theta low (Beta, Epsilon, Theta at risk
        # too); Gamma never ordered and at risk; Delta, Zeta never ordered.
        assert marks == {
            "Alpha": "H",
            "Eta": "M",
            "Beta": "L!",
            "Epsilon": "L!",
            "Theta": "L!",
            "Gamma": "–!",
            "Delta": "–",
            "Zeta": "–",
        }
        await pilot.press("v")
        await settle(pilot)
        assert [row.name for row in table.rows] == ["Alpha"]
        assert "value: high" in status(app)
        await pilot.press("v", "v")
        await settle(pilot)
        assert {row.name for row in table.rows} == {"Beta", "Epsilon", "Theta"}
        await pilot.press("c", "w")
        await settle(pilot)
        assert {row.name for row in table.rows} == {"Beta", "Epsilon", "Theta", "Gamma"}
        assert "churn risk" in status(app)
        await pilot.press("c")
        app.screen._filter(sort="tier")  # type: ignore[attr-defined]
        await settle(pilot)
        assert [row.name for row in table.rows][:2] == ["Alpha", "Eta"]


def test_detail_header_shows_tier_and_churn_badges(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    _scored(session)
    manager = session("manager")
    beta = header_text(manager.customers.get(shop["C2"]), "2026-06-30").plain
    assert "low value" in beta and "CHURN RISK" in beta
    alpha = header_text(manager.customers.get(shop["C1"]), "2026-06-30").plain
    assert "★ high value" in alpha and "CHURN RISK" not in alpha


@run
async def test_dashboard_tabs_and_the_churn_worklist_opens_a_customer(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    _scored(session)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "manager")
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        app.pop_screen()
        app.push_screen(DashboardScreen(app.session, today=test_analytics.TODAY))
        await settle(pilot)
        tiers = str(app.screen.query_one("#tiers-text", Static).render())
        assert "high value" in tiers and "Alpha" in tiers
        await pilot.press("3")
        funnel = str(app.screen.query_one("#funnel-text", Static).render())
        # the last 365 days: every customer but Epsilon (created 2025-06-01, 394 days before)
        assert "leads" in funnel and "7" in funnel and "85.7%" in funnel
        await pilot.press("2")
        await settle(pilot)
        worklist = app.screen.query_one("#churn-list", OptionList)
        assert worklist.option_count == 4
        worklist.focus()
        worklist.highlighted = 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CustomerDetailScreen)


@run
async def test_service_staff_have_no_dashboard(db: Database, shop: dict[str, int]) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "service")
        await pilot.press("g")
        await settle(pilot)
        assert not isinstance(app.screen, DashboardScreen)


@run
async def test_checks_screen_lists_my_checks_and_marks_them(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    session("admin").verification.draw("2026-06", percent=100, settings=SETTINGS, seed=3)
    mine = session("service").verification.worklist("2026-06")
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "service")
        app.show_checks()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChecksScreen)
        listing = screen.query_one(OptionList)
        assert listing.option_count == len(mine)
        listing.highlighted = 0
        await pilot.press("u")
        await settle(pilot)
        first = session("admin").verification.worklist("2026-06", limit=1000)
        status = {item.id: item.status for item in first}
        assert status[mine[0].id] == "unreachable"
        listing.highlighted = 1
        await pilot.press("p")
        await settle(pilot)
        after = {i.id: i.status for i in session("admin").verification.worklist("2026-06")}
        assert after[mine[1].id] == "wrong_person"
        assert sum(1 for s in after.values() if s != "pending") == 2
        assert "2 of" in str(screen.query_one("#checks-title", Static).render())


@run
async def test_a_checker_who_may_not_edit_hands_the_correction_to_the_rep_who_saves_it(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    """Service staff check every customer but may not edit base information: `c` asks
    which fields are wrong and passes the check to the customer's rep, whose `c` opens the
    form; the saved edit is linked to the check."""
    session("admin").verification.draw("2026-06", percent=100, settings=SETTINGS, seed=3)
    checks = session("service").verification.worklist("2026-06")
    position, item = next((n, i) for n, i in enumerate(checks) if i.owner == "sales1")
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "service")
        app.show_checks()
        await settle(pilot)
        app.screen.query_one(OptionList).highlighted = position
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, WrongFieldsScreen)
        await pilot.press("enter")  # nothing ticked: said so, still open
        assert isinstance(app.screen, WrongFieldsScreen)
        await pilot.press(*["down"] * CHECKED_FIELDS.index("city"), "space", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
    handed = {i.id: i for i in session("admin").verification.worklist("2026-06")}[item.id]
    assert (handed.assignee, handed.status, handed.fields) == ("sales1", "pending", ("city",))
    assert item.id not in {i.id for i in session("service").verification.worklist("2026-06")}
    entries = session("admin").audit_log.entries(AuditFilter(action="verification.hand_over"))
    assert [e.details["fields"] for e in entries] == [["city"]]

    mine = session("sales1").verification.worklist("2026-06")
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "sales1")
        app.show_checks()
        await settle(pilot)
        screen = app.screen
        screen.query_one(OptionList).highlighted = [i.id for i in mine].index(item.id)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CustomerFormScreen)
        app.screen.query_one("#f-city", Input).value = "Corrected City"
        app.screen.query_one("#f-phone", Input).value = "13800138000"  # the shop has none
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    customer = session("admin").customers.get(item.customer_id)
    assert customer.city == "Corrected City"
    done = {i.id: i for i in session("admin").verification.worklist("2026-06")}[item.id]
    assert (done.status, done.fields) == ("corrected", ("city", "phone"))
    edits = session("admin").audit_log.entries(
        AuditFilter(action="customer.update", customer_code=customer.code)
    )
    assert [e.id for e in edits] == [done.audit_id]


@run
async def test_a_correction_cancelled_in_the_form_leaves_the_check_pending(
    db: Database, shop: dict[str, int], session: Callable[[str], Service]
) -> None:
    admin = session("admin")
    admin.verification.draw("2026-06", percent=100, settings=SETTINGS, seed=3)
    item = next(i for i in admin.verification.worklist("2026-06") if i.owner == "sales1")
    session("service").verification.hand_over(item.id, ["phone"])
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "sales1")
        app.show_checks()
        await settle(pilot)
        mine = [i.id for i in session("sales1").verification.worklist("2026-06")]
        app.screen.query_one(OptionList).highlighted = mine.index(item.id)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CustomerFormScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
    after = {i.id: i for i in admin.verification.worklist("2026-06")}[item.id]
    assert after.status == "pending"
