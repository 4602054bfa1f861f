"""Signing in through the app: good, bad and backed-off attempts, each audited, all failures
answered alike."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import Static

from tests.workers import workers_done
from tui_crm.app import CrmApp
from tui_crm.cli import main
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.login import LoginScreen
from tui_crm.service import LOGIN_FAILED
from tui_crm.throttle import POLICY

from .conftest import PASSWORD


def make_app(db: Database) -> CrmApp:
    app = CrmApp(db, settings=Settings(), login_failure_delay=0)
    app.cursor_blink = False  # type: ignore[attr-defined]
    return app


async def sign_in(pilot: Pilot[None], username: str, password: str) -> None:
    """Type into the login form and wait until the attempt has been answered."""
    await pilot.pause()
    await pilot.click("#username")
    await pilot.press(*username, "enter")
    await pilot.press(*password, "enter")
    await workers_done(pilot.app)
    await pilot.pause()
    await pilot.pause()


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (no pytest async plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def _message(app: CrmApp) -> str:
    return str(app.screen.query_one("#login-message").render())


def _audit_actions(db: Database) -> list[str]:
    return [r[0] for r in db.conn.execute("SELECT action FROM audit_log ORDER BY id")]


@run
async def test_good_login_opens_the_customer_list(db: Database) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await sign_in(pilot, "service", PASSWORD)
        assert isinstance(app.screen, CustomersScreen)
        assert app.service is not None and app.service.user.username == "service"
    assert _audit_actions(db)[-1] == "login"


@run
async def test_wrong_password_and_unknown_user_read_the_same(db: Database) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "sales1", "nope")
        assert isinstance(app.screen, LoginScreen)
        wrong_password = _message(app)
        assert app.screen.query_one("#password").value == ""  # type: ignore[attr-defined]
        app.screen.query_one("#username").value = ""  # type: ignore[attr-defined]
        await sign_in(pilot, "nobody", "nope")
        assert _message(app) == wrong_password == LOGIN_FAILED
    assert _audit_actions(db)[-2:] == ["login.failed", "login.failed"]


@run
async def test_a_backed_off_source_is_refused_even_the_right_password_alike(db: Database) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(POLICY.free_failures + 1):
            app.screen.query_one("#username").value = ""  # type: ignore[attr-defined]
            await sign_in(pilot, "sales2", "wrong")
        # However slow the machine running this test, the wait has not ended yet.
        db.conn.execute("UPDATE login_throttle SET blocked_until='2999-01-01T00:00:00.000000'")
        app.screen.query_one("#username").value = ""  # type: ignore[attr-defined]
        await sign_in(pilot, "sales2", PASSWORD)
        assert isinstance(app.screen, LoginScreen)
        assert _message(app) == LOGIN_FAILED, "the same answer as a wrong password"
    last = db.conn.execute("SELECT details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert "waiting" in last[0]


def make_pinned_app(db: Database, operator: str) -> CrmApp:
    app = CrmApp(db, settings=Settings(), login_failure_delay=0, operator=operator)
    app.cursor_blink = False  # type: ignore[attr-defined]
    return app


async def type_password(pilot: Pilot[None], password: str) -> None:
    await pilot.pause()
    await pilot.press(*password, "enter")
    await workers_done(pilot.app)
    await pilot.pause()
    await pilot.pause()


@run
async def test_pinned_operator_types_only_the_password(db: Database) -> None:
    app = make_pinned_app(db, "sales1")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.screen.query("#username")
        assert "sales1" in str(app.screen.query_one("#operator").render())
        assert app.screen.focused is app.screen.query_one("#password")
        await type_password(pilot, PASSWORD)
        assert isinstance(app.screen, CustomersScreen)
        assert app.service is not None and app.service.user.username == "sales1"
    assert _audit_actions(db)[-1] == "login"


@run
async def test_pinned_operator_still_needs_the_right_password(db: Database) -> None:
    app = make_pinned_app(db, "sales1")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_password(pilot, "wrong")
        assert isinstance(app.screen, LoginScreen)
        assert _message(app) == LOGIN_FAILED
        await type_password(pilot, PASSWORD)
        assert isinstance(app.screen, CustomersScreen)
        assert app.service is not None and app.service.user.username == "sales1"
    assert _audit_actions(db)[-2:] == ["login.failed", "login"]


@run
async def test_pinned_operator_name_shows_literally(db: Database) -> None:
    app = make_pinned_app(db, "[@click=app.quit]x[/]")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "[@click=app.quit]x[/]" in str(app.screen.query_one("#operator").render())
        await pilot.click("#operator")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, LoginScreen)


def test_cli_operator_option_pins_the_app_login(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched: list[str | None] = []
    monkeypatch.setattr(CrmApp, "run", lambda self: launched.append(self.operator))
    paths = ["--db", str(db.path), "--key-file", str(db.path.parent / "keys" / "crm.key")]
    assert CliRunner().invoke(main, [*paths, "--operator", "alice"]).exit_code == 0
    assert launched == ["alice"]
    refused = CliRunner().invoke(main, [*paths, "--operator", " "])
    assert refused.exit_code == 2 and "--operator" in refused.output
    assert launched == ["alice"]


@run
async def test_demo_database_names_its_users_on_the_login_screen(tmp_path: Path) -> None:
    from tui_crm.crypto import load_key_file
    from tui_crm.demo import build_demo

    build_demo(tmp_path / "demo.db", tmp_path / "demo.key", customers=20)
    db = Database.open(tmp_path / "demo.db", load_key_file(tmp_path / "demo.key"))
    async with make_app(db).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        hint = pilot.app.screen.query_one("#demo-hint", Static)
        assert "password demo" in str(hint.render())
        await sign_in(pilot, "sales1", "demo")
        assert pilot.app.service is not None
