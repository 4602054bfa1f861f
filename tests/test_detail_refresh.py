"""The detail screen shows what is saved: a refresh key, and a reload after the edit form
met a colleague's newer version ("reload theirs" in the conflict dialog)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp, press, sync
from tui_crm.screens.conflict import ConflictScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.service import Service
from tui_crm.widgets.customer_header import CustomerHeader

Session = Callable[[str], Service]
pytestmark = pytest.mark.usefixtures("colour_modes")


def _header(app: DetailTestApp) -> str:
    return str(app.screen.query_one(CustomerHeader).render())


@pytest.mark.parametrize("key", ["ctrl+r", "f5"])
@sync
async def test_refresh_shows_a_colleagues_change(session: Session, key: str) -> None:
    manager, rep = session("manager"), session("sales1")
    customer = rep.customers.create(customer_data())
    app = DetailTestApp(manager, CustomerDetailScreen(manager, customer.id))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rep.customers.update(customer.id, {"city": "Fuzhou"}, customer.version)
        assert "Fuzhou" not in _header(app)
        await press(pilot, key)
        assert "Fuzhou" in _header(app)


@sync
async def test_reload_theirs_then_leaving_the_form_shows_theirs(session: Session) -> None:
    manager, rep = session("manager"), session("sales1")
    customer = rep.customers.create(customer_data())
    app = DetailTestApp(manager, CustomerDetailScreen(manager, customer.id))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "e")
        rep.customers.update(customer.id, {"city": "Fuzhou"}, customer.version)
        app.screen.query_one("#f-city", Input).value = "Xiamen"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConflictScreen)
        await press(pilot, "r")
        assert isinstance(app.screen, CustomerFormScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert "Fuzhou" in _header(app)
