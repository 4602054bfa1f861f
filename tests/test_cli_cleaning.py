"""`tui-crm duplicates scan`, `tui-crm merge` and `tui-crm quality report` on a real database
filled from a real messy CSV file (Chinese names with 有限公司 suffixes, full-width text,
quoted commas) and the shared hostile strings: output, JSON, one-line errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import hostile_strings
from tui_crm.cli import main
from tui_crm.crypto import load_key_file
from tui_crm.db import Database
from tui_crm.service import Service

MESSY = (
    "客户名称,手机,邮箱,客户类型\r\n"
    "北京星辰科技有限公司,13800138000,li@xc.cn,成交\r\n"
    "北京星辰科技,138 0013 8000,,潜在\r\n"
    "ＡＣＭＥ　Ｔｒａｄｉｎｇ,13700000001,ops@acme.cn,潜在\r\n"
    '"Acme Trading Co., Ltd.",13700000002,ops@acme.cn,潜在\r\n'
    "上海明珠餐饮管理有限公司,13600001111,,流失\r\n"
)
CONTROL = ("\x1b", "\x9b", "\x07", "\x00", "\r")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A database holding the messy file (imported as run 1, duplicates created on
    purpose) and each hostile string twice, as two customers that look alike."""
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "none.toml"))
    values = {"TUI_CRM_DB": str(tmp_path / "crm.db"), "TUI_CRM_KEY_FILE": str(tmp_path / "k")}
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["init", "--admin", "boss", "--password-stdin"],
        input="Str0ng-pass-word\n",
        env=values,
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "客户.csv"
    path.write_text(MESSY, encoding="utf-8-sig")
    args = ["import", str(path), "--legal-basis", "consent", "--strategy", "create", "--json"]
    result = runner.invoke(main, args, env=values)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 5
    db = Database.open(tmp_path / "crm.db", load_key_file(tmp_path / "k"))
    admin = Service.for_cli(db, "tester")
    for n, item in enumerate(hostile_strings()):
        for copy in range(2):
            phone = f"1390000{n:02d}{copy:02d}"
            try:
                admin.customers.create(
                    {"name": item["text"], "customer_type": "prospect", "phone": phone}
                )
            except ValueError:
                break  # a name the form refuses (only spaces) is not a customer
    db.close()
    return values


def run(env: dict[str, str], *args: str, terminal_input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, input=terminal_input)
    return result.exit_code, result.output


def code_of(env: dict[str, str], name: str) -> str:
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        return conn.execute("SELECT code FROM customers WHERE name=?", (name,)).fetchone()[0]


def count(env: dict[str, str]) -> int:
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0]


def test_scan_lists_pairs_strongest_first_with_why(env: dict[str, str]) -> None:
    code, out = run(env, "duplicates", "scan", "--limit", "200")
    assert code == 0, out
    star, star2 = code_of(env, "北京星辰科技有限公司"), code_of(env, "北京星辰科技")
    lines = out.splitlines()
    assert "candidate pairs, strongest first" in lines[0]
    scores = [float(line.split()[0]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)
    star_line = next(line for line in lines if star in line and star2 in line)
    assert "phone, name" in star_line
    acme_line = next(line for line in lines if "ＡＣＭＥ" in line)
    assert "email" in acme_line and "Acme Trading" in acme_line
    assert not any(c in out for c in CONTROL)
    assert "Bob [/]" in out  # markup-looking names are printed as they are


def test_scan_json_limit_and_min_score(env: dict[str, str]) -> None:
    code, out = run(env, "duplicates", "scan", "--json", "--limit", "1")
    assert code == 0, out
    data = json.loads(out)
    assert len(data["candidates"]) == 1 and data["total"] > 1
    first = data["candidates"][0]
    assert first["score"] >= 95 and "name" in {m["field"] for m in first["matches"]}
    code, out = run(env, "duplicates", "scan", "--json", "--min-score", "90")
    assert all(c["score"] >= 90 for c in json.loads(out)["candidates"])


def test_merge_asks_shows_and_merges(env: dict[str, str]) -> None:
    survivor, merged = code_of(env, "北京星辰科技有限公司"), code_of(env, "北京星辰科技")
    before = count(env)
    code, out = run(env, "merge", survivor, merged)
    assert code == 1 and "pass --yes" in out.splitlines()[-1]
    assert "138****8000" in out and "13800138000" not in out  # masked, as on screen
    assert count(env) == before
    code, out = run(env, "merge", survivor, merged, "--dry-run", "--take", "name=merged")
    assert code == 0 and "nothing was merged" in out and count(env) == before
    code, out = run(env, "merge", survivor, merged, "--take", "name=merged", "--yes")
    assert code == 0, out
    assert f"Merged {merged} into {survivor}" in out
    assert count(env) == before - 1
    code, out = run(env, "customer", "show", merged, "--json")
    shown = json.loads(out)
    assert shown["code"] == survivor and shown["name"] == "北京星辰科技"
    code, out = run(env, "customer", "find", merged)
    assert code == 0 and survivor in out
    code, out = run(env, "audit", "list", "--action", "customer.merged", "--json")
    assert merged in out
    code, out = run(env, "audit", "list", "--action", "customer.merge", "--json")
    assert survivor in out and merged in out


def test_merge_json_with_a_bare_take(env: dict[str, str]) -> None:
    survivor, merged = (
        code_of(env, "Acme Trading Co., Ltd."),  # stored as typed (issue 14 item 4)
        code_of(env, "ＡＣＭＥ Ｔｒａｄｉｎｇ"),  # the ideographic space: one space
    )
    code, out = run(env, "merge", survivor, merged, "--take", "owner", "--yes", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert (result["survivor_code"], result["merged_code"]) == (survivor, merged)


@pytest.mark.parametrize(
    "args, message",
    [
        (("merge", "C2026000001", "C2026000001", "--yes"), "itself"),
        (("merge", "C2026000001", "C1999999999", "--yes"), "No customer with code C1999999999"),
        (("merge", "C2026000001", "C2026000002", "--take", "wishes=merged"), "--take"),
        (("merge", "C2026000001", "C2026000002", "--take", "phone=left"), "--take"),
        (("merge", "C2026000001", "有限公司\x1b[2J", "--yes"), "No customer"),
        (("duplicates", "scan", "--limit", "0"), "--limit"),
        (("duplicates", "scan", "--min-score", "200"), "--min-score"),
        (("quality", "report", "--run", "99"), "No import run 99"),
        (("quality", "report", "--run", "x"), "--run"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    before = count(env)
    code, out = run(env, *args)
    assert code != 0
    assert message in out and "Traceback" not in out
    assert [line for line in out.splitlines() if line.startswith("Error")] == [out.splitlines()[-1]]
    assert count(env) == before


def test_quality_report_text_json_and_one_run(env: dict[str, str]) -> None:
    code, out = run(env, "quality", "report")
    assert code == 0, out
    assert "Cleaning report:" in out and "Missing values:" in out and "Anomalies:" in out
    assert not any(c in out for c in CONTROL)
    code, out = run(env, "quality", "report", "--json")
    whole = json.loads(out)
    assert whole["duplicate_candidates"] >= 2 and whole["run_id"] is None
    code, out = run(env, "quality", "report", "--run", "1", "--json")
    assert code == 0, out
    one = json.loads(out)
    assert one["run_id"] == 1 and one["customers"] == 5
    missing = {m["field"]: m["missing"] for m in one["missing"]}
    assert missing["email"] == 2
    code, out = run(env, "quality", "report", "--run", "1")
    assert "Cleaning report of import run 1: 5 customers" in out


def test_chinese_output(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    survivor, merged = code_of(env, "北京星辰科技有限公司"), code_of(env, "北京星辰科技")
    code, out = run(env, "merge", survivor, merged, "--dry-run")
    assert code == 0 and "合并" in out
    code, out = run(env, "quality", "report")
    assert code == 0 and "清洗" in out
