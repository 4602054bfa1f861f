"""At 80x24 every screen shows help and quit and whole keys only, and the tables give
their room to the text that matters (issue 14, item 9)."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from tui_crm.db import Database
from tui_crm.screens.admin import AdminScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.due import DueScreen
from tui_crm.widgets.fitted_table import Column, FittedTable
from tui_crm.widgets.job_progress import JobProgress
from tui_crm.widgets.keys_footer import KeysFooter
from tui_crm.widgets.masked_field import MaskedFields

from .conftest import customer_data
from .test_app_customers import settle, signed_in
from .test_app_login import make_app, run

WIDTH = 80


def footer_keys(pilot: Pilot[None]) -> tuple[list[str], list[str]]:
    """The screen's keys and the app-wide ones, as drawn; every key lies whole on screen,
    left of the app-wide group."""
    footer = pilot.app.screen.query_one(KeysFooter)
    group = footer.query_one("#app-keys")
    screen_keys, app_keys = [], []
    for key in footer.query(FooterKey):
        region = key.region
        assert region.width > 0 and region.right <= WIDTH
        if key.parent is group:
            app_keys.append(key.description)
        else:
            assert region.right <= group.region.x
            screen_keys.append(key.description)
    return screen_keys, app_keys


def _customers(db: Database, session) -> None:
    admin = session("admin")
    admin.customers.create(
        customer_data(
            name="Narrow Co", email="purchasing.department@narrow.example.com", owner="sales1"
        )
    )


@run
async def test_every_footer_shows_help_quit_and_whole_keys(db: Database, session) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(WIDTH, 24)) as pilot:
        assert footer_keys(pilot)[1] == ["Quit", "Help", "palette"]  # the login screen
        await signed_in(pilot, "admin")
        shown = {}
        shown["list"] = footer_keys(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CustomerDetailScreen)
        shown["detail"] = footer_keys(pilot)
        await pilot.press("escape", "d")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DueScreen)
        shown["due"] = footer_keys(pilot)
        await pilot.press("escape", "a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AdminScreen)
        for tab in "1234":
            await pilot.press(tab)
            await settle(pilot)
            shown[f"admin {tab}"] = footer_keys(pilot)
    for screen_keys, app_keys in shown.values():
        assert app_keys == ["Quit", "Help", "palette"]
        assert screen_keys
    assert shown["list"][0][:4] == ["Open", "Search", "New", "Due list"]
    assert shown["detail"][0] == ["Reveal", "Follow-up", "Interaction", "Tags", "Edit"]
    assert shown["admin 1"][0][:2] == ["Full backup", "Incremental"]


@run
async def test_a_revealed_value_reads_whole(db: Database, session) -> None:
    _customers(db, session)
    async with make_app(db).run_test(size=(WIDTH, 24)) as pilot:
        await signed_in(pilot, "manager")
        await pilot.press("enter")
        await settle(pilot)
        contact = pilot.app.screen.query_one(MaskedFields)
        await pilot.press("r")  # the phone: short, it stays beside its label
        contact.action_select(1)
        await pilot.press("r")  # the email: too long for the panel, a line of its own
        await settle(pilot)
        lines = str(contact.render()).splitlines()
        assert "  Phone   13800138000" in lines
        assert lines[lines.index("  Email   ") + 1] == "  purchasing.department@narrow.example.com"
        assert lines[-1] == "(shown for 30 s)"


def test_the_text_column_takes_the_room_the_others_leave() -> None:
    columns = (
        Column("id", "Backup", 20),
        Column("kind", "Kind", 11, narrow=0),
        Column("size", "Size", 9),
        Column("parent", "Parent", least=20),
    )
    table = FittedTable(columns)
    narrow = dict((c.key, width) for c, width in table.widths_for(WIDTH))
    assert "kind" not in narrow
    assert narrow["parent"] == WIDTH - 2 - 2 * 3 - 20 - 9
    wide = dict((c.key, width) for c, width in table.widths_for(120))
    assert wide["kind"] == 11 and wide["parent"] == 120 - 2 - 2 * 4 - 20 - 11 - 9


@run
async def test_progress_reads_100_percent_when_done(db: Database) -> None:
    async with make_app(db).run_test(size=(WIDTH, 24)) as pilot:
        await signed_in(pilot, "admin")
        await pilot.press("a")
        await settle(pilot)
        pilot.app.screen.query_one(JobProgress).report(1.0, "Done.")
        await pilot.pause()
        drawn = pilot.app.export_screenshot().replace("&#160;", " ")
        assert "100%" in drawn and "Done." in drawn
