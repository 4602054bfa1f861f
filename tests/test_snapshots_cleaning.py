"""Screenshots of the Duplicates, Merge and Cleaning report screens at 80x24 and 120x40,
on a few messy customers with fixed codes (Chinese suffixes, full-width and markup-looking
names, shown as plain text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.workers import workers_done
from tui_crm import i18n
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.service import Service

from .conftest import PASSWORD, customer_data

CASES = [((80, 24), "en"), ((120, 40), "en"), ((80, 24), "zh_CN")]
IDS = ["80x24", "120x40", "80x24-zh_CN"]
CUSTOMERS = [
    ("北京星辰科技有限公司", "13800138000", "", "Zed", "sales1"),
    ("北京星辰科技", "138 0013 8000", "li@xc.example", "李娜", "sales1"),
    ("ＡＣＭＥ　Ｔｒａｄｉｎｇ", "13700000001", "ops@acme.example", "Ann", "sales2"),
    ("Acme Trading Co., Ltd.", "13700000002", "ops@acme.example", "Bob", "sales1"),
    ("Bob [/] & [@click=app.quit]Co", "13600000001", "", "Mallory", "sales2"),
    ("Bob [/] & [@click=app.quit]Co Ltd", "13600000002", "", "Mallory", "sales2"),
]


@pytest.fixture
def messy(db: Database, session: Callable[[str], Service]) -> Database:
    admin = session("admin")
    for i, (name, phone, email, contact, owner) in enumerate(CUSTOMERS, 1):
        created = admin.customers.create(
            {
                **customer_data(name=name, phone=phone, email=email, contact_name=contact),
                "owner": owner,
            }
        )
        with db.write() as tx:
            tx.execute("UPDATE customers SET code=? WHERE id=?", (f"C2026{i:06d}", created.id))
    return db


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(4):
        await workers_done(pilot.app)
        await pilot.pause()


def _speak(language: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`language` now and as the locale, so the sign-in (which picks the user's language,
    else config, else the locale) keeps it."""
    monkeypatch.setenv("LANG", f"{language}.UTF-8")
    i18n.activate(language)


def _app(db: Database) -> CrmApp:
    return CrmApp(db, settings=Settings(), login_failure_delay=0)


async def _signed_in(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.press(*"manager", "enter", *PASSWORD, "enter")
    await settle(pilot)


@pytest.mark.parametrize("size, language", CASES, ids=IDS)
def test_duplicates_screen(
    snap_compare: Any,
    messy: Database,
    size: tuple[int, int],
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _speak(language, monkeypatch)

    async def open_list(pilot: Pilot[None]) -> None:
        await _signed_in(pilot)
        await pilot.press("D")
        await settle(pilot)

    assert snap_compare(_app(messy), terminal_size=size, run_before=open_list)


@pytest.mark.parametrize("size, language", CASES, ids=IDS)
def test_merge_screen(
    snap_compare: Any,
    messy: Database,
    size: tuple[int, int],
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _speak(language, monkeypatch)

    async def open_merge(pilot: Pilot[None]) -> None:
        await _signed_in(pilot)
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("2", "down", "down", "down", "right")

    assert snap_compare(_app(messy), terminal_size=size, run_before=open_merge)


@pytest.mark.parametrize("size, language", CASES, ids=IDS)
def test_cleaning_report_screen(
    snap_compare: Any,
    messy: Database,
    size: tuple[int, int],
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _speak(language, monkeypatch)

    async def open_report(pilot: Pilot[None]) -> None:
        await _signed_in(pilot)
        pilot.app.screen.action_cleaning_report()  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(_app(messy), terminal_size=size, run_before=open_report)
