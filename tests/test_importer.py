"""Imports from real files in real encodings into a real database: mapping, validation,
duplicates, dry run, rejected-rows report, undo, interruption and resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.conftest import customer_data, hostile_strings
from tui_crm import audit, importer
from tui_crm.db import Database
from tui_crm.importer import ImportFileError, ImportOptions, ImportRunError

CN_HEADER = "客户名称,联系人,手机,邮箱,行业,客户类型,地址,统一社会信用代码,备注,负责人\n"
CN_ROWS = (
    "北京明珠科技有限公司,张伟,13800138000,zw@example.cn,制造业,成交,北京市朝阳区1号,"
    "91110000600037341L,老客户,sales1\n"
    "上海华东贸易有限公司,李娜,139 0013 9000,,批发和零售业,潜在,,,,\n"
)


def options(**overrides: Any) -> ImportOptions:
    values: dict[str, Any] = {"legal_basis": "contract", "source": "2019 trade show list"}
    values.update(overrides)
    return ImportOptions(**values)


def run(db: Database, path: Path, **kwargs: Any) -> importer.ImportSummary:
    opts = kwargs.pop("opts", None) or options()
    return importer.run_import(db, path, opts, actor="cli:tester", **kwargs)


def customers(db: Database) -> list[dict[str, Any]]:
    rows = db.conn.execute("SELECT * FROM customers ORDER BY id").fetchall()
    out = []
    for row in rows:
        item = dict(row)
        for name in ("phone", "email", "id_number", "address"):
            item[name] = db.keys.decrypt(row[f"{name}_enc"], "customers", f"{name}_enc", row["id"])
        out.append(item)
    return out


def table_counts(db: Database) -> dict[str, int]:
    tables = [
        r[0]
        for r in db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- reading ------------------------------------------------------------------------------


def test_gbk_file_without_bom_with_chinese_headers(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "客户.csv", CN_HEADER + CN_ROWS, "gbk")
    summary = run(db, path)
    assert (summary.created, summary.rejected) == (2, 0), summary.rejected_rows
    first, second = customers(db)
    assert first["name"] == "北京明珠科技有限公司"
    assert first["industry"] == "C" and first["customer_type"] == "customer"
    assert first["phone"] == "13800138000" and first["credit_code"] == "91110000600037341L"
    assert first["address"] == "北京市朝阳区1号" and first["notes"] == "老客户"
    owner = db.conn.execute("SELECT id FROM users WHERE username='sales1'").fetchone()[0]
    assert first["owner_id"] == owner
    assert second["industry"] == "F" and second["customer_type"] == "prospect"
    assert second["phone"] == "13900139000"
    assert first["import_run_id"] == summary.run_id


def test_utf8_bom_semicolons_quoted_breaks_blank_lines_trailing_columns(
    db: Database, tmp_path: Path
) -> None:
    text = (
        "Company;Contact;Phone;Email;Type;Notes;;\n"
        "\n"
        '"Acme; Trading, Ltd";Zed;13800138000;zed@example.com;customer;"line one\nline two";;\n'
        "\n\n"
        "Beta GmbH;Eve;;eve@example.com;prospect;;;\n"
    )
    path = write(tmp_path / "bom.csv", "\ufeff" + text)
    summary = run(db, path)
    assert (summary.created, summary.rejected) == (2, 0)
    acme, beta = customers(db)
    assert acme["name"] == "Acme; Trading, Ltd" and acme["notes"] == "line one\nline two"
    assert beta["email"] == "eve@example.com" and beta["phone"] is None
    lines = [line for line, _ in db.conn.execute("SELECT line, id FROM import_rows ORDER BY id")]
    assert lines == [3, 7]


def test_utf16_tab_and_pipe_delimiters(db: Database, tmp_path: Path) -> None:
    text = "Name\tPhone\tType\nTab Co\t13800138000\tprospect\n"
    run(db, write(tmp_path / "tab.csv", text, "utf-16"))
    pipe = "Name|Email|Type\nPipe Co|p@example.com|lead\n"
    run(db, write(tmp_path / "pipe.csv", pipe))
    assert [c["name"] for c in customers(db)] == ["Tab Co", "Pipe Co"]
    assert customers(db)[1]["customer_type"] == "prospect"


def test_xlsx_first_or_named_sheet(db: Database, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "说明"
    first.append(["这张表不导入"])
    sheet = book.create_sheet("客户")
    sheet.append(["公司名称", "手机", "客户类型", "创建日期", "公司规模"])
    sheet.append(["深圳一号科技有限公司", 13800138000, "意向客户", "2024-03-05", "120人"])
    sheet.append([None, None, None, None, None])
    sheet.append(["深圳二号电子有限公司", 13900139000, "流失", None, "1000+"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    with pytest.raises(ImportFileError, match="no column is mapped to the customer name"):
        run(db, path)
    summary = run(db, path, opts=options(sheet="客户"))
    assert (summary.created, summary.rejected) == (2, 0), summary.rejected_rows
    one, two = customers(db)
    assert one["phone"] == "13800138000" and one["customer_type"] == "prospect"
    assert one["created_at"] == "2024-03-05T00:00:00" and one["company_size"] == "50-249"
    assert two["customer_type"] == "churned" and two["company_size"] == "1000+"
    assert [line for (line,) in db.conn.execute("SELECT line FROM import_rows")] == [2, 4]


# --- bad input: one clear message, nothing written ----------------------------------------


def _merged_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客户名单"])
    sheet.merge_cells("A1:C1")  # a title above the header: fine
    sheet.append(["客户名称", "手机", "客户类型"])
    sheet.append(["某公司", "13800138000", "潜在"])
    sheet.append(["", "13900139000", "潜在"])
    sheet.merge_cells("A3:A4")  # one company over two rows: each row no longer stands alone
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "file not found"),
        ("empty", "the file is empty"),
        ("header_only", "only a header row"),
        ("binary", "binary content"),
        ("wrong_encoding", "line 3 is not valid utf-8"),
        ("huge_cell", "line 2 has a cell larger than 128 KiB"),
        ("mapped_twice", "both mapped to phone"),
        ("merged", "merged cell range"),
        ("not_xlsx", "not a readable XLSX workbook"),
        ("no_contact", "no column is mapped to a phone or an email"),
        ("no_type", "no column gives the customer type"),
    ],
)
def test_bad_files_refused_with_one_line_and_nothing_written(
    db: Database, tmp_path: Path, case: str, message: str
) -> None:
    opts = options()
    path = tmp_path / f"{case}.csv"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "header_only":
        write(path, "\ufeff客户名称,手机,客户类型\n\n")
    elif case == "binary":
        path.write_bytes(bytes(range(256)) * 40)
    elif case == "wrong_encoding":
        write(
            path, "Name,Phone,Type\nAcme,13800138000,prospect\n北京公司,13900139000,潜在\n", "gbk"
        )
        opts = options(encoding="utf-8")
    elif case == "huge_cell":
        with path.open("w") as handle:
            handle.write("Name,Phone,Type\n")
            handle.write("Big," + "9" * (50 * 1024 * 1024) + ",prospect\n")
    elif case == "mapped_twice":
        write(path, "Name,Phone,Mobile,Type\nA,13800138000,13900139000,prospect\n")
        opts = options(mapping={"Mobile": "phone", "Phone": "phone"})
    elif case == "merged":
        path = _merged_workbook(tmp_path / "merged.xlsx")
    elif case == "not_xlsx":
        import zipfile

        path = tmp_path / "fake.xlsx"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "not a workbook")
    elif case == "no_contact":
        write(path, "Name,Type\nA,prospect\n")
    elif case == "no_type":
        write(path, "Name,Phone\nA,13800138000\n")
    before = table_counts(db)
    with pytest.raises(ImportFileError, match=message) as caught:
        run(db, path, opts=opts)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
    assert table_counts(db) == before
    if case not in ("wrong_encoding", "no_contact", "no_type"):  # found by the run's read
        with pytest.raises(ImportFileError, match=message):
            importer.inspect_file(path, opts)  # the Import screen's first step


def test_unknown_columns_listed_and_overrides_by_header_or_position(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path / "x.csv", "Firma,Telefon,Type,Website\nAcme,13800138000,customer,x\n")
    preview = importer.inspect_file(path, options())
    assert preview.mapping.unknown == ("Firma", "Telefon", "Website")
    mapping = {"Firma": "name", "#2": "phone", "Website": ""}
    summary = run(db, path, opts=options(mapping=mapping))
    assert summary.created == 1 and summary.unknown_columns == []
    importer.save_mapping(db, "German CRM", summary.mapping, actor="cli:tester")
    assert importer.load_mapping(db, "german crm") == summary.mapping
    assert [name for name, _, _ in importer.list_mappings(db)] == ["German CRM"]
    with pytest.raises(ImportFileError, match="both mapped to phone"):
        importer.save_mapping(db, "bad", {"#1": "phone", "Tel": "phone"}, actor="cli:tester")
    with pytest.raises(ImportFileError, match="no saved mapping"):
        importer.load_mapping(db, "nope")


# --- values ---------------------------------------------------------------------------------


def test_international_phones_keep_extensions_or_are_rejected_with_reason(
    db: Database, tmp_path: Path
) -> None:
    text = (
        "Company,First Name,Last Name,Phone 1,Phone 2,Email,Type\n"
        "Vega-Gentry,Preston,Lozano,001-808-617-6467x12895,+44 20 7946 0958,v@colon.com,lead\n"
        "Steele Group,Aimee,Downs,(283)437-3886x88321,,l@gilbert.com,lead\n"
        "Bad Phone Co,Roy,Berry,229.077.5154,,b@hogan.com,lead\n"
    )
    path = write(tmp_path / "intl.csv", text)
    summary = run(db, path, opts=options(phone_region="US"), report_path=tmp_path / "rej.csv")
    assert (summary.created, summary.rejected) == (1, 2)
    (steele,) = customers(db)
    assert steele["phone"] == "+12834373886;ext=88321"
    assert steele["contact_name"] == "Aimee Downs"
    run(db, path, opts=options(phone_region="CN", strategy="create"))
    stored = {c["name"]: c for c in customers(db)}
    assert stored["Vega-Gentry"]["phone"] == "+18086176467;ext=12895"
    assert stored["Vega-Gentry"]["phone_last4"] == "6467"
    extras = importer.bulk.decrypt_extra_contacts(db.keys, stored["Vega-Gentry"])
    assert extras == [("Phone 2", "+442079460958")]
    report = list(csv.reader((tmp_path / "rej.csv").open(encoding="utf-8-sig")))
    assert report[0][:3] == ["line", "error_fields", "errors"]
    by_line = {row[0]: row for row in report[1:]}
    assert set(by_line) == {"2", "4"}
    assert by_line["2"][1] == "phone" and "001-808-617-6467x12895" in by_line["2"][2]
    assert "is not a valid phone number" in by_line["4"][2]
    assert by_line["4"][3:] == [
        "Bad Phone Co",
        "Roy",
        "Berry",
        "229.077.5154",
        "",
        "b@hogan.com",
        "lead",
    ]
    assert os.stat(tmp_path / "rej.csv").st_mode & 0o777 == 0o600


def test_ambiguous_dates_must_be_declared(db: Database, tmp_path: Path) -> None:
    text = (
        "Name,Phone,Type,创建日期\n"
        "A,13800138000,prospect,04/05/2021\n"
        "B,13900139000,prospect,03/02/2020\n"
    )
    path = write(tmp_path / "dates.csv", text)
    with pytest.raises(ImportFileError, match="declare the order"):
        run(db, path)
    assert table_counts(db)["customers"] == 0
    run(db, path, opts=options(date_format="DD/MM/YYYY"))
    assert [c["created_at"] for c in customers(db)] == [
        "2021-05-04T00:00:00",
        "2020-02-03T00:00:00",
    ]
    clear = write(tmp_path / "dmy.csv", text.replace("03/02/2020", "13/02/2020"))
    run(db, clear, opts=options(strategy="create"))
    assert customers(db)[-1]["created_at"] == "2020-02-13T00:00:00"
    mdy = write(tmp_path / "mdy.csv", text + "C,13700137000,prospect,12/25/2020\n")
    run(db, mdy, opts=options(strategy="create"))
    assert customers(db)[-3]["created_at"] == "2021-04-05T00:00:00"
    mixed = write(
        tmp_path / "mixed.csv",
        text.replace("03/02/2020", "13/02/2020") + "C,13700137000,prospect,12/25/2020\n",
    )
    with pytest.raises(ImportFileError, match="mixes day-first and month-first"):
        run(db, mixed, opts=options(strategy="create"))
    with_time = "Name,Phone,Type,Created\nT,13500135000,prospect,2021年3月4日 09:30\n"
    run(db, write(tmp_path / "cn.csv", with_time))
    assert customers(db)[-1]["created_at"] == "2021-03-04T09:30:00"


def test_scan_dates_says_which_columns_must_be_declared(tmp_path: Path) -> None:
    text = (
        "Name,Phone,Type,创建日期,Last contact\n"
        "A,13800138000,prospect,04/05/2021,2021-03-04\n"
        "B,13900139000,prospect,03/02/2020,\n"
    )
    path = write(tmp_path / "dates.csv", text)
    assert importer.scan_dates(path, options()) == {"创建日期": "ambiguous", "Last contact": "ymd"}
    clear = write(tmp_path / "clear.csv", text.replace("03/02/2020", "13/02/2020"))
    assert importer.scan_dates(clear, options())["创建日期"] == "dmy"
    mixed = write(tmp_path / "mixed.csv", text.replace("03/02/2020", "13/02/2020")
                  + "C,13700137000,prospect,12/25/2020,\n")  # fmt: skip
    assert importer.scan_dates(mixed, options())["创建日期"] == "mixed"
    ignored = options(mapping={"创建日期": "", "Last contact": ""})
    assert importer.scan_dates(path, ignored) == {}


def test_hostile_strings_stored_as_plain_text(db: Database, tmp_path: Path) -> None:
    cases = hostile_strings()
    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Contact", "Email", "Type", "Notes"])
        for i, case in enumerate(cases):
            writer.writerow([f"{case['text']} {i}", case["text"], f"h{i}@example.com", "lead",
                             case["text"]])  # fmt: skip
    summary = run(db, path)
    assert summary.created + summary.rejected == len(cases)
    for customer in customers(db):
        for name in ("name", "contact_name", "notes"):
            text = customer[name]
            allowed = "\t\n" if name == "notes" else ""
            assert not any(
                (ord(ch) < 0x20 and ch not in allowed) or 0x7F <= ord(ch) <= 0x9F for ch in text
            )
    names = [c["name"] for c in customers(db)]
    assert any(name.startswith("Bob [/]") for name in names)
    assert audit.verify(db.conn, db.keys).ok


# --- duplicates -------------------------------------------------------------------------------


def _existing(session: Any) -> Any:
    return session("manager").customers.create(
        customer_data(name="Acme Trading Ltd", phone="13800138000", email="zed@example.com")
    )


DUP_FILE = (
    "Name,Phone,Email,Type,City,Notes\n"
    "Acme Trading Ltd,138 0013 8000,,customer,上海,new notes\n"  # matches the DB by phone
    "Brand New Co,13700137000,new@example.com,prospect,,\n"
    "Brand New Co (copy),,NEW@example.com,prospect,杭州,\n"  # same email as line 3
    "Acme Trading Ltd,13600136000,other@example.com,prospect,,\n"  # same name only
)


def test_duplicates_skipped_by_default(db: Database, session: Any, tmp_path: Path) -> None:
    _existing(session)
    summary = run(db, write(tmp_path / "dup.csv", DUP_FILE))
    assert (summary.created, summary.updated, summary.skipped) == (2, 0, 2)
    reasons = dict(summary.skipped_rows)
    assert reasons[2].startswith("duplicate of C") and "phone" in reasons[2]
    assert reasons[4] == "duplicate of line 3 by email"
    assert summary.review == 1 and summary.review_rows[0][0] == 5
    review = importer.review_rows(db, summary.run_id)
    assert review[0][0] == 5 and review[0][2].startswith("same name as C")


def test_update_strategy_overwrites_non_empty_cells_only(
    db: Database, session: Any, tmp_path: Path
) -> None:
    acme = _existing(session)
    manager = session("manager")
    manager.activity.add_followup(acme.id, channel="phone", content="called")
    manager.tags.add(acme.id, "custom", "VIP")
    summary = run(db, write(tmp_path / "dup.csv", DUP_FILE), opts=options(strategy="update"))
    assert (summary.created, summary.updated, summary.skipped) == (2, 2, 0)
    after = manager.customers.get(acme.id)
    assert after.customer_type == "customer" and after.city == "上海"
    assert after.notes == "new notes" and after.email == "z***@example.com"
    assert after.version == acme.version + 1 and after.code == acme.code
    assert after.owner_id == acme.owner_id and [t.name for t in after.tags] == ["VIP"]
    assert len(manager.activity.timeline(acme.id)) == 1
    brand = next(c for c in customers(db) if c["email"] == "new@example.com")
    assert brand["name"] == "Brand New Co (copy)" and brand["city"] == "杭州"
    entries = audit.query(db.conn, db.keys, audit.AuditFilter(customer_code=acme.code))
    update = next(e for e in entries if e.action == "customer.update")
    assert update.details["fields"]["city"] == [None, "上海"]
    assert update.details["import_run"] == summary.run_id


def test_create_strategy_creates_even_duplicates(
    db: Database, session: Any, tmp_path: Path
) -> None:
    _existing(session)
    summary = run(db, write(tmp_path / "dup.csv", DUP_FILE), opts=options(strategy="create"))
    assert (summary.created, summary.skipped) == (4, 0)


@pytest.mark.parametrize("strategy", ["skip", "update", "create"])
def test_dry_run_says_exactly_what_the_run_does_and_writes_nothing(
    db: Database, session: Any, tmp_path: Path, strategy: str
) -> None:
    _existing(session)
    messy = DUP_FILE + "Broken,12345,not-an-email,prospect,,\nNo Contact Co,,,prospect,,\n"
    messy += "Brand New Co,13700137000,,customer,,changed again\n"
    path = write(tmp_path / "messy.csv", messy)
    before = table_counts(db)
    data_version = db.conn.execute("PRAGMA data_version").fetchone()[0]
    size = db.path.stat().st_size
    dry = run(db, path, dry_run=True, opts=options(strategy=strategy, batch_rows=3))
    assert table_counts(db) == before and db.path.stat().st_size == size
    assert db.conn.execute("PRAGMA data_version").fetchone()[0] == data_version
    real = run(db, path, opts=options(strategy=strategy, batch_rows=3))
    for name in ("created", "updated", "skipped", "rejected", "review"):
        assert getattr(dry, name) == getattr(real, name), name
    assert dry.rejected_rows == real.rejected_rows and dry.skipped_rows == real.skipped_rows
    assert dry.rejected == 2


# --- undo, interruption -------------------------------------------------------------------


def test_undo_removes_created_restores_updated_keeps_changed(
    db: Database, session: Any, tmp_path: Path
) -> None:
    acme = _existing(session)
    text = (
        "Name,Phone,Email,Type,City\n"
        "Acme Renamed Ltd,13800138000,acme-new@example.com,customer,上海\n"
        "Kept Co,13700137000,,prospect,\n"
        "Gone Co,13600136000,,prospect,\n"
    )
    summary = run(db, write(tmp_path / "u.csv", text), opts=options(strategy="update"))
    assert (summary.created, summary.updated) == (2, 1)
    kept = next(c for c in customers(db) if c["name"] == "Kept Co")
    session("manager").activity.add_followup(kept["id"], channel="phone", content="called back")
    undo = importer.undo_run(db, summary.run_id, actor="cli:tester")
    assert (undo.deleted, undo.restored) == (1, 1)
    assert undo.kept == [(kept["code"], "changed since the import")]
    names = sorted(c["name"] for c in customers(db))
    assert names == ["Acme Trading Ltd", "Kept Co"]
    restored = session("manager").customers.get(acme.id)
    assert restored.city == "" and restored.customer_type == "prospect"
    row = next(c for c in customers(db) if c["id"] == acme.id)
    assert row["email"] == "zed@example.com"
    assert row["email_bidx"] == db.keys.blind_index("email", "zed@example.com")
    assert importer.get_run(db, summary.run_id).status == "undone"
    with pytest.raises(ImportRunError, match="already undone"):
        importer.undo_run(db, summary.run_id, actor="cli:tester")
    assert audit.verify(db.conn, db.keys).ok
    actions = [e.action for e in audit.query(db.conn, db.keys, audit.AuditFilter(), limit=50)]
    assert "import.undo" in actions and "customer.delete" in actions


def test_no_plaintext_contact_values_in_the_database_file(db: Database, tmp_path: Path) -> None:
    text = (
        "Name,Phone,Phone 2,Email,Type,身份证号,地址\n"
        "Plain Person,13812345678,+44 20 7946 0958,secret.person@example.org,prospect,"
        "11010519491231002X,北京市海淀区秘密路88号\n"
    )
    run(db, write(tmp_path / "p.csv", text), opts=options(default_kind="person"))
    update = "Name,Phone,Email,Type\nPlain Person,13812345678,second.secret@example.org,customer\n"
    run(db, write(tmp_path / "p2.csv", update), opts=options(strategy="update"))
    db.conn.execute("PRAGMA wal_checkpoint(FULL)").close()
    raw = db.path.read_bytes() + Path(f"{db.path}-wal").read_bytes()
    for secret in ("13812345678", "79460958", "secret.person@example.org",
                   "second.secret@example.org", "11010519491231002X", "秘密路"):  # fmt: skip
        assert secret.encode() not in raw, secret


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
from tui_crm.crypto import load_key_file
from tui_crm.db import Database
from tui_crm import importer
db = Database.open(Path(sys.argv[1]), load_key_file(Path(sys.argv[2])))
def progress(p):
    if p.rows_done >= 40:
        os.kill(os.getpid(), signal.SIGKILL)
opts = importer.ImportOptions(legal_basis="consent", default_type="prospect", batch_rows=20)
importer.run_import(db, Path(sys.argv[3]), opts, actor="cli:killed", progress=progress,
                    report_path=Path(sys.argv[4]))
"""


def test_killed_run_is_consistent_detected_and_resumable(db: Database, tmp_path: Path) -> None:
    rows = ["Name,Phone"] + [f"Company {i},1380013{i:04d}" for i in range(100)]
    rows[50] = "Company 49,bad phone"
    path = write(tmp_path / "big.csv", "\n".join(rows) + "\n")
    key_file = next((db.path.parent / "keys").iterdir())
    report = tmp_path / "rejected.csv"
    result = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(db.path), str(key_file), str(path), str(report)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    db.conn.execute("SELECT 1").fetchone()
    (run_info,) = importer.list_runs(db)
    assert run_info.status == "running" and run_info.last_line == 41
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 40
    assert audit.verify(db.conn, db.keys).ok
    interrupted = importer.mark_interrupted(db, actor="cli:tester")
    assert [r.id for r in interrupted] == [run_info.id]
    assert importer.get_run(db, run_info.id).status == "interrupted"
    summary = importer.run_import(
        db, path, options(), actor="cli:tester", resume_run_id=run_info.id
    )
    assert (summary.created, summary.rejected) == (99, 1)
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 99
    report_lines = list(csv.reader(report.open(encoding="utf-8-sig")))
    assert [r[0] for r in report_lines[1:]] == ["51"]
    assert importer.get_run(db, run_info.id).status == "done"
    importer.undo_run(db, run_info.id, actor="cli:tester")
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0
    assert audit.verify(db.conn, db.keys).ok


def test_worker_processes_clean_the_same_as_inline(db: Database, tmp_path: Path) -> None:
    rows = ["客户名称,手机,邮箱,客户类型"]
    rows += [f"公司{i},1390013{i:04d},c{i}@example.com,潜在" for i in range(300)]
    rows[7] = "坏公司,123,bad,潜在"
    path = write(tmp_path / "w.csv", "\n".join(rows) + "\n")
    inline = run(db, path, dry_run=True, opts=options(workers=0, batch_rows=50))
    parallel = run(db, path, opts=options(workers=2, batch_rows=50))
    assert (parallel.created, parallel.rejected) == (inline.created, inline.rejected) == (299, 1)
    assert parallel.rejected_rows == inline.rejected_rows


def test_without_a_real_stderr_rows_are_cleaned_inline(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the app Textual captures stderr (fileno -1), which multiprocessing's resource
    tracker cannot be handed: the run cleans inline instead of failing."""

    class Captured:
        def write(self, text: str) -> int:
            return len(text)

        def fileno(self) -> int:
            return -1

    rows = ["客户名称,手机,客户类型"] + [f"公司{i},1390013{i:04d},潜在" for i in range(60)]
    path = write(tmp_path / "app.csv", "\n".join(rows) + "\n")
    monkeypatch.setattr(sys, "stderr", Captured())
    summary = run(db, path, opts=options(workers=1, batch_rows=20))
    assert summary.created == 60


def test_run_record_holds_source_legal_basis_and_file_hash(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "客户.csv", CN_HEADER + CN_ROWS, "gbk")
    summary = run(db, path, opts=options(legal_basis="publicly_available"))
    info = importer.get_run(db, summary.run_id)
    assert info.legal_basis == "publicly_available" and info.source == "2019 trade show list"
    assert info.file_sha256 == summary.sha256 and len(summary.sha256) == 64
    assert (info.status, info.created, info.total_rows) == ("done", 2, 2)
    assert json.dumps(summary.as_dict(), ensure_ascii=False)
    first = db.conn.execute("SELECT MIN(id) FROM customers").fetchone()[0]
    origin = importer.provenance(db.conn, first)
    assert origin is not None and origin.run_id == summary.run_id
    assert (origin.legal_basis, origin.file_name) == ("publicly_available", "客户.csv")
    with pytest.raises(ImportFileError, match="legal basis must be one of"):
        run(db, path, opts=options(legal_basis="because"))


def test_a_date_that_does_not_exist_is_told_so_in_both_languages(
    db: Database, tmp_path: Path
) -> None:
    """2026-02-30 is written YYYY-MM-DD: the reason says there is no such day, not which
    format to use."""
    from tui_crm import i18n

    text = (
        "Name,Phone,Type,Created\n"
        "A,13800138000,prospect,2026-02-30\n"
        "B,13900139000,prospect,2021-03-04\n"
    )
    path = write(tmp_path / "dates.csv", text)
    summary = run(db, path, dry_run=True)
    assert (summary.created, summary.rejected) == (1, 1)
    assert summary.rejected_rows == [
        (2, {"created_at": "'2026-02-30' is written YYYY-MM-DD but no such day exists"})
    ]
    with i18n.using("zh_CN"):
        summary = run(db, path, dry_run=True)
    ((_line, errors),) = summary.rejected_rows
    assert errors["created_at"] == "'2026-02-30' 按 YYYY-MM-DD 书写，但日历上没有这一天"


def test_the_rejected_rows_report_names_fields_as_the_screen_does(
    db: Database, tmp_path: Path
) -> None:
    """A Chinese operator opens the report in Excel: field names and reasons in Chinese,
    the machine-readable field codes beside them for scripts."""
    from tui_crm import i18n

    text = (
        "客户名称,手机,统一社会信用代码,客户类型\n"
        "北京某某股份有限公司,123,91110000ABCDEFGHIJ,潜在\n"
    )
    path = write(tmp_path / "坏行.csv", text)
    with i18n.using("zh_CN"):
        run(db, path, report_path=tmp_path / "rej.csv")
    (_header, row) = list(csv.reader((tmp_path / "rej.csv").open(encoding="utf-8-sig")))
    assert row[1] == "phone, credit_code"
    assert row[2] == "电话：'123' 不是有效的电话号码; 统一社会信用代码：不是有效的统一社会信用代码"


def test_a_killed_import_leaves_no_scratch_folder_behind_the_next(
    db: Database, tmp_path: Path, monkeypatch
) -> None:
    """The scratch folder of an import killed with kill -9 (customer names, blind indexes)
    goes at the next import; a running import's folder and other folders stay."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / "tmp" / f"tui-crm-import-{gone.pid}-abc_12"
    running = tmp_path / "tmp" / f"tui-crm-import-{os.getpid()}-def_34"
    other = tmp_path / "tmp" / "tui-crm-import-notapid-x"
    for folder in (dead, running, other):
        folder.mkdir()
        (folder / "scratch.db").write_bytes(b"names")
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "tmp" / f"tui-crm-import-{gone.pid}-link").symlink_to(victim)
    path = write(tmp_path / "one.csv", "Name,Phone,Type\nA,13800138000,prospect\n")
    run(db, path)
    left = sorted(p.name for p in (tmp_path / "tmp").iterdir())
    assert left == sorted([running.name, other.name, f"tui-crm-import-{gone.pid}-link"])
    assert victim.is_dir()


def test_a_chinese_operator_reads_duplicate_and_review_reasons_in_chinese(
    db: Database, session: Any, tmp_path: Path
) -> None:
    """The matched field and the same-name note are words of the operator's language; the
    note is stored neutral, so Past runs words it in whoever's language reads it."""
    from tui_crm import i18n

    _existing(session)
    path = write(tmp_path / "dup.csv", DUP_FILE)
    with i18n.using("zh_CN"):
        summary = run(db, path)
        stored_reason = importer.review_rows(db, summary.run_id)[0][2]
    reasons = dict(summary.skipped_rows)
    assert reasons[4] == "与 第 3 行（邮箱） 重复"
    assert "phone" not in reasons[2] and "电话" in reasons[2]
    ((line, why),) = summary.review_rows
    assert line == 5 and why.startswith("与 C") and why.endswith(" 同名")
    assert stored_reason == why
    stored = db.conn.execute("SELECT review FROM import_rows WHERE review <> ''").fetchone()[0]
    assert stored.startswith("same name as C")
    assert importer.review_rows(db, summary.run_id)[0][2] == stored


def test_review_reason_words_both_stored_forms() -> None:
    from tui_crm import i18n

    assert importer.review_reason("same name as line 12") == "same name as line 12"
    with i18n.using("zh_CN"):
        assert importer.review_reason("same name as line 12") == "与第 12 行同名"
        assert importer.review_reason("same name as C000042") == "与 C000042 同名"
        assert importer.review_reason("same name as line x") == "与 line x 同名"


def test_a_column_mapped_twice_names_the_field_in_the_operators_language(db: Database) -> None:
    from tui_crm import i18n

    mapping = {"公司": "name", "客户": "name"}
    with i18n.using("zh_CN"), pytest.raises(ImportFileError) as caught:
        importer.save_mapping(db, "bad", mapping, actor="cli:tester")
    assert "名称" in str(caught.value)
    assert "name" not in str(caught.value)
    with pytest.raises(ImportFileError, match="both mapped to name;"):
        importer.save_mapping(db, "bad", mapping, actor="cli:tester")


def test_an_update_that_would_break_a_customer_is_rejected_in_chinese(
    db: Database, session: Any, tmp_path: Path
) -> None:
    """A credit code given to a person fails only once merged: the reason names the customer
    it would have updated, in the operator's language."""
    from tui_crm import i18n

    session("manager").customers.create(customer_data(kind="person", name="Zed Person"))
    text = "Name,Phone,Credit code,Type\nZed Person,138 0013 8000,91350100M000100Y43,prospect\n"
    path = write(tmp_path / "upd.csv", text)
    summary = run(db, path, opts=options(strategy="update"), dry_run=True)
    ((_line, errors),) = summary.rejected_rows
    assert "(as an update of C" in errors["credit_code"]
    with i18n.using("zh_CN"):
        summary = run(db, path, opts=options(strategy="update"), dry_run=True)
    ((_line, errors),) = summary.rejected_rows
    assert "as an update of" not in errors["credit_code"] and "（作为对 C" in errors["credit_code"]
