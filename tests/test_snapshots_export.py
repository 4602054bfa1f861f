"""Screenshots of the export dialog over the customer list at 80x24, in both languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.workers import workers_done
from tui_crm import i18n
from tui_crm.db import Database
from tui_crm.screens import export_dialog

from .conftest import PASSWORD
from .test_snapshots_main import _app, fixed_list  # noqa: F401 (fixed_list is a fixture)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_export_dialog(
    snap_compare: Any,
    fixed_list: Database,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    monkeypatch.setenv("LANG", f"{language}.UTF-8")  # the sign-in keeps the locale's language
    i18n.activate(language)
    fixed = Path("/home/manager/Documents/customers-20260105-093000.csv")
    monkeypatch.setattr(export_dialog, "default_path", lambda fmt="csv", now=None: fixed)

    async def open_dialog(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press(*"manager", "enter", *PASSWORD, "enter")
        for _ in range(4):
            await workers_done(pilot.app)
            await pilot.pause()
        await pilot.press("t", "x")
        for _ in range(3):
            await workers_done(pilot.app)
            await pilot.pause()

    assert snap_compare(_app(fixed_list), terminal_size=(80, 24), run_before=open_dialog)
