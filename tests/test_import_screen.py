"""The Import screen and past runs, driven by keys in the real app on a real SQLite file:
a messy GB18030 file mapped, dated, dry-run, imported and undone; roles; runs cut short."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import subprocess
import sys
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.conftest import PASSWORD, customer_data
from tests.workers import workers_done
from tui_crm import bulk, i18n, importer
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.importer import ImportOptions
from tui_crm.screens import import_screen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.import_runs import ImportRunsScreen
from tui_crm.screens.import_screen import ImportScreen
from tui_crm.service import Service

Session = Callable[[str], Service]
HOSTILE_NAME = "Bob [/] & [@click=app.quit]Co"
# Chinese Excel's CSV: GB18030, CRLF, a quoted cell with a comma and a line break, a blank
# line, an international number with an extension, a dangling "x", a number that is none,
# dates that read both day-first and month-first, and a column no synonym knows.
MESSY = (
    "客户名称,联系人,手机,邮箱,客户类型,创建日期,备注,座机号\r\n"
    '北京明珠科技有限公司,张伟,13800138000,zw@example.cn,成交,04/05/2021,"老客户, 重点\r\n'
    '第二行",010-62345678\r\n'
    "\r\n"
    "Vega-Gentry,Preston Lozano,001-808-617-6467x12895,v@colon.com,潜在,03/02/2020,,\r\n"
    "Steele Group,Aimee Downs,(283)437-3886x,l@gilbert.com,潜在,01/02/2020,,\r\n"
    "坏号码有限公司,王五,12345,,潜在,01/02/2020,,\r\n"
    "上海华东贸易有限公司,李娜,13900139000,,潜在,05/06/2021,,\r\n"
    "已有客户有限公司,赵六,13700137000,,潜在,05/06/2021,,\r\n"
    f"{HOSTILE_NAME},Mallory,13600136000,,潜在,05/06/2021,,\r\n"
)


@pytest.fixture
def messy(tmp_path: Path, session: Session) -> Path:
    """The messy file, and two customers already there: one shares a phone with a row,
    one (hostile text) only a name."""
    admin = session("admin")
    for number, (name, phone) in enumerate(
        (("老名字有限公司", "13700137000"), (HOSTILE_NAME, "13500135000")), 1
    ):
        created = admin.customers.create(customer_data(name=name, phone=phone, email=""))
        with admin.db.write() as tx:  # fixed codes: the pictures do not change with the year
            tx.execute("UPDATE customers SET code=? WHERE id=?", (f"C2026{number:06d}", created.id))
    path = tmp_path / "客户.csv"
    path.write_bytes(MESSY.encode("gb18030"))
    return path


def _app(db: Database) -> CrmApp:
    return CrmApp(db, settings=Settings(), login_failure_delay=0)


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()
        await workers_done(pilot.app)
    await pilot.pause()


async def sign_in(pilot: Pilot[Any], user: str = "manager") -> None:
    await pilot.pause()
    await pilot.press(*user, "enter", *PASSWORD, "enter")
    await settle(pilot)


async def tab_to(pilot: Pilot[Any], widget_id: str) -> None:
    """Tab until the widget has the focus, as an operator would."""
    for _ in range(60):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{widget_id}")


async def choose(pilot: Pilot[Any], widget_id: str, typed: str) -> None:
    """Open a select, type the start of an option, take it."""
    await tab_to(pilot, widget_id)
    await pilot.press("enter", *typed, "enter")
    await pilot.pause()


async def to_columns(pilot: Pilot[Any], path: Path | str) -> None:
    await pilot.press("I")
    await pilot.pause()
    await pilot.press(*str(path), "enter")
    await settle(pilot)


async def declare_and_dry_run(pilot: Pilot[Any]) -> None:
    """Map the unknown column, declare the dates day-first, give the legal basis, dry run."""
    await choose(pilot, "column-7", "another phone")
    await choose(pilot, "date-format", "DD")
    await choose(pilot, "legal-basis", "needed")
    await tab_to(pilot, "source")
    await pilot.press(*"2019 trade show")
    await pilot.press("ctrl+r")
    await settle(pilot)


def text_of(app: CrmApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def customers(db: Database) -> dict[str, dict[str, Any]]:
    out = {}
    for row in db.conn.execute("SELECT * FROM customers ORDER BY id").fetchall():
        item = dict(row)
        item["phone"] = db.keys.decrypt(row["phone_enc"], "customers", "phone_enc", row["id"])
        item["extras"] = bulk.decrypt_extra_contacts(db.keys, row)
        out[row["name"]] = item
    return out


def run(flow: Callable[[Pilot[Any]], Awaitable[None]], app: CrmApp, size=(80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await flow(pilot)

    asyncio.run(main())


def test_messy_file_mapped_dry_run_imported_and_undone_by_keys(
    db: Database, messy: Path, tmp_path: Path
) -> None:
    app = _app(db)
    before = set(customers(db))

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, messy)
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        assert "gb18030" in text_of(app, "#file-info")
        assert "座机号" in text_of(app, "#unknown-note")
        assert "04/05/2021" in text_of(app, "#date-note")
        # Without a declared date format and a legal basis nothing runs.
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.step == "step-columns"
        assert "PIPL" in text_of(app, "#legal-error")
        await choose(pilot, "legal-basis", "needed")
        assert text_of(app, "#legal-error") == ""  # answered: the problem goes at once
        await declare_and_dry_run(pilot)
        assert screen.step == "step-dry", text_of(app, "#mapping-error")
        dry = text_of(app, "#dry-result")
        assert set(customers(db)) == before  # a dry run writes nothing
        assert screen.dry is not None
        counts = (screen.dry.created, screen.dry.skipped, screen.dry.rejected, screen.dry.review)
        assert counts == (4, 1, 2, 1)
        assert "line 7" in dry and "'12345' is not a valid phone number" in dry
        assert "line 6" in dry and "extension mark but no extension number" in dry
        assert HOSTILE_NAME not in dry and "same name as C" in dry
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.step == "step-run"
        summary = screen.summary
        assert summary is not None and summary.run_id == 1
        assert (summary.created, summary.skipped, summary.rejected) == (4, 1, 2)
        shown = text_of(app, "#run-result")
        assert "run 1" in shown and summary.report_path in shown.replace("\n", "")

        stored = customers(db)
        beijing = stored["北京明珠科技有限公司"]
        assert beijing["notes"] == "老客户, 重点\n第二行"
        assert beijing["created_at"] == "2021-05-04T00:00:00"  # declared DD/MM/YYYY
        assert beijing["extras"] == [("座机号", "1062345678")]
        assert stored["Vega-Gentry"]["phone"] == "+18086176467;ext=12895"
        assert "Steele Group" not in stored  # (283)437-3886x: never a Chengdu landline
        assert "坏号码有限公司" not in stored and "已有客户有限公司" not in stored
        assert [r[0] for r in db.conn.execute("SELECT name FROM customers WHERE name=?",
                                              (HOSTILE_NAME,))] == [HOSTILE_NAME] * 2  # fmt: skip
        with Path(summary.report_path).open(encoding="utf-8-sig") as handle:
            report = list(csv.reader(handle))
        assert [row[0] for row in report[1:]] == ["6", "7"] and report[2][3] == "坏号码有限公司"
        run_row = db.conn.execute("SELECT * FROM import_runs").fetchone()
        assert (run_row["legal_basis"], run_row["source"]) == ("contract", "2019 trade show")

        # Past runs: undo the run behind a confirmation.
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ImportRunsScreen)
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert "Run 1 undone: 4 removed" in text_of(app, "#runs-result")

    run(flow, app)
    assert set(customers(db)) == before
    status = db.conn.execute("SELECT status, undone_by FROM import_runs").fetchone()
    assert tuple(status) == ("undone", "manager")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():  # fixed times: the bytes name the test case
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        (b"", "the file is empty"),
        ("客户名称,手机,客户类型\r\n\r\n".encode("gb18030"), "only a header row"),
        (bytes(range(256)) * 40, "binary content"),
        (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(4096), "an old binary Excel workbook (.xls)"),
        (_zip({"Index/Document.iwa": b"\x00"}), "an Apple Numbers document"),
        (_zip({"xl/workbook.xml": b"<workbook"})[:60], "not a readable XLSX workbook"),
    ],
)
def test_bad_files_are_named_next_to_the_path(
    db: Database, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, path)
        assert app.screen.step == "step-file"  # type: ignore[attr-defined]
        assert message in text_of(app, "#path-error")
        assert app.focused is not None and app.focused.id == "path"

    run(flow, app)


def test_wrong_encoding_chosen_is_refused_with_the_line(db: Database, messy: Path) -> None:
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await pilot.press("I")
        await pilot.pause()
        await pilot.press(*str(messy))
        await choose(pilot, "encoding", "UTF")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert "line 1 is not valid utf-8 text" in text_of(app, "#path-error")

    run(flow, app)


def test_a_column_mapped_twice_is_refused_next_to_the_columns(db: Database, messy: Path) -> None:
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, messy)
        await choose(pilot, "column-1", "name")
        assert "both mapped to name" in text_of(app, "#mapping-error")

    run(flow, app)


def test_a_dry_run_refused_for_the_whole_file_says_why_next_to_the_columns(
    db: Database, tmp_path: Path
) -> None:
    """No column gives the customer type and no default is chosen: the dry run is refused
    as a whole, and the reason (customer text in it) is shown literally."""
    path = tmp_path / "[red]no types.csv"
    path.write_bytes("客户名称,手机\r\n北京明珠科技有限公司,13800138000\r\n".encode("gb18030"))
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, path)
        await choose(pilot, "legal-basis", "needed")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.screen.step == "step-columns"  # type: ignore[attr-defined]
        said = text_of(app, "#mapping-error")
        assert "[red]no types.csv" in said and "customer type" in said

    run(flow, app)


def test_a_mapping_saved_by_name_is_offered_and_reused(db: Database, messy: Path) -> None:
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, messy)
        await choose(pilot, "column-7", "another phone")
        await tab_to(pilot, "mapping-name")
        await pilot.press(*"Excel 2019", "enter")
        await settle(pilot)
        assert [name for name, _by, _at in app.session.imports.mappings()] == ["Excel 2019"]
        await pilot.press("escape", "escape")  # back to the file, then to the list
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        await pilot.press("I")  # a new Import screen lists the saved mapping
        await settle(pilot)
        await pilot.press(*str(messy))
        await choose(pilot, "saved-mapping", "Excel")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.query_one("#column-7").value == "extra_phone"

    run(flow, app)


@pytest.mark.parametrize("user", ["sales1", "service"])
def test_sales_and_service_cannot_reach_the_import(db: Database, user: str) -> None:
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, user)
        screen = app.screen
        assert isinstance(screen, CustomersScreen)
        await pilot.press("I")
        await pilot.pause()
        assert app.screen is screen
        titles = [str(c.title) for c in screen.palette_commands()]
        assert not any("Import" in title for title in titles)
        app.open_import()
        app.open_import_runs()
        await pilot.pause()
        assert app.screen is screen

    run(flow, app)


def test_an_undo_cut_short_is_named_at_sign_in(db: Database, messy: Path) -> None:
    """An undo killed half-way (its process gone) is named with how to finish it."""
    options = ImportOptions("consent", date_format="dmy", mapping={"座机号": ""}, workers=0)
    run_id = importer.run_import(db, messy, options, actor="cli:tester").run_id
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with db.write() as tx:
        tx.execute(
            "UPDATE import_runs SET undone_by='manager', pid=?, heartbeat_at=? WHERE id=?",
            (gone.pid, "2026-01-01T00:00:00", run_id),
        )
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        notices = [str(n.message) for n in app._notifications]
        named = f"The undo of import run {run_id} (客户.csv) was cut short. Finish it (u)"
        assert any(named in notice for notice in notices), notices

    run(flow, app)


def test_a_run_cut_short_is_named_at_sign_in_and_finished_from_past_runs(
    db: Database, messy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cut(progress: importer.ImportProgress) -> None:
        raise KeyboardInterrupt

    options = ImportOptions("consent", date_format="dmy", batch_rows=2, mapping={"座机号": ""})
    with pytest.raises(KeyboardInterrupt):
        importer.run_import(db, messy, options, actor="cli:tester", progress=cut)
    assert db.conn.execute("SELECT status FROM import_runs").fetchone()[0] == "interrupted"
    monkeypatch.chdir(messy.parent)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        notices = [str(n.message) for n in app._notifications]
        cut_short = "Import run 1 (客户.csv) was cut short after line 5"
        assert any(cut_short in notice for notice in notices), notices
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Import runs")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ImportRunsScreen)
        assert "r finishes it" in text_of(app, "#run-detail")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")  # the file's name is offered; it is in the working folder
        await settle(pilot)
        assert "Imported 客户.csv as run 1" in text_of(app, "#runs-result")

    run(flow, app)
    run_row = db.conn.execute("SELECT status, created, rejected FROM import_runs").fetchone()
    assert tuple(run_row) == ("done", 4, 2)


# --- pictures -----------------------------------------------------------------------------


@pytest.fixture
def fixed_paths(messy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Relative paths and a fixed report name, so the pictures hold no temporary folder."""
    monkeypatch.chdir(messy.parent)
    monkeypatch.setattr(
        import_screen, "default_report_path", lambda source: Path("客户.rejected.csv")
    )
    return Path(messy.name)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_preview_snapshot(
    snap_compare: Any,
    db: Database,
    fixed_paths: Path,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANG", f"{language}.UTF-8")  # the sign-in keeps the locale's language
    i18n.activate(language)

    async def before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, fixed_paths)

    assert snap_compare(_app(db), terminal_size=(80, 24), run_before=before)


def test_summary_snapshot(snap_compare: Any, db: Database, fixed_paths: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await to_columns(pilot, fixed_paths)
        await declare_and_dry_run(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)

    assert snap_compare(_app(db), terminal_size=(80, 24), run_before=before)


@pytest.fixture
def two_runs(db: Database, messy: Path) -> Database:
    """One run done and one cut short, with fixed times and report path."""
    options = ImportOptions("consent", date_format="dmy", mapping={"座机号": ""}, source="展会")
    importer.run_import(db, messy, options, actor="cli:manager")

    def cut(progress: importer.ImportProgress) -> None:
        raise KeyboardInterrupt

    cut_options = dataclasses.replace(options, batch_rows=2, legal_basis="contract")
    with pytest.raises(KeyboardInterrupt):
        importer.run_import(db, messy, cut_options, actor="cli:manager", progress=cut)
    with db.write() as tx:
        tx.execute(
            "UPDATE import_runs SET started_at = '2026-06-0' || id || 'T09:30:00',"
            " finished_at = NULL, heartbeat_at = started_at,"
            " report_path = CASE WHEN rejected THEN '客户.rejected.csv' ELSE '' END"
        )
    return db


@pytest.mark.parametrize(
    "size, language", [((80, 24), "en"), ((120, 40), "en"), ((80, 24), "zh_CN")]
)
def test_past_runs_snapshot(
    snap_compare: Any,
    two_runs: Database,
    size: tuple[int, int],
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANG", f"{language}.UTF-8")
    i18n.activate(language)

    async def before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        pilot.app.clear_notifications()  # the sign-in notice of the cut-short run
        pilot.app.open_import_runs()  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(_app(two_runs), terminal_size=size, run_before=before)


def test_quitting_mid_undo_asks_first_and_leaves_the_undo_to_finish(
    db: Database, messy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctrl+q while an undo runs asks first; quitting anyway stops the undo after its batch,
    the run is not marked undone, and Past runs and `u` finish it afterwards."""
    import threading

    from tui_crm.screens.confirm import ConfirmScreen

    options = ImportOptions("consent", date_format="dmy", mapping={"座机号": ""}, workers=0)
    run_id = importer.run_import(db, messy, options, actor="cli:tester").run_id
    monkeypatch.setattr(importer, "BATCH_ROWS", 1)
    real = importer._undo_records
    in_second_batch, go_on = threading.Event(), threading.Event()
    batches = []

    def undo_records(*args: Any) -> None:
        batches.append(1)
        if len(batches) == 2:
            in_second_batch.set()
            go_on.wait()
        real(*args)

    monkeypatch.setattr(importer, "_undo_records", undo_records)
    app = _app(db)

    async def flow(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        app.open_import_runs()
        await settle(pilot)
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("y")
        while not in_second_batch.is_set():
            await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "still running" in str(app.screen.question)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ImportRunsScreen) and app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")

    async def main() -> None:
        async with app.run_test() as pilot:
            await flow(pilot)
        go_on.set()  # the app is gone: the undo's next report finds no app and stops

    asyncio.run(main())
    row = db.conn.execute("SELECT * FROM import_runs WHERE id=?", (run_id,)).fetchone()
    assert (row["status"], row["undone_by"], row["undone_at"]) == ("done", "manager", None)
    assert [run.id for run in importer.undos_cut_short(db)] == [run_id]
    left = db.conn.execute("SELECT COUNT(*) FROM import_rows WHERE run_id=?", (run_id,))
    assert left.fetchone()[0] == 2  # of 4: two batches of one were undone

    app = _app(db)

    async def finish(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        app.open_import_runs()
        await settle(pilot)
        assert "undo cut short" in str(app.screen.query_one("DataTable").get_row_at(0)[-1])
        assert "Its undo was cut short: u finishes it." in text_of(app, "#run-detail")
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert f"Run {run_id} undone: 2 removed" in text_of(app, "#runs-result")

    run(finish, app)
    assert db.conn.execute("SELECT status FROM import_runs").fetchone()[0] == "undone"
