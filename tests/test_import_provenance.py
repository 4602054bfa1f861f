"""Issue 10: an imported customer's detail says where its data came from and on what
grounds (PIPL art. 13): the run, its date, the legal basis and the source the importer
stated; in the app's header, `customer show` and its JSON, in English and Chinese."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from tui_crm import i18n
from tui_crm.cli import main
from tui_crm.importer import ImportOptions
from tui_crm.service import Service
from tui_crm.widgets.customer_header import header_text

Session = Callable[[str], Service]
FILE = "客户名称,手机,客户类型\n[b]展会客户[/b]有限公司,13800138000,潜在\n"


def test_the_detail_header_names_the_run_basis_and_source(session: Session, tmp_path: Path) -> None:
    manager = session("manager")
    path = tmp_path / "展会.csv"
    path.write_text(FILE, encoding="utf-8")
    options = ImportOptions("contract", source="2019 [red]trade show[/red]", workers=0)
    run = manager.imports.run(path, options)
    (imported,) = manager.customers.find("展会客户")
    assert imported.imported is not None
    assert (imported.imported.run_id, imported.imported.legal_basis) == (run.run_id, "contract")
    day = imported.imported.imported_at[:10]
    header = header_text(imported, day).plain
    assert (
        f"Imported run {run.run_id}, {day}, needed for a contract with the person"
        " · 2019 [red]trade show[/red]"
    ) in header
    with i18n.using("zh_CN"):
        header = header_text(manager.customers.get(imported.id), day).plain
    assert f"导入来源 导入批次 {run.run_id}，{day}，订立、履行合同所必需" in header
    by_hand = manager.customers.create(
        {"name": "手工录入公司", "customer_type": "prospect", "phone": "13900139000"}
    )
    assert by_hand.imported is None and "Imported" not in header_text(by_hand, day).plain


def test_customer_show_says_so_too(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(FILE, encoding="utf-8")

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=cli_env)
        assert result.exit_code == 0, result.output
        return result.output

    run("import", str(path), "--legal-basis", "publicly_available", "--source", "官网名录")
    code = json.loads(run("customer", "find", "展会客户", "--json"))[0]["code"]
    shown = run("customer", "show", code)
    assert "information already lawfully public · 官网名录" in shown
    data = json.loads(run("customer", "show", code, "--json"))["imported"]
    assert (data["legal_basis"], data["source"], data["file_name"]) == (
        "publicly_available",
        "官网名录",
        "in.csv",
    )
