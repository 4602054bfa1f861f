"""Found by probing export, merge and import undo from outside: each test is a failure
seen on a demo database, kept so it stays fixed."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import customer_data, signed_in
from tests.test_cli import STRONG, run
from tests.test_export import read_xlsx
from tui_crm import dedupe, export, importer
from tui_crm import validation as v
from tui_crm.cli import main
from tui_crm.importer import ImportOptions, ImportRunError
from tui_crm.listing import CustomerQuery
from tui_crm.service import Service
from tui_crm.service.cleaning import MergeRefused
from tui_crm.service.exports import audited_filters
from tui_crm.tabular import ImportFileError

__all__ = ["run"]  # test_cli's fixture, used here by name

# Full-width = + - @: spreadsheets in Chinese and Japanese locales read them as the
# ASCII operators, so a cell starting with one is a formula there too.
FULL_WIDTH = ['＝HYPERLINK("http://evil.example","点击")', "＋1+1", "－2+3", "＠SUM(A1)"]


@pytest.fixture
def admin(session: Callable[[str], Service]) -> Service:
    return session("admin")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_full_width_formula_starts_are_neutralised_and_come_back(
    admin: Service, tmp_path: Path, fmt: str
) -> None:
    for n, text in enumerate(FULL_WIDTH):
        admin.customers.create(
            customer_data(name=text, contact_name=text, phone=f"1370000{n:04d}", email="")
        )
    out = tmp_path / f"out.{fmt}"
    admin.exports.customers(CustomerQuery(), out, reveal=True)
    if fmt == "csv":
        with out.open(encoding="utf-8-sig", newline="") as handle:
            names = [row[1] for row in csv.reader(handle)][1:]
        assert sorted(names) == sorted("'" + text for text in FULL_WIDTH)
    else:
        assert sorted(row[1] for row in read_xlsx(out)[1:]) == sorted(FULL_WIDTH)
        sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
        assert sheet.count(' s="1"') == 2 * len(FULL_WIDTH)  # quote prefix: name, contact
    options = ImportOptions("consent", strategy="update", workers=0)
    summary = admin.imports.run(out, options, dry_run=True)
    assert (summary.created, summary.updated, summary.skipped) == (0, 0, len(FULL_WIDTH))


@pytest.mark.parametrize("text", FULL_WIDTH)
def test_restore_inverts_neutralise_for_full_width(text: str) -> None:
    assert export.neutralise(text) == "'" + text
    assert export.restore(export.neutralise(text)) == text


def test_merging_again_says_it_was_merged_already(admin: Service) -> None:
    first = admin.customers.create(customer_data(name="One Co", phone="13700000001"))
    second = admin.customers.create(customer_data(name="Two Co", phone="13700000002", email=""))
    admin.cleaning.merge(first.code, second.code)
    for pair in ((first.code, second.code), (second.code, first.code)):
        with pytest.raises(MergeRefused, match=f"{second.code} was already merged into"):
            admin.cleaning.merge(*pair)
    with pytest.raises(MergeRefused, match="cannot be merged with itself"):
        admin.cleaning.merge(first.code, first.code)


def test_an_undo_cut_short_and_run_again_reports_what_it_did(
    admin: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first undo restores one updated customer and is killed; the second finishes
    the other and must not call the first 'changed since the import' (it is restored)."""
    for n in (1, 2):
        admin.customers.create(customer_data(name=f"Old {n} Co", phone=f"1370000000{n}"))
    path = tmp_path / "update.csv"
    path.write_text(
        "Name,Phone,City,Type\n"
        "Old 1 Co,13700000001,上海,prospect\nOld 2 Co,13700000002,北京,prospect\n"
    )
    options = ImportOptions("consent", strategy="update", workers=0)
    run = admin.imports.run(path, options)
    assert run.updated == 2
    monkeypatch.setattr(importer, "BATCH_ROWS", 1)
    real = importer._undo_records
    calls = []

    def killed_after_one(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(*args, **kwargs)

    monkeypatch.setattr(importer, "_undo_records", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        admin.imports.undo(run.run_id)
    monkeypatch.setattr(importer, "_undo_records", real)
    assert [r.id for r in admin.imports.undos_cut_short()] == [run.run_id]
    with pytest.raises(ImportRunError, match="undo it again to finish"):
        admin.imports.run(path, options, resume_run_id=run.run_id)
    summary = admin.imports.undo(run.run_id)
    assert (summary.deleted, summary.restored, summary.kept) == (0, 1, [])
    assert sorted(c.city for c in admin.customers.find("Old")) == ["", ""]
    assert admin.imports.undos_cut_short() == []


def test_a_second_undo_waits_for_the_first(admin: Service, tmp_path: Path) -> None:
    """Two undos at once would each do half and both say 'undone'; the second is told."""
    path = tmp_path / "in.csv"
    path.write_text("Name,Phone,Type\nNew Co,13700000001,prospect\n")
    run = admin.imports.run(path, ImportOptions("consent", workers=0))
    with admin.db.write() as tx:  # another process (alive: our parent) has begun the undo
        tx.execute(
            "UPDATE import_runs SET undone_by='manager', pid=?, heartbeat_at=? WHERE id=?",
            (os.getppid(), v.now(), run.run_id),
        )
    assert admin.imports.undos_cut_short() == []
    with pytest.raises(ImportRunError, match="is being undone by manager"):
        admin.imports.undo(run.run_id)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with admin.db.write() as tx:  # ... and was killed
        tx.execute("UPDATE import_runs SET pid=? WHERE id=?", (gone.pid, run.run_id))
    assert [r.id for r in admin.imports.undos_cut_short()] == [run.run_id]
    assert admin.imports.undo(run.run_id).deleted == 1


@pytest.mark.parametrize("problem", ["exists", "symlink", "no folder"])
def test_a_report_that_cannot_be_written_starts_no_run(
    admin: Service, tmp_path: Path, problem: str
) -> None:
    """Refused before anything is written, not a run left behind that the next start
    calls cut short."""
    path = tmp_path / "in.csv"
    path.write_text("Name,Phone,Type\nBad Co,12,prospect\n")
    report = tmp_path / "report.csv"
    if problem == "exists":
        report.write_text("keep me")
    elif problem == "symlink":
        report.symlink_to(tmp_path / "elsewhere.csv")
    else:
        report = tmp_path / "missing" / "report.csv"
    options = ImportOptions("consent", workers=0)
    with pytest.raises(ImportFileError, match="report"):
        admin.imports.run(path, options, report_path=report)
    assert admin.imports.runs() == [] and admin.imports.interrupted() == []
    assert not (tmp_path / "elsewhere.csv").exists()


def test_undo_messages_and_run_states_in_chinese(run, tmp_path: Path) -> None:
    chinese = {"LANG": "zh_CN.UTF-8"}
    assert run("init", "--admin", "root", "--password-stdin", stdin=STRONG).exit_code == 0
    path = tmp_path / "in.csv"
    path.write_text("Name,Phone,Type\nNew Co,13700000001,prospect\n")
    assert run("import", str(path), "--legal-basis", "consent").exit_code == 0
    assert run("import", "undo", "1").exit_code == 0
    again = run("import", "undo", "1", **chinese)
    assert again.exit_code == 1 and again.output.strip() == "错误：导入批次 1 已撤销过"
    missing = run("import", "undo", "9", **chinese)
    assert missing.output.strip() == "错误：没有编号为 9 的导入批次"
    resumed = run("import", str(path), "--legal-basis", "consent", "--resume", "1", **chinese)
    assert "导入批次 1 的状态是已撤销；只有中断的批次可以继续" in resumed.output
    assert run("import", "list", **chinese).output.split()[2] == "已撤销"


def test_an_undo_names_the_survivor_an_imported_customer_was_merged_into(
    admin: Service, tmp_path: Path
) -> None:
    """The run's values live on in the survivor: the undo keeps it and says so, rather
    than counting one customer fewer with no word of where it went."""
    existing = admin.customers.create(customer_data(name="Old Co", phone="13700000009", email=""))
    path = tmp_path / "in.csv"
    path.write_text("Name,Phone,Email,Type\nNew Co,13700000001,new@example.com,prospect\n")
    run = admin.imports.run(path, ImportOptions("consent", workers=0))
    imported = admin.customers.find("New Co")[0]
    with admin.db.write() as tx:  # as if a later batch of the run had updated it once
        tx.execute("UPDATE import_rows SET version_after=2")
    admin.cleaning.merge(existing.code, imported.code)
    assert admin.customers.get(existing.code).version == 2  # what the run's record says
    summary = admin.imports.undo(run.run_id)
    assert (summary.deleted, summary.kept) == (0, [(existing.code, "changed since the import")])
    assert admin.customers.get(existing.code).email == "n***@example.com"  # the run's value


def test_names_of_only_punctuation_or_emoji_are_no_duplicates(admin: Service) -> None:
    """They fold to nothing, and nothing is not the same name as nothing."""
    made = [
        admin.customers.create(customer_data(name=name, phone=f"1370000{n:04d}", email=""))
        for n, name in enumerate(["!!!", "🙂", "🙃", "Acme Ltd", "ACME Inc"])
    ]
    acme = (made[3].code, made[4].code)
    assert [(c.first.code, c.second.code) for c in admin.cleaning.scan().candidates] == [acme]
    assert admin.cleaning.report().duplicate_candidates == 1
    one = dedupe.candidates_for(admin.db.conn, [made[0].id])  # the path of a single record
    assert one.candidates == ()


@pytest.mark.parametrize(
    "text",
    [
        "13800138000 张伟",  # a phone beside a name
        "1380013800",  # a phone one digit short
        "tel:13800138000",
        "11010119900307123X",  # an ID number with a wrong check digit
        "张伟 zhang.wei@example.com",
    ],
)
def test_a_searched_contact_value_is_masked_in_the_export_audit(text: str) -> None:
    """Only a search that is exactly a valid phone, email or ID number was masked; any
    other text holding one went into the log as typed."""
    kept = audited_filters(CustomerQuery(text=text))["search"]
    assert not any(secret in kept for secret in ("0013", "1380013", "19900307", "zhang.wei"))
    assert kept[-4:] == text[-4:] or "张伟" in kept


def test_codes_and_words_in_an_audited_search_stay_readable() -> None:
    assert audited_filters(CustomerQuery(text="C2026000123 张伟"))["search"] == "C2026000123 张伟"
    assert audited_filters(CustomerQuery(text="8000"))["search"] == "8000"  # a phone tail


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_the_rejected_rows_report_runs_no_formula(
    admin: Service, tmp_path: Path, kind: str
) -> None:
    """An XLSX holds `=HYPERLINK(…)` as a plain string; the report is a CSV, where the
    same text is a formula. Its cells are neutralised as an export's, and read back as
    they were (a CSV's own apostrophes included)."""
    values = ['=HYPERLINK("http://evil.example","x")', "12", "prospect", "@SUM(1)", "'t Hooft"]
    path = tmp_path / f"in.{kind}"
    if kind == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        book.active.append(["Name", "Phone", "Type", "Notes", "Contact"])
        book.active.append(values)
        book.active["A2"].data_type = "s"  # text, as a sheet holds it, not a formula
        book.save(path)
    else:
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerow(["Name", "Phone", "Type", "Notes", "Contact"])
            csv.writer(handle).writerow([export.neutralise(value) for value in values])
    report = tmp_path / "rejected.csv"
    admin.imports.run(path, ImportOptions("consent", workers=0), dry_run=True, report_path=report)
    with report.open(encoding="utf-8-sig", newline="") as handle:
        cells = list(csv.reader(handle))[1][3:]
    assert all(cell[0] not in "=+-@" for cell in cells)
    assert [export.restore(cell) for cell in cells] == values


def test_a_report_as_csv_runs_no_formula(db, tmp_path: Path) -> None:
    """`report … --csv` is opened in a spreadsheet as an export is; a region, source or
    rep name is customer text."""
    formula = '=HYPERLINK("http://evil.example","x")'
    signed_in(db, "admin").customers.create(customer_data(name="X", province=formula))
    env = {"TUI_CRM_DB": str(db.path), "TUI_CRM_KEY_FILE": str(tmp_path / "keys" / "crm.key")}
    result = CliRunner().invoke(main, ["report", "funnel", "--by", "region", "--csv"], env=env)
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [row["group"] for row in rows][1:] == ["'" + formula]
    assert rows[1]["leads"] == "1"


def test_a_file_name_with_escape_sequences_reaches_no_terminal(run, tmp_path: Path) -> None:
    """A received file may be named so as to retitle the window or clear the screen."""
    assert run("init", "--admin", "root", "--password-stdin", stdin=STRONG).exit_code == 0
    path = tmp_path / "evil\x1b]0;PWNED\x07\x1b[2J.csv"
    path.write_text("Name,Phone,Type\nNew Co,13700000001,prospect\n")
    outputs = [
        run("import", str(path), "--legal-basis", "consent").output,
        run("import", "list").output,
    ]
    assert all("\x1b" not in text and "\x07" not in text for text in outputs)
    assert all("evil.csv" in text for text in outputs)  # the sequences go whole
