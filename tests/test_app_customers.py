"""The customer list in the app: search, role scope, filters, keys, and hostile text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from tests.workers import workers_done
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.crypto import mask_phone
from tui_crm.db import Database
from tui_crm.listing import CustomerQuery
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.help import HelpScreen
from tui_crm.service import Service
from tui_crm.widgets.customer_table import CustomerTable, layout

from .conftest import PASSWORD, customer_data, hostile_strings
from .test_app_login import make_app, run, sign_in

Session = Callable[[str], Service]
NAMED = [
    ("张伟科技有限公司", "李娜", "13800131111", "sales1", "customer"),
    ("北京科技发展有限公司", "王强", "13800132222", "sales2", "prospect"),
    ("Anderson Thousand Inc", "Christopher Warren", "13900001234", "sales1", "prospect"),
    ("王芳餐饮", "张伟", "13700005678", "sales2", "churned"),
]


@pytest.fixture
def crowd(db: Database, session: Session) -> Database:
    """Four named customers and 130 fillers owned by sales1 and sales2."""
    admin = session("admin")
    for name, contact, phone, owner, kind in NAMED:
        admin.customers.create(
            customer_data(
                name=name, contact_name=contact, phone=phone, owner=owner, customer_type=kind
            )
        )
    for i in range(130):
        admin.customers.create(
            customer_data(
                name=f"Filler {i:03d}",
                contact_name="Someone",
                phone=f"1350000{i:04d}",
                owner="sales1" if i % 2 else "sales2",
                customer_type=("prospect", "customer", "churned")[i % 3],
            )
        )
    return db


async def signed_in(pilot: Pilot[None], username: str = "admin") -> CustomerTable:
    await sign_in(pilot, username, PASSWORD)
    await settle(pilot)
    assert isinstance(pilot.app.screen, CustomersScreen)
    return pilot.app.screen.query_one(CustomerTable)


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def search(pilot: Pilot[None], text: str) -> None:
    await pilot.press("slash")
    pilot.app.screen.query_one("#search").value = ""  # type: ignore[attr-defined]
    await pilot.press(*text)
    await settle(pilot)


def names(table: CustomerTable) -> set[str]:
    return {row.name for row in table.rows}


def status(app: CrmApp) -> str:
    return str(app.screen.query_one("#status").render())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张", {"张伟科技有限公司", "王芳餐饮"}),
        ("张伟", {"张伟科技有限公司", "王芳餐饮"}),
        ("北京科技", {"北京科技发展有限公司"}),
        ("ANDER", {"Anderson Thousand Inc"}),
        ("13800132222", {"北京科技发展有限公司"}),
        ("5678", {"王芳餐饮"}),
        ("nothing-like-it", set()),
    ],
)
@run
async def test_search_as_you_type(crowd: Database, text: str, expected: set[str]) -> None:
    app = make_app(crowd)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot)
        await search(pilot, text)
        assert names(table) == expected
        assert f"search: {text}" in status(app)
        await pilot.press("escape")
        await settle(pilot)
        assert len(table.rows) == 100 and "10,000" not in status(app)
        assert "134 customers" in status(app)


@run
async def test_code_prefix_search(crowd: Database, session: Session) -> None:
    code = session("admin").customer_list.page(CustomerQuery())[0]
    app = make_app(crowd)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot)
        await search(pilot, code.code.lower())
        assert [row.code for row in table.rows] == [code.code]


@run
async def test_sales_rep_sees_only_own_customers(crowd: Database) -> None:
    app = make_app(crowd)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot, "sales1")
        assert {row.owner for row in table.rows} == {"sales1"}
        assert "67 customers" in status(app)
        await search(pilot, "北京")
        assert table.rows == []
        await search(pilot, "张")
        assert names(table) == {"张伟科技有限公司"}


@run
async def test_filters_by_type_and_due(crowd: Database) -> None:
    app = make_app(crowd)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert {row.customer_type for row in table.rows} == {"prospect"}
        assert "type: prospect" in status(app)
        await pilot.press("t", "t")
        await settle(pilot)
        assert {row.customer_type for row in table.rows} == {"churned"}
        await pilot.press("c", "f")
        await settle(pilot)
        assert table.rows == [] and "follow-up: today" in status(app)
        await pilot.press("f", "f", "s")
        await settle(pilot)
        assert "sort: last interaction" in status(app)


@run
async def test_keyboard_navigation(crowd: Database) -> None:
    app = make_app(crowd)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await signed_in(pilot)
        first = table.current
        await pilot.press("j", "j", "down", "k")
        assert table.cursor == 2
        await pilot.press("pagedown")
        assert table.cursor == 2 + table.page_height
        await pilot.press("G")
        assert table.current is not None and table.current.name == "王芳餐饮"
        await pilot.press("pageup", "home")  # g opens the dashboard
        assert table.current == first
        await pilot.press("end")
        for _ in range(140):
            await pilot.press("up")
        assert table.current == first
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomerDetailScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen) and table.current == first


@run
async def test_help_lists_every_binding_with_its_id(crowd: Database) -> None:
    app = make_app(crowd)
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("Static").render())
        for binding_id in ("customers.new", "customers.filter_tag", "list.page_down", "app.quit"):
            assert binding_id in text
        await pilot.press("escape")
        assert isinstance(app.screen, CustomersScreen)


@run
async def test_bindings_can_be_remapped_by_id(crowd: Database) -> None:
    app = CrmApp(
        crowd, settings=Settings(bindings={"customers.filter_type": "y"}), login_failure_delay=0
    )
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert {row.customer_type for row in table.rows} == {"prospect"}


@run
async def test_hostile_names_show_literally_and_drive_nothing(
    db: Database, session: Session
) -> None:
    admin = session("admin")
    stored = []
    for i, entry in enumerate(hostile_strings()):
        try:
            created = admin.customers.create(
                customer_data(name=entry["text"], phone=f"1360000{i:04d}")
            )
        except ValueError:
            continue
        stored.append(created.name)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await signed_in(pilot)
        await search(pilot, "quit me")
        assert [row.name for row in table.rows] == ["[@click=app.quit]Quit me[/]"]
        screen_text = app.export_screenshot()
        assert "[@click=app.quit]Quit me[/]" in screen_text.replace("&#160;", " ")
        await pilot.click(CustomerTable, offset=(20, 1))
        await pilot.click(CustomerTable, offset=(20, 1))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        await pilot.press("escape")
        await settle(pilot)
        for _ in range(len(stored) + 3):
            await pilot.press("down")
        assert app.is_running
        assert "\x1b" not in "".join(
            str(table.render_line(y).text) for y in range(table.size.height)
        )


@pytest.mark.parametrize("width", [79, 99, 119, 159])
def test_columns_fill_the_width_and_fit_every_masked_phone(width: int) -> None:
    columns = layout(width)
    assert sum(size for _, size in columns) + len(columns) - 1 == width
    sizes = {column.title: size for column, size in columns}
    for phone in ("13800131111", "1012345678", "+85291230147", "+6591234567", "+" + "8" * 15):
        assert cell_len(mask_phone(phone)) <= sizes["Phone"]
    assert sizes["Name"] >= 20


def test_contact_widens_only_where_the_name_keeps_room() -> None:
    narrow = {column.title: size for column, size in layout(79)}
    wide = {column.title: size for column, size in layout(119)}
    assert narrow["Contact"] == 10 and wide["Contact"] == 14
    assert wide["Name"] > 2 * wide["Contact"]
