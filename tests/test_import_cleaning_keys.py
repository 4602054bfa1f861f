"""The import, duplicates, merge and cleaning-report screens by keys at 80x24: every key the
footer shows is whole and help and quit are always there, a long result can be scrolled,
and a key a role may not use says so instead of doing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from tests.conftest import PASSWORD, customer_data
from tests.workers import workers_done
from tui_crm import i18n
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.service import Service

Session = Callable[[str], Service]
HOSTILE = "Bob [/] & [@click=app.quit]Co"


def _app(db: Database) -> CrmApp:
    return CrmApp(db, settings=Settings(), login_failure_delay=0)


def run(flow: Callable[[Pilot[Any]], Awaitable[None]], app: CrmApp) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await flow(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()
        await workers_done(pilot.app)
    await pilot.pause()


async def sign_in(pilot: Pilot[Any], user: str = "manager") -> None:
    await pilot.pause()
    await pilot.press(*user, "enter", *PASSWORD, "enter")
    await settle(pilot)


def footer_problems(app: CrmApp) -> list[str]:
    """What is wrong with the footer as shown: keys past the right edge or under another
    (Textual's footer docks the palette key over the last ones), help or quit missing."""
    width = app.size.width
    keys = [key for key in app.screen.query(FooterKey) if key.display]
    cut = {
        key.description
        for key in keys
        if key.region.right > width
        or any(other is not key and other.region.overlaps(key.region) for other in keys)
    }
    whole = {key.description for key in keys if key.description not in cut}
    missing = [name for name in (i18n._("Help"), i18n._("Quit")) if name not in whole]
    return [f"cut: {name}" for name in sorted(cut)] + [f"missing: {name}" for name in missing]


@pytest.fixture
def pairs(session: Session) -> None:
    """Two customers that share a phone and a name: one duplicate pair to open."""
    admin = session("admin")
    for _ in range(2):
        admin.customers.create(customer_data(name=HOSTILE, phone="13600000001", email=""))


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_each_screen_shows_its_keys_whole_with_help_and_quit(
    db: Database, pairs: None, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", f"{language}.UTF-8")
    i18n.activate(language)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        problems: dict[str, list[str]] = {}
        await pilot.press("D")
        await settle(pilot)
        problems["duplicates"] = footer_problems(app)
        await pilot.press("enter")
        await settle(pilot)
        problems["merge"] = footer_problems(app)
        await pilot.press("escape", "escape")
        await settle(pilot)
        app.screen.action_cleaning_report()  # type: ignore[attr-defined]
        await settle(pilot)
        problems["cleaning report"] = footer_problems(app)
        await pilot.press("escape", "I")
        await settle(pilot)
        problems["import"] = footer_problems(app)
        await pilot.press("ctrl+l")
        await settle(pilot)
        problems["import runs"] = footer_problems(app)
        assert not any(problems.values()), problems

    run(flow, app)
