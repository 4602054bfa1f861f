"""The Duplicates, Merge and Cleaning report screens driven by keys: open them from the
list (`D`) and the palette, pick values per field, merge, and check the database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from tests.workers import workers_done
from tui_crm.db import Database, resolve_code
from tui_crm.screens.cleaning_report import CleaningReportScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.duplicates import DuplicatesScreen
from tui_crm.screens.merge import MergeScreen
from tui_crm.service import Service

from .conftest import PASSWORD, customer_data
from .test_app_login import make_app, run, sign_in

Session = Callable[[str], Service]
HOSTILE = "[bold red]Mallory[/bold red] 有限公司"


@pytest.fixture
def pairs(db: Database, session: Session) -> dict[str, str]:
    """Codes of sales1's pair (one phone; 有限公司 and full-width spelling), sales2's pair
    (a markup-looking name twice) and a lone customer."""
    admin = session("admin")

    def add(owner: str, **data: str) -> str:
        return admin.customers.create({**customer_data(**data), "owner": owner}).code

    return {
        "star": add("sales1", name="北京星辰科技有限公司", phone="13800138000", email=""),
        "star2": add(
            "sales1",
            name="北京星辰科技",
            phone="138 0013 8000",
            email="li@xc.example",
            contact_name="李娜",
        ),
        "mallory": add("sales2", name=HOSTILE, phone="13900000001", email="m@x.example"),
        "mallory2": add("sales2", name=HOSTILE, phone="13900000002", email="n@x.example"),
        "lone": add("sales2", name="Lone Co", phone="13700000009", email="lone@x.example"),
    }


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def open_duplicates(pilot: Pilot[None], username: str) -> None:
    await sign_in(pilot, username, PASSWORD)
    await settle(pilot)
    assert isinstance(pilot.app.screen, CustomersScreen)
    await pilot.press("D")
    await settle(pilot)


def listed(pilot: Pilot[None]) -> list[str]:
    options = pilot.app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def row(db: Database, code: str) -> dict:
    found = db.conn.execute("SELECT * FROM customers WHERE code=?", (code,)).fetchone()
    return dict(found) if found else {}


@run
async def test_manager_finds_picks_and_merges(db: Database, pairs: dict[str, str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_duplicates(pilot, "manager")
        assert isinstance(app.screen, DuplicatesScreen)
        lines = listed(pilot)
        assert len(lines) == 2
        assert any("Mallory[/bold red]" in line for line in lines)  # markup not applied
        star_index = next(i for i, line in enumerate(lines) if pairs["star"] in line)
        assert "phone, name" in lines[star_index]
        app.screen.query_one(OptionList).highlighted = star_index
        await pilot.press("enter")
        await pilot.pause()
        merge = app.screen
        assert isinstance(merge, MergeScreen)
        fields = [o.id for o in merge.query_one(OptionList)._options]
        assert "phone" in fields and "id_number" not in fields  # empty on both sides
        await pilot.press("2")  # the first row, the name: take the right one's
        await pilot.press("down", "space")  # kind: toggled to the right
        contact = fields.index("contact_name")
        merge.query_one(OptionList).highlighted = contact
        await pilot.press("right")
        assert merge.sides["name"] == "merged" and merge.sides["kind"] == "merged"
        await pilot.press("down", "space", "space")
        assert merge.sides["contact_title"] == "survivor"
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, DuplicatesScreen)
        assert not any(pairs["star"] in line for line in listed(pilot))
        assert len(listed(pilot)) == 1
    survivor, merged = row(db, pairs["star"]), row(db, pairs["star2"])
    assert merged == {}
    assert survivor["name"] == "北京星辰科技" and survivor["contact_name"] == "李娜"
    assert resolve_code(db.conn, pairs["star2"]) == survivor["id"]
    email = db.keys.decrypt(survivor["email_enc"], "customers", "email_enc", survivor["id"])
    assert email == "li@xc.example"  # blank on the survivor: filled by default


@run
async def test_escape_and_no_change_nothing(db: Database, pairs: dict[str, str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_duplicates(pilot, "manager")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MergeScreen)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, MergeScreen)
        await pilot.press("x")  # the other record survives
        assert app.screen.view is not None
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DuplicatesScreen) and len(listed(pilot)) == 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)
    assert db.conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 5


@run
async def test_a_rep_sees_and_merges_own_pairs_only(db: Database, pairs: dict[str, str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_duplicates(pilot, "sales1")
        lines = listed(pilot)
        assert len(lines) == 1 and pairs["star"] in lines[0] and "Mallory" not in lines[0]
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("m", "y")
        await settle(pilot)
        assert "No duplicates found." in listed(pilot)[0]
    assert row(db, pairs["star2"]) == {}


@run
async def test_service_staff_are_refused(db: Database, pairs: dict[str, str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_duplicates(pilot, "service")
        assert isinstance(app.screen, CustomersScreen)
        app.screen.action_cleaning_report()
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)


@run
async def test_cleaning_report_from_the_palette(db: Database, pairs: dict[str, str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "manager", PASSWORD)
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Cleaning report")
        await settle(pilot)
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CleaningReportScreen)
        title = str(app.screen.query_one("#report-title", Static).render())
        assert "5 customers" in title
        body = str(app.screen.query_one("#report-body", Static).render())
        assert "2 candidate pairs" in body and "Missing values" in body
        assert "13800138000" not in body
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)


@run
async def test_a_rep_has_no_cleaning_report(db: Database, pairs: dict[str, str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "sales1", PASSWORD)
        await settle(pilot)
        app.screen.action_cleaning_report()
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
