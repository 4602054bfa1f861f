"""Screenshots of the login screen and the customer list at 80x24 and 120x40."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.workers import workers_done
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.service import Service

from .conftest import PASSWORD, customer_data

Session = Callable[[str], Service]
SIZES = [(80, 24), (120, 40)]
CUSTOMERS = [
    ("北京云帆科技有限公司", "张伟", "13800131111", "sales1", "customer", "I"),
    ("Anderson Thousand Inc", "Christopher Warren", "13900001234", "sales2", "prospect", "F"),
    ("上海明珠餐饮管理有限公司", "李娜", "13700005678", "sales1", "churned", "H"),
    ("Bob [/] & [@click=app.quit]Co", "Mallory", "13600001111", "sales2", "prospect", "C"),
    ("香港海港贸易有限公司", "Chan Tai Man", "+852 9123 0147", "sales2", "customer", "F"),
]


@pytest.fixture
def fixed_list(db: Database, session: Session) -> Database:
    """Customers with fixed codes and dates, so the picture never depends on the clock."""
    admin = session("admin")
    for i, (name, contact, phone, owner, kind, industry) in enumerate(CUSTOMERS, 1):
        created = admin.customers.create(
            customer_data(
                name=name,
                contact_name=contact,
                phone=phone,
                owner=owner,
                customer_type=kind,
                industry=industry,
            )
        )
        with db.write() as tx:
            tx.execute(
                "UPDATE customers SET code=?, created_at='2026-01-0' || ?,"
                " last_interaction_at='2026-03-0' || ? || 'T10:00:00',"
                " next_followup_at='2026-04-1' || ? WHERE id=?",
                (f"C2026{i:06d}", i, i, i, created.id),
            )
    return db


def _app(db: Database, operator: str | None = None) -> CrmApp:
    return CrmApp(db, settings=Settings(), login_failure_delay=0, operator=operator)


@pytest.mark.parametrize("size", SIZES)
def test_login_screen(snap_compare: Any, db: Database, size: tuple[int, int]) -> None:
    assert snap_compare(_app(db), terminal_size=size)


def test_login_screen_with_pinned_operator(snap_compare: Any, db: Database) -> None:
    assert snap_compare(_app(db, operator="sales1"), terminal_size=(80, 24))


async def _signed_in(pilot: Pilot[None], *keys: str) -> None:
    await pilot.pause()
    await pilot.press(*"manager", "enter", *PASSWORD, "enter")
    for _ in range(4):
        await workers_done(pilot.app)
        await pilot.pause()
    if keys:
        await pilot.press(*keys)
        await workers_done(pilot.app)
        await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_customer_list(snap_compare: Any, fixed_list: Database, size: tuple[int, int]) -> None:
    assert snap_compare(_app(fixed_list), terminal_size=size, run_before=_signed_in)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", ["help", "new_customer"])
def test_list_overlays(
    snap_compare: Any, fixed_list: Database, scene: str, size: tuple[int, int]
) -> None:
    """The help screen over the list (every key with its id) and the empty new-customer form
    (its keys in view however long the form)."""
    key = {"help": "question_mark", "new_customer": "n"}[scene]

    async def run(pilot: Pilot[None]) -> None:
        await _signed_in(pilot, key)

    assert snap_compare(_app(fixed_list), terminal_size=size, run_before=run)
