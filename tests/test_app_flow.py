"""The whole app wired together: each role signs in and reaches the screens it may use."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tui_crm.db import Database
from tui_crm.screens.admin import AdminScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.due import DueScreen
from tui_crm.widgets.customer_table import CustomerTable

from .conftest import customer_data
from .test_app_customers import settle, signed_in
from .test_app_login import make_app, run

# Every flow here also runs with NO_COLOR (see conftest.colour_modes).
pytestmark = pytest.mark.usefixtures("colour_modes")


def _customers(db: Database, session) -> None:
    admin = session("admin")
    for n in range(3):
        admin.customers.create(
            customer_data(name=f"Flow Co {n}", phone=f"1380013800{n}", owner="sales1")
        )


async def _open_and_return(pilot: Pilot[None]) -> None:
    table = pilot.app.screen.query_one(CustomerTable)
    await pilot.press("down")
    cursor = table.cursor
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CustomerDetailScreen)
    await pilot.press("escape")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CustomersScreen)
    assert pilot.app.screen.query_one(CustomerTable).cursor == cursor


@run
async def test_admin_reaches_every_screen(db: Database, session) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, "admin")
        await _open_and_return(pilot)
        for key, screen in (("d", DueScreen), ("a", AdminScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(pilot.app.screen, screen)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(pilot.app.screen, CustomersScreen)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CustomerFormScreen)


@run
async def test_sales_rep_cannot_reach_admin(db: Database, session) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "sales1")
        await _open_and_return(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CustomersScreen)
        assert any("admins only" in str(n.message) for n in pilot.app._notifications)


@run
async def test_service_opens_customers_but_cannot_edit(db: Database, session) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "service")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CustomerDetailScreen)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CustomerDetailScreen)
        assert any("base information" in str(n.message) for n in pilot.app._notifications)
