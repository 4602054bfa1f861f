"""The five core operator tasks take no more keys than before (find by phone 3; log a call
with a next date 8; tag 4; due list 2; reveal 2), at 80x24, with NO_COLOR, and with every
key of a task sent in one burst (a paste, a laggy SSH link). Typed text is not counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.conftest import PASSWORD, customer_data, signed_in
from tests.keys import burst
from tests.test_app_login import make_app, run
from tui_crm.app import CrmApp
from tui_crm.db import Database
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.widgets.masked_field import MaskedFields

PHONE = "13912345678"


class Typed(str):
    """Text the operator types: its characters are not counted as keys."""


def keys(*parts: str) -> Iterator[str]:
    for part in parts:
        yield from part if isinstance(part, Typed) else (part,)


def counted(*parts: str) -> int:
    return sum(not isinstance(part, Typed) for part in parts)


@pytest.fixture
def office(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """NO_COLOR on; sales1 owns a few customers, one with a follow-up overdue."""
    monkeypatch.setenv("NO_COLOR", "1")
    rep = signed_in(db, "sales1")
    rep.customers.create(customer_data(name="Alpha Trading", phone="13800000001"))
    target = rep.customers.create(customer_data(name="Zeta Pumps", phone=PHONE))
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    db.conn.execute(
        "UPDATE customers SET next_followup_at = ? WHERE id = ?", (yesterday, target.id)
    )
    db.conn.commit()
    return db


async def _signed_in(app: CrmApp) -> None:
    await burst(app, *keys(Typed("sales1"), "tab", Typed(PASSWORD), "enter"))
    assert isinstance(app.screen, CustomersScreen) and app.no_color


async def _task(app: CrmApp, *parts: str, most: int) -> None:
    assert counted(*parts) <= most
    await burst(app, *keys(*parts))


def _detail(app: CrmApp) -> CustomerDetailScreen:
    assert isinstance(app.screen, CustomerDetailScreen)
    return app.screen


@run
async def test_find_by_phone_in_3_keys(office: Database) -> None:
    app = make_app(office)
    async with app.run_test(size=(80, 24)):
        await _signed_in(app)
        await _task(app, "slash", Typed(PHONE), "enter", "enter", most=3)
        assert _detail(app).customer.name == "Zeta Pumps"


@run
async def test_log_a_call_with_a_next_date_in_8_keys(office: Database) -> None:
    app = make_app(office)
    async with app.run_test(size=(80, 24)):
        await _signed_in(app)
        await _task(app, "slash", Typed(PHONE), "enter", "enter", most=3)
        talk = Typed("Asked for a quote")
        await _task(app, "f", talk, "tab", "tab", "enter", "down", "enter", "ctrl+s", most=8)
        detail = _detail(app)
        tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        assert detail.customer.next_followup_at == tomorrow
        entry = detail.timeline.entries[0]
        assert (entry.content, entry.next_followup_date) == (talk, tomorrow)


@run
async def test_tag_in_4_keys(office: Database) -> None:
    app = make_app(office)
    async with app.run_test(size=(80, 24)):
        await _signed_in(app)
        await _task(app, "slash", Typed(PHONE), "enter", "enter", most=3)
        await _task(app, "t", Typed("hot lead"), "enter", "escape", most=4)
        assert [tag.name for tag in _detail(app).customer.tags] == ["hot lead"]


@run
async def test_due_list_in_2_keys(office: Database) -> None:
    app = make_app(office)
    async with app.run_test(size=(80, 24)):
        await _signed_in(app)
        await _task(app, "d", "enter", most=2)
        assert _detail(app).customer.name == "Zeta Pumps"


@run
async def test_reveal_in_2_keys(office: Database) -> None:
    app = make_app(office)
    async with app.run_test(size=(80, 24)):
        await _signed_in(app)
        await _task(app, "enter", "r", most=2)
        assert _detail(app).customer.name == "Alpha Trading"  # first by name
        revealed = _detail(app).query_one(MaskedFields).revealed
        assert "".join(filter(str.isdigit, revealed["phone"])).endswith("13800000001")
    actions = [r[0] for r in office.conn.execute("SELECT action FROM audit_log")]
    assert actions[-1] == "reveal"
