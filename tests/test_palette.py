"""The command palette (ctrl+p) offers each screen's own commands, per role, and none of
Textual's defaults: above all no Screenshot, which wrote the screen, revealed values
included, to an SVG file nobody audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from tui_crm.app import CrmApp
from tui_crm.db import Database
from tui_crm.screens.admin import AdminScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.due import DueScreen

from .conftest import customer_data
from .test_app_customers import settle, signed_in
from .test_app_login import make_app, run

TEXTUAL_DEFAULTS = {"Screenshot", "Theme", "Keys", "Maximize", "Minimize"}
EVERYWHERE = {"Help", "Quit"}
LIST = {"Search", "Type", "Industry", "Owner", "Sort", "Due list", "Clear filters", "Open"}
DETAIL_READ = {"Back", "Filter"}
DETAIL_WRITE = {"Reveal", "Follow-up", "Interaction", "Tags", "Edit"}


def _customers(db: Database, session) -> None:
    admin = session("admin")
    for n in range(2):
        admin.customers.create(
            customer_data(name=f"Palette Co {n}", phone=f"1380013900{n}", owner="sales1")
        )


async def offered(pilot: Pilot[None]) -> set[str]:
    """Open the palette on the current screen, read what it offers, close it again."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one(CommandList)
    names = {options.get_option_at_index(i).hit.text for i in range(options.option_count)}
    await pilot.press("escape")
    await settle(pilot)
    return names


async def _visit(pilot: Pilot[None], key: str, screen: type) -> set[str]:
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, screen)
    names = await offered(pilot)
    await pilot.press("escape")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CustomersScreen)
    return names


@pytest.mark.parametrize("role", ["admin", "manager", "sales1", "service"])
@run
async def test_each_screen_offers_its_own_commands(db: Database, session, role: str) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, role)
        on_list = await offered(pilot)
        on_detail = await _visit(pilot, "enter", CustomerDetailScreen)
        on_due = await _visit(pilot, "d", DueScreen)
        screens = [on_list, on_detail, on_due]
        if role == "admin":
            screens.append(on_admin := await _visit(pilot, "a", AdminScreen))
            assert {"Back", "Full backup", "Incremental", "Verify all", "Drill"} <= on_admin
        for names in screens:
            assert not names & TEXTUAL_DEFAULTS
            assert names >= EVERYWHERE
        assert on_list >= LIST
        assert {"Verification checks", "Reverse"} <= on_list
        assert ("Admin" in on_list) == (role == "admin")
        assert ("Dashboard" in on_list) == (role != "service")
        assert not {"Up", "Down", "Page down", "First"} & on_list  # cursor keys stay keys
        assert on_detail >= DETAIL_READ
        may_write = {
            "admin": DETAIL_WRITE,
            "manager": DETAIL_WRITE,
            "sales1": DETAIL_WRITE,  # the customers belong to sales1
            "service": {"Follow-up", "Interaction", "Tags"},
        }[role]
        assert on_detail & DETAIL_WRITE == may_write
        assert {"Back", "Refresh"} <= on_due


@run
async def test_palette_commands_run_on_their_screen(db: Database, session) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "manager")
        await pilot.press("ctrl+p", *"due list")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DueScreen)


@run
async def test_no_screenshot_is_written(
    db: Database, session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not from the palette, not from the action a key or a click could name."""
    _customers(db, session)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    app: CrmApp = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "manager")
        await pilot.press("enter", "r")  # a revealed phone number on the screen
        await settle(pilot)
        await pilot.press("ctrl+p", *"screenshot", "enter")
        await settle(pilot)
        await app.run_action("app.screenshot")
        assert app.deliver_screenshot() is None
        await pilot.pause(0.3)
        await settle(pilot)
        warnings = [n for n in app._notifications if "Screenshots are turned off" in n.message]
        assert len(warnings) == 2
    assert list(tmp_path.rglob("*.svg")) == []
