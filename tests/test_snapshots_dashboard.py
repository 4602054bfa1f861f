"""Screenshots of every dashboard tab at 80x24 and 120x40, on test_analytics's shop as of
its fixed day (numbers beside every bar, so the pictures read without colour too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests import test_analytics
from tests.test_app_analytics import _scored
from tests.test_service_analytics import SETTINGS
from tests.workers import workers_done
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.screens.checks import ChecksScreen
from tui_crm.screens.dashboard import DashboardScreen
from tui_crm.service import Service

from .conftest import PASSWORD

shop = test_analytics.shop  # the hand-built customers, as a fixture of this module too
SIZES = [(80, 24), (120, 40)]
TABS = ["tiers", "churn", "funnel", "activity"]


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_tab(
    snap_compare: Any,
    db: Database,
    shop: dict[str, int],
    session: Callable[[str], Service],
    size: tuple[int, int],
    tab: str,
) -> None:
    _scored(session)

    async def open_tab(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press(*"manager", "enter", *PASSWORD, "enter")
        await workers_done(pilot.app)
        await pilot.pause()
        app: Any = pilot.app
        app.push_screen(DashboardScreen(app.session, today=test_analytics.TODAY))
        for _ in range(4):
            await workers_done(pilot.app)
            await pilot.pause()
        await pilot.press(str(TABS.index(tab) + 1))
        await pilot.pause()

    app = CrmApp(db, settings=Settings(), login_failure_delay=0)
    assert snap_compare(app, terminal_size=size, run_before=open_tab)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_checks_screen(
    snap_compare: Any,
    db: Database,
    shop: dict[str, int],
    session: Callable[[str], Service],
    size: tuple[int, int],
) -> None:
    """A rep's verification checks of a drawn month, the outcome keys in the footer."""
    session("admin").verification.draw("2026-06", percent=100, settings=SETTINGS, seed=3)

    async def open_checks(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press(*"sales1", "enter", *PASSWORD, "enter")
        await workers_done(pilot.app)
        await pilot.pause()
        app: Any = pilot.app
        app.push_screen(ChecksScreen(app.session, month="2026-06"))
        for _ in range(3):
            await workers_done(pilot.app)
            await pilot.pause()

    app = CrmApp(db, settings=Settings(), login_failure_delay=0)
    assert snap_compare(app, terminal_size=size, run_before=open_checks)
