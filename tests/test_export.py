"""Export on a real database: CSV with BOM and XLSX, masked unless revealed, formulas
neutralised and restored exactly, owner-only files that refuse symlinks and overwrites."""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import hostile_strings
from tests.records import add_customer, add_tag, user_id
from tui_crm import export
from tui_crm.db import Database
from tui_crm.listing import CustomerQuery

FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "'t Hooft",
]


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def read_xlsx(path: Path) -> list[list[str]]:
    sheet = load_workbook(path).active
    rows = []
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
        rows.append(["" if cell.value is None else cell.value for cell in row])
    return rows


def by_code(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *body = rows
    assert header == export.headers("en")
    return {row[0]: dict(zip([c.field for c in export.COLUMNS], row, strict=True)) for row in body}


@pytest.fixture
def customers(db: Database) -> list[int]:
    ids = [
        add_customer(
            db,
            name="Formula Trading",
            contact_name=FORMULAS[0],
            contact_title=FORMULAS[1],
            notes="\n".join(FORMULAS),
            phone="+852 5123 4567",
            email="Ops@Formula.example",
        ),
        add_customer(
            db,
            name="北京星辰科技有限公司",
            contact_name=FORMULAS[5],
            city=FORMULAS[6],
            notes='第一行, "引号"\n第二行',
            phone="13800138000",
            address="北京市海淀区中关村大街1号",
            credit_code="91110108MA01ABCD84",
        ),
        add_customer(
            db,
            owner="sales2",
            name="王芳",
            kind="person",
            contact_name="@王芳",
            email="wf@example.com",
            id_number="110101199003071233",
        ),
    ]
    for text in [item["text"] for item in hostile_strings()][:20]:
        ids.append(
            add_customer(
                db,
                name=f"Hostile {text}",
                contact_name=text,
                notes=text,
                phone=f"1390013{len(ids):04d}",
            )
        )
    add_tag(db, ids[1], "value", "high value")
    add_tag(db, ids[1], "need", "=采购需求")
    return ids


def stored(db: Database) -> dict[str, dict[str, str]]:
    """What the export must hold, computed from the rows themselves."""
    out = {}
    for row in db.conn.execute("SELECT * FROM customers"):
        columns = set(row.keys())
        values = {
            c.field: str(row[c.field] or "") if c.field in columns else "" for c in export.COLUMNS
        }
        for name in ("phone", "email", "id_number", "address"):
            values[name] = (
                db.keys.decrypt(row[f"{name}_enc"], "customers", f"{name}_enc", row["id"]) or ""
            )
        values["owner"] = (
            db.conn.execute(
                "SELECT COALESCE(username, '') FROM users WHERE id=?", (row["owner_id"],)
            ).fetchone()[0]
            if row["owner_id"]
            else ""
        )
        values["tags"] = db.conn.execute(
            "SELECT COALESCE(group_concat(t.tag_type || ':' || t.name, '; '), '') FROM"
            " customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id=?",
            (row["id"],),
        ).fetchone()[0]
        out[row["code"]] = values
    return out


def test_csv_round_trip_with_reveal_is_exact(db: Database, customers, tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    result = export.export_customers(db.conn, db.keys, out, reveal=True)
    assert (result.rows, result.format, result.revealed) == (len(customers), "csv", True)
    rows = read_csv(out)
    # no cell a spreadsheet would run: every one starts with a harmless character
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r\n"
    restored = [[export.restore(cell) for cell in row] for row in rows]
    assert by_code(restored) == stored(db)
    formula = next(r for r in rows if r[1] == "Formula Trading")
    assert formula[4] == "'" + FORMULAS[0] and formula[6] == "'+85251234567"


def test_csv_is_masked_unless_revealed(db: Database, customers, tmp_path: Path) -> None:
    out = tmp_path / "masked.csv"
    export.export_customers(db.conn, db.keys, out)
    text = out.read_text(encoding="utf-8-sig")
    for secret in (
        "85251234567",
        "ops@formula.example",
        "13800138000",
        "中关村大街",
        "110101199003071233",
        "wf@example.com",
    ):
        assert secret not in text
    rows = by_code([[export.restore(c) for c in row] for row in read_csv(out)])
    beijing = next(r for r in rows.values() if r["name"] == "北京星辰科技有限公司")
    assert beijing["phone"] == "138****8000" and export.is_masked(beijing["phone"])
    assert beijing["address"].endswith("****") and beijing["credit_code"] == "91110108MA01ABCD84"
    assert not export.is_masked(beijing["name"])


def test_chinese_headers(db: Database, customers, tmp_path: Path) -> None:
    out = tmp_path / "客户.csv"
    export.export_customers(db.conn, db.keys, out, language="zh_CN")
    assert read_csv(out)[0][:8] == [
        "客户编号",
        "客户名称",
        "客户类别",
        "客户类型",
        "联系人",
        "职务",
        "手机",
        "邮箱",
    ]


def test_only_what_the_scope_and_search_show(db: Database, customers, tmp_path: Path) -> None:
    sales2 = user_id(db, "sales2")
    out = tmp_path / "mine.csv"
    export.export_customers(db.conn, db.keys, out, scope_owner_id=sales2)
    assert [row[1] for row in read_csv(out)[1:]] == ["王芳"]
    found = tmp_path / "found.csv"
    result = export.export_customers(db.conn, db.keys, found, query=CustomerQuery(text="星辰"))
    assert result.rows == 1 and read_csv(found)[1][1] == "北京星辰科技有限公司"


def test_xlsx_round_trip_without_restoring(db: Database, customers, tmp_path: Path) -> None:
    out = tmp_path / "customers.xlsx"
    result = export.export_customers(db.conn, db.keys, out, reveal=True)
    assert result.format == "xlsx"
    assert by_code(read_xlsx(out)) == stored(db)
    sheet = load_workbook(out).active
    guarded = [c for row in sheet.iter_rows() for c in row if c.value and str(c.value)[0] in "=+-@"]
    assert guarded and all(c.data_type == "s" and c.quotePrefix for c in guarded)


def test_the_file_is_owner_only_whatever_the_umask(db: Database, customers, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        for name in ("a.csv", "a.xlsx"):
            export.export_customers(db.conn, db.keys, tmp_path / name)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_an_existing_file_needs_force_and_is_replaced_whole(
    db: Database, customers, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "out.csv"
    out.write_text("keep me")
    out.chmod(0o644)
    with pytest.raises(export.ExportError, match="already exists"):
        export.export_customers(db.conn, db.keys, out)
    assert out.read_text() == "keep me"
    export.export_customers(db.conn, db.keys, out, force=True)
    assert read_csv(out)[0] == export.headers()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["out.csv"]


def test_a_failed_export_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old export")

    def rows() -> Iterator[list[str]]:
        yield ["a"]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        export.write_table(out, ["h"], rows(), force=True)
    assert out.read_text() == "old export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("force", [False, True])
def test_symlinks_are_refused(db: Database, customers, tmp_path: Path, force: bool) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    link = tmp_path / "export.csv"
    link.symlink_to(victim)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    for path in (link, dangling):
        with pytest.raises(export.ExportError, match="symbolic link"):
            export.export_customers(db.conn, db.keys, path, force=force)
    assert victim.read_text() == "do not touch"
    assert not (tmp_path / "nowhere.csv").exists()


def test_a_directory_or_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(export.ExportError, match="not a regular file"):
        export.write_table(tmp_path, ["h"], [], force=True)
    with pytest.raises(export.ExportError, match="format"):
        export.write_table(tmp_path / "x.ods", ["h"], [], fmt="ods")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [*FORMULAS, "", "'", "''", "plain", "a=b", "-", "'\t"])
def test_restore_inverts_neutralise(text: str) -> None:
    assert export.restore(export.neutralise(text)) == text
    assert export.neutralise(text)[:1] not in ("=", "+", "-", "@", "\t")
