"""The admin screen: every tab driven by keys, admins only, hostile text shown as text."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TabbedContent

from tests.conftest import customer_data, hostile_strings
from tests.test_retention import insert_customer
from tests.workers import workers_done
from tui_crm import audit, throttle
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.screens.admin import AdminScreen
from tui_crm.screens.admin.audit_entry import AuditEntryScreen
from tui_crm.service import Service
from tui_crm.service.verification import this_month

SIZE = (120, 34)


class AdminTestApp(App[None]):
    """Opens the admin screen as the app shell does on `a`, with its help, quit and palette."""

    BINDINGS = CrmApp.BINDINGS
    action_help = CrmApp.action_help
    get_system_commands = CrmApp.get_system_commands

    def __init__(self, service: Service, settings: Settings) -> None:
        super().__init__()
        self.service = service
        self.settings = settings

    def on_mount(self) -> None:
        self.push_screen(AdminScreen(self.service, self.settings))


def run(flow: Callable[[Pilot[Any]], Awaitable[None]], app: App[None]) -> None:
    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await flow(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await workers_done(pilot.app)
    await pilot.pause()


def fixed_audit(db: Database, count: int = 3) -> None:
    """Entries with fixed times, so screens and snapshots are the same on every run."""
    with db.write() as tx:
        for n in range(count):
            audit.append(
                tx,
                db.keys,
                at=f"2026-03-01T09:{n // 60:02d}:{n % 60:02d}",
                actor="manager" if n % 2 else "admin",
                action="customer.update",
                entity="customer",
                entity_id=1,
                customer_code="C2026000001",
                details={
                    "fields": {"city": [f"Old{n}", f"New{n}"], "phone": ["138****0000", None]}
                },
            )


def table_cells(app: App[None], selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(backup_dir=str(tmp_path / "backups"))


@pytest.mark.parametrize("username", ["manager", "sales1", "service"])
def test_non_admins_see_no_admin_tabs(
    session: Callable[[str], Service], settings: Settings, username: str
) -> None:
    async def flow(pilot: Pilot[Any]) -> None:
        assert not pilot.app.screen.query(TabbedContent)
        refused = pilot.app.screen.query_one("#admin-refused", Static)
        assert "admins only" in str(refused.render())

    run(flow, AdminTestApp(session(username), settings))


def test_backup_tab_takes_verifies_and_drills(
    session: Callable[[str], Service], settings: Settings
) -> None:
    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        rows = table_cells(pilot.app, "BackupsPanel DataTable")
        assert [r[1] for r in rows] == ["incremental", "full"]
        await pilot.press("d")
        await settle(pilot)
        result = pilot.app.screen.query_one(".backups-result", Static)
        assert "drill PASS" in str(result.render())
        await pilot.press("V")
        await settle(pilot)
        assert str(result.render()).count(": OK") == 2
        await pilot.press("r")
        await settle(pilot)
        assert "Restored" in str(result.render())

    admin = session("admin")
    run(flow, AdminTestApp(admin, settings))
    restored = list((admin.db.path.parent / "restored").glob("*-incr.db"))
    assert len(restored) == 1


def test_audit_tab_shows_what_was_done_since_the_screen_opened(
    session: Callable[[str], Service], settings: Settings
) -> None:
    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        actions = [r[3] for r in table_cells(pilot.app, "AuditPanel DataTable")]
        assert actions[0] == "backup taken"

    run(flow, AdminTestApp(session("admin"), settings))


def test_audit_tab_filters_opens_verifies_and_loads_lazily(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    fixed_audit(db, 250)

    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        table = pilot.app.screen.query_one("AuditPanel DataTable", DataTable)
        assert table.row_count == 100
        assert str(table.get_row_at(0)[0]) == "250"
        table.focus()
        table.move_cursor(row=95)
        await settle(pilot)
        assert table.row_count == 200
        await pilot.press("v")
        await settle(pilot)
        status = pilot.app.screen.query_one(".audit-status", Static)
        assert "intact: 250" in str(status.render())
        user_filter = pilot.app.screen.query_one("#audit-actor", Input)
        user_filter.focus()
        await pilot.press(*"manager", "enter")
        await settle(pilot)
        assert table.row_count == 100
        assert {str(table.get_row_at(i)[2]) for i in range(table.row_count)} == {"manager"}
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, AuditEntryScreen)
        shown = pilot.app.export_screenshot()
        assert "Old249" in shown and "New249" in shown and "138****0000" in shown
        await pilot.press("escape")

    run(flow, AdminTestApp(session("admin"), settings))


def test_audit_export_is_written_and_audited(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    fixed_audit(db, 5)

    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        pilot.app.screen.query_one("AuditPanel DataTable", DataTable).focus()
        await pilot.press("e")
        await settle(pilot)

    run(flow, AdminTestApp(session("admin"), settings))
    exports = list((db.path.parent / "exports").glob("audit-*.csv"))
    assert len(exports) == 1 and exports[0].read_text().count("\n") == 6
    last = audit.query(db.conn, db.keys, audit.AuditFilter(), limit=1)[0]
    assert last.action == "audit.export" and last.details["entries"] == 5


def test_retention_tab_purges_only_after_typing_the_count(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    hostile = [h["text"] for h in hostile_strings()][:5]
    gone = [insert_customer(db, name) for name in hostile]
    held = insert_customer(db, "Held Co", legal_hold=1)

    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await settle(pilot)
        assert len(table_cells(pilot.app, "RetentionPanel DataTable")) == len(gone)
        count = pilot.app.screen.query_one("#retention-count", Input)
        count.focus()
        await pilot.press("9", "enter")
        await settle(pilot)
        assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == len(gone) + 1
        count.value = ""
        await pilot.press(*str(len(gone)), "enter")
        await settle(pilot)
        await settle(pilot)

    run(flow, AdminTestApp(session("admin"), settings))
    assert [r[0] for r in db.conn.execute("SELECT id FROM customers")] == [held]


def test_users_tab_manages_accounts_and_keeps_the_last_admin(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    start = dt.datetime.now()
    with db.write() as tx:
        for n in range(5):  # a guesser at two sources, one of which must wait
            throttle.record_failure(tx, db.keys, "sales1", f"ssh:203.0.113.{n % 2}", start)
        tx.execute(
            "UPDATE login_throttle SET blocked_until='2999-01-01T08:30:00.000000'"
            " WHERE source='ssh:203.0.113.0'"
        )

    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        await pilot.pause()
        table = pilot.app.screen.query_one("UsersPanel DataTable", DataTable)
        table.focus()
        users = [r[0] for r in table_cells(pilot.app, "UsersPanel DataTable")]
        assert users == ["admin", "manager", "sales1", "sales2", "service"]
        assert table_cells(pilot.app, "UsersPanel DataTable")[2][3:] == [
            "waiting to 08:30",
            "-",
            "5",
        ]
        table.move_cursor(row=2)
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        table.move_cursor(row=0)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"newbie", "tab", *"New Bie", "tab", "tab", *"Sturdy-Pass-42", "ctrl+s")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()

    run(flow, AdminTestApp(session("admin"), settings))
    rows = {r["username"]: r for r in db.conn.execute("SELECT * FROM users")}
    assert throttle.state(db.conn, db.keys, "sales1", start) == throttle.State(0, 0, None)
    assert rows["sales1"]["active"] == 0
    assert rows["admin"]["active"] == 1
    assert rows["newbie"]["role"] == "sales" and rows["newbie"]["display_name"] == "New Bie"


def test_verification_tab_draws_once_and_reports(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    for name in ("Alpha Trading", "[red]Beta[/red] 贸易有限公司"):
        session("admin").customers.create(customer_data(name=name, owner="sales1"))

    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        await settle(pilot)
        summary = pilot.app.screen.query_one(".verification-summary", Static)
        assert "No sample has been drawn yet" in str(summary.render())
        await pilot.press("n")
        await pilot.press("n")  # the question is answered no: nothing drawn
        await settle(pilot)
        assert "No sample" in str(summary.render())
        await pilot.press("n", "y")
        await settle(pilot)
        assert f"Sample {this_month()}: 1 of 2 customers" in str(summary.render())
        assert table_cells(pilot.app, "VerificationPanel DataTable")[0][:2] == ["service", "0/1"]
        await pilot.press("n", "y")  # a month is drawn once
        await settle(pilot)
        assert "already drawn" in "".join(n.message for n in pilot.app._notifications)

    run(flow, AdminTestApp(session("admin"), settings))
    drawn = db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action='verification.draw'")
    assert drawn.fetchone()[0] == 1


def test_audit_entry_shows_hostile_text_as_text(db: Database, settings: Settings) -> None:
    hostile = [h["text"] for h in hostile_strings()]
    entry = audit.AuditEntry(
        1,
        "2026-03-01T09:00:00",
        "admin",
        "customer.update",
        "customer",
        1,
        "C1",
        {"fields": {"name": [hostile[0], hostile[1]]}, "note": hostile[2]},
    )

    class EntryApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(AuditEntryScreen(entry))

    async def flow(pilot: Pilot[Any]) -> None:
        assert isinstance(pilot.app.screen, AuditEntryScreen)
        shown = pilot.app.export_screenshot().replace("&#160;", " ")
        assert hostile[0] in shown and hostile[1] in shown

    run(flow, EntryApp())


# --- snapshots ---------------------------------------------------------------------------


def _still(pilot: Pilot[Any]) -> None:
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False


def _tab(key: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def go(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        _still(pilot)
        await pilot.pause()

    return go


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x34", "80x24"])
@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_admin_tab_snapshots(
    snap_compare: Any,
    db: Database,
    session: Callable[[str], Service],
    tab: str,
    size: tuple[int, int],
) -> None:
    fixed_audit(db, 12)
    insert_customer(db, "Faded Lanterns [bold]Co[/bold]", last_interaction_at="2019-05-01")
    insert_customer(db, "长城旧贸易有限公司", last_interaction_at=None, created_at="2018-02-03")
    settings = Settings(backup_dir="/nonexistent/tui-crm-backups")
    app = AdminTestApp(session("admin"), settings)
    assert snap_compare(app, terminal_size=size, run_before=_tab(tab))
