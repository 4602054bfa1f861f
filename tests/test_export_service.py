"""Exports through the service: the user's own list, masked unless a role that may reveal
asks, one audit entry per export committed before the file is in place."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import customer_data
from tui_crm import audit, export
from tui_crm.db import Database
from tui_crm.listing import CustomerQuery
from tui_crm.service import PermissionDenied, Service


def rows_of(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def export_entries(db: Database) -> list[audit.AuditEntry]:
    return audit.query(db.conn, db.keys, audit.AuditFilter(action="customer.export"), limit=50)


@pytest.fixture
def admin(session: Callable[[str], Service]) -> Service:
    admin = session("admin")
    for n, (name, owner, kind) in enumerate(
        [
            ("北京星辰科技有限公司", "sales1", "customer"),
            ("上海远航贸易有限公司", "sales2", "prospect"),
            ('=HYPERLINK("http://evil","x") Ltd', "sales1", "customer"),
            ("Quiet Prospect Co", "sales2", "prospect"),
        ]
    ):
        admin.customers.create(
            customer_data(
                name=name,
                customer_type=kind,
                owner=owner,
                phone=f"1380013{n:04d}",
                email=f"c{n}@example.com",
            )
        )
    return admin


def test_the_export_is_the_list(admin: Service, session, tmp_path: Path) -> None:
    manager = session("manager")
    for query in (
        CustomerQuery(),
        CustomerQuery(customer_type="prospect"),
        CustomerQuery(text="星辰"),
        CustomerQuery(sort="created", descending=True),
    ):
        out = tmp_path / f"list-{abs(hash(query))}.csv"
        result = manager.exports.customers(query, out)
        listed = [row.code for row in manager.customer_list.page(query, limit=100)]
        assert result.rows == len(listed)
        assert [row[0] for row in rows_of(out)[1:]] == listed


def test_masked_by_default_and_audited(admin: Service, session, tmp_path: Path) -> None:
    out = tmp_path / "masked.csv"
    result = session("manager").exports.customers(CustomerQuery(customer_type="customer"), out)
    assert (result.rows, result.format, result.revealed) == (2, "csv", False)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8-sig")
    assert "13800130000" not in text and "c0@example.com" not in text
    assert "138****0000" in text
    (entry,) = export_entries(admin.db)
    assert entry.actor == "manager"
    details = entry.details
    assert details["rows"] == 2 and details["format"] == "csv" and details["revealed"] is False
    assert details["to"] == str(out) and details["filters"]["customer_type"] == "customer"


def test_reveal_gives_plaintext_and_says_so(admin: Service, session, tmp_path: Path) -> None:
    out = tmp_path / "plain.xlsx"
    manager = session("manager")
    assert manager.exports.may_reveal()
    result = manager.exports.customers(CustomerQuery(), out, reveal=True)
    assert (result.rows, result.format, result.revealed) == (4, "xlsx", True)
    cells = {str(c.value) for row in load_workbook(out).active.iter_rows() for c in row}
    assert "13800130000" in cells and "c0@example.com" in cells
    (entry,) = export_entries(admin.db)
    assert entry.details["revealed"] is True and entry.details["rows"] == 4


@pytest.mark.parametrize("role", ["sales1", "service"])
def test_roles_without_export_are_refused_and_nothing_is_written(
    admin: Service, session, tmp_path: Path, role: str
) -> None:
    user = session(role)
    assert not user.exports.may_reveal()
    for reveal in (False, True):
        with pytest.raises(PermissionDenied):
            user.exports.customers(CustomerQuery(), tmp_path / "no.csv", reveal=reveal)
    assert not (tmp_path / "no.csv").exists()
    assert export_entries(admin.db) == []


def test_a_searched_phone_is_masked_in_the_audit(admin: Service, tmp_path: Path) -> None:
    out = tmp_path / "one.csv"
    assert admin.exports.customers(CustomerQuery(text="13800130001"), out).rows == 1
    (entry,) = export_entries(admin.db)
    assert "13800130001" not in json.dumps(entry.details)
    assert entry.details["filters"]["search"] == "138****0001"


def test_no_audit_entry_no_file(admin: Service, tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(admin, "audit", broken)
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(RuntimeError):
        admin.exports.customers(CustomerQuery(), folder / "never.csv", reveal=True)
    assert list(folder.iterdir()) == []


def test_progress_counts_up_to_the_total(admin: Service, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(export, "PAGE", 2)
    seen: list[tuple[int, int]] = []
    admin.exports.customers(
        CustomerQuery(), tmp_path / "p.csv", progress=lambda done, total: seen.append((done, total))
    )
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)


def test_bad_paths_are_one_clear_message(admin: Service, tmp_path: Path) -> None:
    with pytest.raises(export.ExportError, match=r"folder .*missing.* does not exist"):
        admin.exports.customers(CustomerQuery(), tmp_path / "missing" / "x.csv")
    with pytest.raises(export.ExportError, match="format"):
        admin.exports.customers(CustomerQuery(), tmp_path / "x.ods", fmt="ods")
    assert export_entries(admin.db) == []
