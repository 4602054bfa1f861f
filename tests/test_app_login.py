"""Signing in through the app: good, bad and locked-out attempts, each audited."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from textual.pilot import Pilot

from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.login import LoginScreen
from tui_crm.service import LOCKOUT_AFTER

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
    await pilot.app.workers.wait_for_complete()
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
        assert _message(app) == wrong_password == "Wrong username or password."
    assert _audit_actions(db)[-2:] == ["login.failed", "login.failed"]


@run
async def test_lockout_is_explained_and_blocks_even_the_right_password(db: Database) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(LOCKOUT_AFTER):
            app.screen.query_one("#username").value = ""  # type: ignore[attr-defined]
            await sign_in(pilot, "sales2", "wrong")
        app.screen.query_one("#username").value = ""  # type: ignore[attr-defined]
        await sign_in(pilot, "sales2", PASSWORD)
        assert isinstance(app.screen, LoginScreen)
        assert "locked" in _message(app)
