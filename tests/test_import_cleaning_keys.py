"""The import, duplicates, merge and cleaning-report screens by keys at 80x24: every key the
footer shows is whole and help and quit are always there, a long result can be scrolled,
and a key a role may not use says so instead of doing nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static
from textual.widgets._footer import FooterKey
from textual.widgets._select import SelectCurrent

from tests.conftest import customer_data
from tests.test_import_screen import _app, choose, run, settle, sign_in, text_of, to_columns
from tui_crm import dedupe, i18n, importer, quality
from tui_crm.app import CrmApp
from tui_crm.db import Database
from tui_crm.importer import ImportOptions, RunInfo
from tui_crm.screens.import_runs import ImportRunsScreen, run_details
from tui_crm.service import Service
from tui_crm.widgets.palette import palette_commands

Session = Callable[[str], Service]
HOSTILE = "Bob [/] & [@click=app.quit]Co"


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


def cut_short_run(db: Database, path: Path) -> None:
    """A two-row file imported one row a batch and stopped after the first batch."""
    path.write_text(f"Company,Phone,Type\n{HOSTILE},13800138000,prospect\nB,13800138001,prospect\n")

    def cut(progress: importer.ImportProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        importer.run_import(
            db, path, ImportOptions("consent", batch_rows=1), actor="cli:tester", progress=cut
        )


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


def test_a_long_run_result_in_past_runs_scrolls_by_keys(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finishing a run cut short shows its summary (counts, the first rejected rows, the
    rows to review) under the runs: longer than the room at 80x24, so it must scroll."""
    path = tmp_path / "bad.csv"
    lines = ["Company,Phone,Type"]
    lines += [f"{HOSTILE} {n},12{n},prospect" for n in range(30)]  # a phone that is none
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def cut(progress: importer.ImportProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        importer.run_import(
            db, path, ImportOptions("consent", batch_rows=2), actor="cli:tester", progress=cut
        )
    monkeypatch.chdir(tmp_path)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        app.open_import_runs()
        await settle(pilot)
        assert isinstance(app.screen, ImportRunsScreen)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")  # the file's name is offered; it is in the working folder
        await settle(pilot)
        result = app.screen.query_one("#runs-result")
        assert "rejected" in str(result.render())
        for _ in range(4):
            await pilot.press("tab")
            focused = app.focused
            if isinstance(focused, ScrollableContainer) and result in focused.walk_children():
                break
        else:
            raise AssertionError("Tab never reaches the run's result")
        assert focused.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert focused.scroll_y == focused.max_scroll_y

    run(flow, app)


@pytest.mark.parametrize("user", ["sales1", "service"])
def test_the_import_key_tells_a_role_that_may_not_import(db: Database, user: str) -> None:
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, user)
        screen = app.screen
        await pilot.press("I")
        await pilot.pause()
        assert app.screen is screen
        notices = [str(n.message) for n in app._notifications]
        assert "Importing is for managers and admins." in notices, notices
        titles = [str(c.title) for c in palette_commands(screen)]
        assert not any("Import" in title for title in titles)

    run(flow, app)


def test_a_sheet_that_is_not_there_is_named_under_the_sheet_field(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "客户 [b]表.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "客户"
    workbook.active.append(["客户名称", "手机"])
    workbook.active.append([HOSTILE, "13800138000"])
    workbook.save(path)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await pilot.press("I")
        await pilot.pause()
        await pilot.press(*str(path))
        app.screen.query_one("#sheet", Input).focus()
        await pilot.press(*"[b]nosheet", "enter")
        await settle(pilot)
        sheet_error = str(app.screen.query_one("#sheet-error", Static).render())
        assert "no sheet named '[b]nosheet'" in sheet_error
        assert "客户" in sheet_error
        assert not str(app.screen.query_one("#path-error", Static).render())
        assert app.focused is app.screen.query_one("#sheet", Input)
        await pilot.press("ctrl+u", "ctrl+n")
        await settle(pilot)
        assert app.screen.query_one("#column-0")

    run(flow, app)


def test_an_error_goes_once_its_field_is_put_right(db: Database, tmp_path: Path) -> None:
    """The legal basis asked for, then chosen: the request goes. A column mapped to a field
    another already feeds: the refusal shows, and the note of columns left out no longer
    names the column just mapped."""
    path = tmp_path / "customers.csv"
    path.write_text(f"Company,Phone,Type,Extra\n{HOSTILE},13800138000,prospect,x\n")
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, path)
        assert "Extra" in text_of(app, "#unknown-note")
        await pilot.press("ctrl+r")
        await settle(pilot)
        legal_error = app.screen.query_one("#legal-error", Static)
        assert legal_error.display and "PIPL" in text_of(app, "#legal-error")
        await choose(pilot, "legal-basis", "needed")
        assert not legal_error.display
        await choose(pilot, "column-3", "name")
        await settle(pilot)
        assert "mapped to" in text_of(app, "#mapping-error")
        note = app.screen.query_one("#unknown-note", Static)
        assert not note.display or "Extra" not in text_of(app, "#unknown-note")

    run(flow, app)


def test_past_runs_open_the_cleaning_report_of_the_selected_run(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(f"Company,Phone,Type\n{HOSTILE},13800138000,prospect\nAcme,12,prospect\n")
    importer.run_import(db, path, ImportOptions("consent"), actor="cli:tester")
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        app.open_import_runs()
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        title = str(app.screen.query_one("#report-title", Static).render())
        assert title == "Cleaning report of import run 1: 1 customer"

    run(flow, app)


def test_a_new_job_in_past_runs_clears_the_last_ones_error(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resume refused (wrong file), then an undo: while the undo runs, the refusal is
    not left on screen as if it were about the undo."""
    path = tmp_path / "customers.csv"
    cut_short_run(db, path)
    gate = threading.Event()
    undo_run = importer.undo_run

    def held_undo(*args: Any, **kwargs: Any) -> importer.UndoSummary:
        gate.wait()
        return undo_run(*args, **kwargs)

    monkeypatch.setattr(importer, "undo_run", held_undo)
    monkeypatch.chdir(tmp_path)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        app.open_import_runs()
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+u", *"elsewhere.csv", "enter")
        await settle(pilot)
        box = app.screen.query_one("#runs-result-box")
        assert box.display and "not elsewhere.csv" in text_of(app, "#runs-result")
        await pilot.press("u")
        await pilot.pause()
        try:
            await pilot.press("y")
            await pilot.pause()
            assert not box.display, text_of(app, "#runs-result")
        finally:
            gate.set()
        await settle(pilot)
        assert "Run 1 undone" in text_of(app, "#runs-result")

    run(flow, app)


def test_a_file_name_with_escape_sequences_is_shown_without_them(
    db: Database, tmp_path: Path
) -> None:
    """A file's name comes from whoever sent the file: an escape sequence in it must not
    reach the terminal (a title change, a colour, a cleared screen) from any screen."""
    path = tmp_path / "evil\x1b]0;PWNED\x07\x1b[31mred\u202e\nline.csv"
    cut_short_run(db, path)
    app = _app(db)

    def raw(text: str) -> bool:
        """An escape, bell or bidi override left in, or the name not on one line."""
        return any(c in text for c in "\x1b\x07\u202e") or "evilred line.csv" not in text

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        notices = [str(n.message) for n in app._notifications]
        assert any(not raw(notice) for notice in notices), notices
        app.open_import_runs()
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[3]).startswith("evilred line")
        assert not raw(text_of(app, "#run-detail"))
        await pilot.press("u")
        await pilot.pause()
        assert not raw(str(app.screen.query_one(".confirm-question", Static).render()))
        await pilot.press("escape", "escape")
        await pilot.pause()
        await pilot.press("I")
        await pilot.pause()
        app.screen.query_one("#path", Input).value = str(path)
        await pilot.press("enter")
        await settle(pilot)
        assert not raw(text_of(app, "#file-info"))

    run(flow, app)


def test_a_saved_mapping_name_is_shown_as_typed_not_as_markup(
    db: Database, session: Session
) -> None:
    name = "[b]Mallory[/b] [@click=app.quit]q[/]"
    session("manager").imports.save_mapping(name, {"Company": "name"})
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await pilot.press("I")
        await settle(pilot)
        select = app.screen.query_one("#saved-mapping", Select)
        select.value = name
        await pilot.pause()
        shown = select.query_one(SelectCurrent).query_one("#label", Static).render()
        assert str(shown) == name

    run(flow, app)


def test_a_pair_merged_elsewhere_meanwhile_says_so_and_how_to_rescan(
    db: Database, session: Session
) -> None:
    admin = session("admin")
    first, second = (
        admin.customers.create(customer_data(name=HOSTILE, phone="13600000001", email=""))
        for _ in range(2)
    )
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await pilot.press("D")
        await settle(pilot)
        admin.cleaning.merge(first.id, second.id)  # someone else, meanwhile
        await pilot.press("enter")
        await settle(pilot)
        notices = [str(n.message) for n in app._notifications]
        assert any("no longer there" in n and "ctrl+r" in n for n in notices), notices
        assert not any(f"id {second.id}" in n for n in notices), notices

    run(flow, app)


def test_a_runs_details_write_counts_as_the_table_does() -> None:
    run_info = RunInfo(
        id=2, actor="admin", started_at="2026-12-06T02:58:00", finished_at=None,
        file_name="big.csv", file_sha256="f2f23fb10de3" * 5, source="", legal_basis="consent",
        status="interrupted", total_rows=None, last_line=32501, created=27582, updated=1200,
        skipped=1516, rejected=3402, review=3213, report_path="", mapping={}, options={},
        undone_at=None, undone_by=None,
    )  # fmt: skip
    shown = run_details(run_info).plain
    assert "created 27,582, updated 1,200, skipped 1,516, rejected 3,402, to review 3,213" in shown
    assert "Cut short after line 32,501" in shown


@pytest.mark.parametrize("opener", ["duplicates", "cleaning report"])
def test_leaving_a_scan_stops_it_at_its_next_step(
    db: Database, opener: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan of a million customers takes a minute: Esc must not leave it running (and
    opening the screen again start a second one beside it)."""
    left = threading.Event()
    steps: list[str] = []

    def slow_scan(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        progress(0.1, "first step")
        steps.append("first")
        left.wait()
        progress(0.5, "second step")
        steps.append("second")
        raise AssertionError("the scan went on after its screen was left")

    monkeypatch.setattr(dedupe, "scan", slow_scan)
    monkeypatch.setattr(quality, "quality_report", slow_scan)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        if opener == "duplicates":
            await pilot.press("D")
        else:
            app.screen.action_cleaning_report()  # type: ignore[attr-defined]
        for _ in range(50):
            await pilot.pause()
            if steps:
                break
        await pilot.press("escape")
        await pilot.pause()
        left.set()
        await settle(pilot)
        assert steps == ["first"]

    run(flow, app)


@pytest.mark.parametrize(
    "user, offered, left_out",
    [
        ("sales1", {"Find duplicates", "Duplicates"}, {"Export", "Export this view"}),
        ("service", set(), {"Export", "Export this view", "Find duplicates", "Duplicates"}),
        ("manager", {"Export", "Export this view", "Find duplicates", "Duplicates"}, set()),
    ],
)
def test_the_palette_offers_export_and_duplicates_only_to_roles_that_may(
    db: Database, user: str, offered: set[str], left_out: set[str]
) -> None:
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, user)
        titles = {str(c.title) for c in palette_commands(app.screen)}
        assert offered <= titles and not left_out & titles, titles

    run(flow, app)


def test_a_saved_mapping_that_does_not_fit_the_file_takes_the_focus(
    db: Database, session: Session, tmp_path: Path
) -> None:
    session("manager").imports.save_mapping("old export", {"创建日期": "created_at"})
    path = tmp_path / "customers.csv"
    path.write_text(f"Company,Phone,Type\n{HOSTILE},13800138000,prospect\n")
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await pilot.press("I")
        await pilot.pause()
        await pilot.press(*str(path))
        app.screen.query_one("#saved-mapping", Select).value = "old export"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert "创建日期" in text_of(app, "#mapping-load-error")
        assert app.focused is app.screen.query_one("#saved-mapping", Select)

    run(flow, app)
