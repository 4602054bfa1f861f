"""`tui-crm import` on a real messy file: dry run, run, JSON, list, undo, one-line errors;
and the service refuses imports to sales reps and service staff."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_crm.cli import main
from tui_crm.importer import ImportOptions
from tui_crm.service import PermissionDenied, Service

MESSY = (
    "客户名称,手机,邮箱,客户类型\r\n"
    '"华为, 深圳",13800138000,a@hw.cn,成交\r\n'
    "\r\n"
    "小米科技,12345,b@mi.cn,潜在\r\n"
    "阿里巴巴,13912345678,,流失\r\n"
)


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "客户.csv"
    path.write_bytes(MESSY.encode("gbk"))
    return path


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def names(env: dict[str, str]) -> list[str]:
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM customers"))


def test_dry_run_then_run_list_and_undo(env: dict[str, str], messy_csv: Path) -> None:
    code, out = run(env, "import", str(messy_csv), "--legal-basis", "consent", "--dry-run")
    assert code == 0, out
    assert "would create: 2" in out and "rejected: 1" in out
    assert "line 4 rejected: phone" in out
    assert names(env) == []

    report = messy_csv.parent / "rejected.csv"
    code, out = run(
        env, "import", str(messy_csv), "--legal-basis", "consent", "--report", str(report)
    )
    assert code == 0, out
    assert "created: 2" in out and str(report) in out
    assert names(env) == ["华为, 深圳", "阿里巴巴"]
    assert "小米科技" in report.read_text(encoding="utf-8-sig")

    code, out = run(env, "import", "list", "--json")
    runs = json.loads(out)
    assert [(r["id"], r["status"], r["created"], r["rejected"]) for r in runs] == [
        (1, "done", 2, 1)
    ]
    code, out = run(env, "import", "list")
    assert code == 0 and "客户.csv" in out

    code, out = run(env, "import", "undo", "1")
    assert code == 0 and "2 removed" in out
    assert names(env) == []
    code, out = run(env, "import", "undo", "1")
    assert code == 1 and len(out.strip().splitlines()) == 1


def test_json_summary_and_overridden_mapping(env: dict[str, str], messy_csv: Path) -> None:
    code, out = run(
        env, "import", str(messy_csv), "--legal-basis", "contract", "--map", "邮箱=", "--json"
    )
    assert code == 0, out
    summary = json.loads(out)
    assert summary["created"] == 2 and summary["rejected"] == 1 and summary["run_id"] == 1
    assert summary["mapping"]["邮箱"] == "" and summary["mapping"]["手机"] == "phone"
    assert summary["rejected_rows"][0][0] == 4


def test_a_saved_mapping_feeds_the_run(
    env: dict[str, str], tmp_path: Path, session_for_env: Callable[[], Service]
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Firm,Mobile,Kind\nAcme Ltd,13800138000,customer\n", encoding="utf-8")
    session_for_env().imports.save_mapping(
        "odd", {"Firm": "name", "Mobile": "phone", "Kind": "customer_type"}
    )
    code, out = run(env, "import", str(path), "--legal-basis", "consent", "--mapping", "odd")
    assert code == 0, out
    assert names(env) == ["Acme Ltd"]


def test_errors_are_one_line_with_exit_one(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "import", str(tmp_path / "missing.csv"), "--legal-basis", "consent")
    assert code == 1 and len(out.strip().splitlines()) == 1 and "missing.csv" in out
    code, out = run(env, "import", str(tmp_path / "x.csv"), "--legal-basis", "consent",
                    "--map", "nothing")  # fmt: skip
    assert code == 1 and len(out.strip().splitlines()) == 1


def test_an_interrupted_run_is_named_with_how_to_resume(
    env: dict[str, str], messy_csv: Path
) -> None:
    assert run(env, "import", str(messy_csv), "--legal-basis", "consent")[0] == 0
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        conn.execute("UPDATE import_runs SET status='running', pid=2147483646")
    result = CliRunner().invoke(main, ["import", "list"], env=env)
    assert result.exit_code == 0
    assert "--resume 1" in result.stderr and "import undo 1" in result.stderr


@pytest.fixture
def session_for_env(env: dict[str, str]) -> Callable[[], Service]:
    def make() -> Service:
        from tui_crm.cli.root import Paths

        return Paths(Path(env["TUI_CRM_DB"]), Path(env["TUI_CRM_KEY_FILE"])).service()

    return make


@pytest.mark.parametrize("role", ["sales1", "service"])
def test_sales_and_service_are_refused(
    role: str, session: Callable[[str], Service], messy_csv: Path
) -> None:
    user = session(role)
    with pytest.raises(PermissionDenied):
        user.imports.run(messy_csv, ImportOptions("consent"), dry_run=True)
    with pytest.raises(PermissionDenied):
        user.imports.runs()
    with pytest.raises(PermissionDenied):
        user.imports.undo(1)
    assert user.db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0


def test_a_manager_may_import(session: Callable[[str], Service], messy_csv: Path) -> None:
    summary = session("manager").imports.run(messy_csv, ImportOptions("consent"))
    assert (summary.created, summary.rejected) == (2, 1)


def test_a_masked_export_comes_back_by_code(
    env: dict[str, str], tmp_path: Path, session_for_env: Callable[[], Service]
) -> None:
    """`tui-crm export` (masked) edited and re-imported with `--duplicates update`: each
    row is found by its code, though its phone and email are masked and it has no credit
    code; masked cells change nothing; an edited cell updates; an unknown code is refused
    with a reason, a merged-away code names the survivor."""
    admin = session_for_env()
    made = [
        admin.customers.create(
            {"name": name, "customer_type": "prospect", "phone": phone, "email": email,
             "address": "北京市海淀区中关村大街1号"}
        )
        for name, phone, email in (
            ("甲公司", "13800138000", "a@jia.cn"),
            ("乙公司", "13900139000", "b@yi.cn"),
            ("丙公司", "13700137000", ""),
            ("丁公司", "13600136000", "d@ding.cn"),
        )
    ]  # fmt: skip
    admin.cleaning.merge(made[2].id, made[3].id)  # 丁 merged into 丙
    out = tmp_path / "masked.csv"
    code, output = run(env, "export", "--out", str(out))
    assert code == 0, output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        header, *body = list(csv.reader(handle))
    assert "138****8000" in {cell for row in body for cell in row}  # masked as exported
    by_code = {row[0]: row for row in body}
    city, contact = header.index("City"), header.index("Contact")
    by_code[made[0].code][city] = "Shenzhen"  # the one real edit of an exported row
    alias_row = list(by_code[made[2].code])
    alias_row[0], alias_row[contact] = made[3].code, "王五"  # 丁's old code: now 丙
    unknown_row = ["C1999000001", *body[0][1:]]
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *body, alias_row, unknown_row])

    code, output = run(env, "import", str(out), "--legal-basis", "consent",
                       "--duplicates", "update", "--json")  # fmt: skip
    assert code == 0, output
    summary = json.loads(output)
    counts = [summary[k] for k in ("created", "updated", "skipped", "rejected")]
    assert counts == [0, 2, 2, 1], summary
    ((line, errors),) = summary["rejected_rows"]
    assert line == len(body) + 3
    assert errors == {"code": "C1999000001 is not a customer code of this database; to import"
                              " the row as a new customer, ignore the code column"}  # fmt: skip
    jia, yi, bing = (admin.customers.get(c.id) for c in made[:3])
    assert jia.city == "Shenzhen" and bing.contact_name == "王五"
    assert yi.version == 1
    kept = ((jia, "13800138000", "a@jia.cn"), (yi, "13900139000", "b@yi.cn"))
    for customer, phone, email in kept:
        assert admin.customers.reveal(customer.id, "phone") == phone
        assert admin.customers.reveal(customer.id, "email") == email
        assert admin.customers.reveal(customer.id, "address") == "北京市海淀区中关村大街1号"
    assert names(env) == ["丙公司", "乙公司", "甲公司"]


def test_a_terminal_sees_a_bar_with_rows_per_second_and_time_left(monkeypatch) -> None:
    """On a terminal the run draws its progress in place; the last draw ends the line."""
    import io

    from tui_crm.cli import imports as cli_imports
    from tui_crm.importer import ImportProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    show = cli_imports._progress()
    assert show is not None
    show(ImportProgress(2_500, 10_000, 4_100.4, 1.8))
    show(ImportProgress(10_000, 10_000, 4_050.0, 0.0))
    first, last = terminal.getvalue().split("\r")[1:]
    assert first.startswith("██████░░░░░░░░░░░░░░░░░░  25%  2,500 of 10,000 rows · 4,100 rows/s")
    assert "2 s left" in first
    assert last.startswith("█" * 24 + " 100%  10,000 of 10,000 rows · 4,050 rows/s")
    assert "left" not in last and last.endswith("\n")


def test_counts_read_as_import_counts_in_chinese(env: dict[str, str], messy_csv: Path) -> None:
    """A "created" is a count here, not the creation time a customer's field is called."""
    code, out = run(
        {**env, "LANG": "zh_CN.UTF-8"}, "import", str(messy_csv), "--legal-basis", "contract"
    )
    assert code == 0, out
    assert "  新建: 2" in out and "创建时间" not in out


def test_a_file_name_with_escape_sequences_is_printed_without_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The file's name comes from whoever sent the file; the terminal must not obey it."""
    path = tmp_path / "evil\x1b]0;PWNED\x07\x1b[31mred\u202e.csv"
    path.write_bytes(MESSY.encode("gbk"))
    code, out = run(env, "import", str(path), "--legal-basis", "consent")
    assert code == 0, out
    assert "Imported evilred.csv as run 1." in out
    code, out = run(env, "import", "list")
    assert code == 0 and "evilred.csv" in out
    assert not any(c in out for c in "\x1b\x07\u202e"), repr(out)
