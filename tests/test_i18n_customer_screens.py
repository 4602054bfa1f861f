"""Issue 12 phase 2 for the login, the customer list, the detail screen and the doctor:
Chinese headings fit their columns, the header speaks Chinese and fits 80 columns, a cut
CJK line ends in … without a gap, and the doctor's report is Chinese while its JSON keeps
the names a monitoring system matches on."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from rich.cells import cell_len
from rich.text import Text

from tests.conftest import customer_data
from tests.test_doctor import Setup, checks
from tests.test_doctor import setup as setup  # the fixture, found by name
from tui_crm import doctor, i18n
from tui_crm.i18n.formats import fit_text
from tui_crm.service import Service
from tui_crm.widgets.customer_header import header_text
from tui_crm.widgets.customer_table import layout


@pytest.mark.parametrize("width", [79, 99, 119, 159])
def test_chinese_headings_fit_their_columns_and_the_columns_fill_the_width(width: int) -> None:
    english = {column.title: size for column, size in layout(width)}
    i18n.activate("zh_CN")
    columns = layout(width)
    assert sum(size for _column, size in columns) + len(columns) - 1 == width
    for column, size in columns:
        assert cell_len(column.heading()) <= size, column.title
    assert [c.heading() for c, _size in columns][:3] == ["编号", "名称", "联系人"]
    chinese = {column.title: size for column, size in columns}
    assert chinese["Type"] >= cell_len("潜在客户")
    assert set(chinese) == set(english)


def test_the_detail_header_speaks_chinese_within_80_columns(
    session: Callable[[str], Service],
) -> None:
    rep = session("sales1")
    created = rep.customers.create(
        customer_data(
            name="厦门港务泵业有限公司[b]",
            contact_name="林伟",
            contact_title="采购经理",
            source="trade show",
            company_size="50-249",
            industry="C",
        )
    )
    i18n.activate("zh_CN")
    customer = rep.customers.get(created.id)
    text = header_text(customer, "2026-03-01", width=78)
    plain = text.plain
    for shown in ("企业 · 潜在客户 · 50–249 人", "负责人 sales1", "行业 C 制造业", "来源 展会"):
        assert shown in plain
    assert "林伟，采购经理" in plain and "厦门港务泵业有限公司[b]" in plain
    assert "prospect" not in plain and "staff" not in plain
    assert all(line.cell_len <= 78 for line in text.split())


def test_a_cut_inside_a_cjk_character_leaves_no_gap_before_the_ellipsis() -> None:
    text = Text("→ 需求已确认", "bold")
    fit_text(text, 8)
    assert text.plain == "→ 需求…" and text.cell_len <= 8
    whole = Text("需求")
    fit_text(whole, 4)
    assert whole.plain == "需求"


def test_the_doctor_reports_in_chinese_and_its_json_keeps_english_names(setup: Setup) -> None:
    setup.key.chmod(0o640)
    i18n.activate("zh_CN")
    found = list(checks(setup).values())
    lines = doctor.format_checks(found).splitlines()
    assert lines[0].startswith("正常  数据库文件")
    key_line = next(line for line in lines if "密钥文件" in line)
    assert key_line.startswith("失败  密钥文件") and "权限为 0640，不是 0600" in key_line
    # the messages start in the same cell on every line, whatever the names' widths
    pairs = zip(lines, found, strict=True)
    starts = {cell_len(line[: line.index(check.message)]) for line, check in pairs}
    assert len(starts) == 1, lines
    listed = json.loads(doctor.checks_json(found))
    assert [c["name"] for c in listed][:2] == ["database file", "key file"]
    assert {c["status"] for c in listed} <= {"ok", "warn", "fail"}
