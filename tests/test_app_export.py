"""Export this view from the customer list: `x` and the palette open the dialog, the file
holds the filtered list, errors sit under the file field, roles without export are told."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input

from tui_crm.db import Database
from tui_crm.screens import export_dialog
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.export_dialog import ExportDialog

from .test_app_customers import crowd, settle, signed_in  # noqa: F401 (crowd is a fixture)
from .test_app_login import make_app, run


@pytest.fixture(autouse=True)
def documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "Documents"
    folder.mkdir()
    monkeypatch.setattr(export_dialog.platformdirs, "user_documents_dir", lambda: str(folder))
    return folder


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@run
async def test_x_exports_the_filtered_view(crowd: Database, documents: Path) -> None:  # noqa: F811
    app = make_app(crowd)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "manager")
        await pilot.press("t")  # prospects only
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        path = Path(dialog.query_one("#export-path", Input).value)
        assert path.parent == documents and path.name.startswith("customers-")
        assert path.suffix == ".csv"
        assert dialog.query("#export-reveal")  # a manager may reveal
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)
        rows = read(path)
        assert {row[3] for row in rows[1:]} == {"prospect"} and len(rows) - 1 == 46
        assert "13800132222" not in path.read_text(encoding="utf-8-sig")
        assert any(f"Exported 46 customers to {path}" in text for text in notices(app))


@run
async def test_xlsx_and_reveal(crowd: Database, documents: Path) -> None:  # noqa: F811
    app = make_app(crowd)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "admin")
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        await pilot.click("#format-xlsx")
        await pilot.pause()
        path = Path(dialog.query_one("#export-path", Input).value)
        assert path.suffix == ".xlsx"
        dialog.query_one("#export-reveal", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen) and path.exists()
        entries = crowd.conn.execute(
            "SELECT details FROM audit_log WHERE action = 'customer.export'"
        ).fetchall()
        assert len(entries) == 1 and '"revealed": true' in entries[0][0]


@run
async def test_an_error_shows_under_the_field(crowd: Database, tmp_path: Path) -> None:  # noqa: F811
    app = make_app(crowd)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "manager")
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        target = tmp_path / "nowhere" / "out.csv"
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        error = str(dialog.query_one("#export-path-error").render())
        assert "nowhere" in error and "does not exist" in error
        assert not target.parent.exists()
        existing = tmp_path / "there.csv"
        existing.write_text("keep")
        dialog.query_one("#export-path", Input).value = str(existing)
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = str(dialog.query_one("#export-path-error").render())
        assert "already exists" in error and "choose another" in error
        assert "--force" not in error  # a command-line flag; the dialog has none
        assert existing.read_text() == "keep"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)


@run
async def test_reveal_box_only_for_roles_that_may_reveal(
    crowd: Database,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(crowd)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "manager")
        monkeypatch.setattr(type(app.session.exports), "may_reveal", lambda self: False)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        assert not app.screen.query("#export-reveal")


@run
async def test_palette_command_and_refusal(crowd: Database) -> None:  # noqa: F811
    app = make_app(crowd)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "sales1")
        screen = app.screen
        assert "Export this view" not in [c.title for c in screen.palette_commands()]
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        assert any("may not export" in text for text in notices(app))
    app = make_app(crowd)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(pilot, "manager")
        (command,) = [c for c in app.screen.palette_commands() if c.title == "Export this view"]
        command.callback()
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
