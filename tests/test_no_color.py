"""NO_COLOR: every screen draws through Textual's monochrome filter, and a crash is an error.

Most Pilot modules also run whole with NO_COLOR (conftest.colour_modes); these tests pin
the two failures that once let the app die quietly on opening a customer.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from textual.app import App

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp, sync
from tui_crm.app import CrmApp
from tui_crm.cli import main
from tui_crm.db import Database
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.service import Service
from tui_crm.widgets.timeline import Timeline


@sync
async def test_a_customer_with_a_timeline_opens_with_no_color(
    session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    rep: Service = session("sales1")
    customer = rep.customers.create(customer_data())
    for n in range(3):
        rep.activity.add_followup(customer.id, channel="phone", content=f"call {n}")
    app = DetailTestApp(rep, CustomerDetailScreen(rep, customer.id))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color
        timeline = app.screen.query_one(Timeline)
        lines = [timeline.render_line(y) for y in range(timeline.size.height)]
        assert all(segment.style is not None for line in lines for segment in line)
        assert any("call 1" in line.text for line in lines)
        app.export_screenshot()  # draws every widget through the monochrome filter
    assert app.return_code in (None, 0)


def test_a_crash_in_the_app_exits_non_zero(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(self: CrmApp) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(CrmApp, "on_mount", crash)
    monkeypatch.setattr(CrmApp, "run", lambda self: App.run(self, headless=True))
    paths = ["--db", str(db.path), "--key-file", str(db.path.parent / "keys" / "crm.key")]
    result = CliRunner().invoke(main, paths)
    assert result.exit_code == 1
