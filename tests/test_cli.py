"""The command line: one clear line and a non-zero exit for every error, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tui_crm.cli import main

STRONG = "Correct-Horse-9\n"


@pytest.fixture
def run(tmp_path: Path):
    env = {
        "TUI_CRM_DB": str(tmp_path / "crm.db"),
        "TUI_CRM_KEY_FILE": str(tmp_path / "k" / "crm.key"),
    }

    def invoke(*args: str, stdin: str | None = None, **extra_env: str) -> Result:
        return CliRunner().invoke(main, list(args), input=stdin, env={**env, **extra_env})

    return invoke


def _one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_init_user_customer_audit_round_trip(run, tmp_path: Path) -> None:
    assert run("init", "--admin", "root", "--password-stdin", stdin=STRONG).exit_code == 0
    assert (tmp_path / "k" / "crm.key").stat().st_mode & 0o777 == 0o600
    assert (
        run("user", "add", "ann", "--role", "sales", "--password-stdin", stdin=STRONG).exit_code
        == 0
    )
    users = json.loads(run("user", "list", "--json").output)
    assert {u["username"]: u["role"] for u in users} == {"ann": "sales", "root": "admin"}
    added = run(
        "customer",
        "add",
        "--name",
        "Acme",
        "--type",
        "prospect",
        "--phone",
        "13800138000",
        "--owner",
        "ann",
        "--json",
    )
    code = json.loads(added.output)["code"]
    shown = json.loads(run("customer", "show", code, "--json").output)
    assert shown["phone"] == "138****8000" and shown["owner"] == "ann"
    revealed = json.loads(run("customer", "show", code, "--reveal", "--json").output)
    assert revealed["phone"] == "13800138000"
    found = json.loads(run("customer", "find", "138-0013-8000", "--json").output)
    assert [c["code"] for c in found] == [code]
    assert "intact" in run("audit", "verify").output
    entries = json.loads(run("audit", "list", "--json", "--action", "reveal").output)
    assert entries and all(e["actor"].startswith("cli:") for e in entries)


def test_errors_are_one_line(run, tmp_path: Path) -> None:
    assert "init" in _one_line_error(run("audit", "verify"))
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    assert "already exists" in _one_line_error(
        run("init", "--admin", "x", "--password-stdin", stdin=STRONG)
    )
    assert "phone" in _one_line_error(
        run("customer", "add", "--name", "A", "--type", "prospect", "--phone", "12")
    )
    assert "No customer" in _one_line_error(run("customer", "show", "C1999000001"))
    assert "at least 10" in _one_line_error(
        run("user", "add", "bob", "--role", "sales", "--password-stdin", stdin="demo\n")
    )
    assert "not found" in _one_line_error(
        run("audit", "verify", TUI_CRM_KEY_FILE=str(tmp_path / "none.key"))
    )


def test_weak_password_refused_at_init(run, tmp_path: Path) -> None:
    assert "at least 10" in _one_line_error(
        run("init", "--admin", "root", "--password-stdin", stdin="demo\n")
    )
    assert not (tmp_path / "crm.db").exists()


def test_wrong_key_is_one_line(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    other = tmp_path / "other.key"
    from tui_crm.crypto import create_key_file

    create_key_file(other)
    assert "does not belong" in _one_line_error(run("user", "list", TUI_CRM_KEY_FILE=str(other)))


def test_tampered_audit_fails_verify(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    run("customer", "add", "--name", "Acme", "--type", "prospect", "--phone", "13800138000")
    raw = sqlite3.connect(tmp_path / "crm.db")
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("UPDATE audit_log SET details='{}' WHERE id=2")
    raw.commit()
    raw.close()
    assert "broken at entry 2" in _one_line_error(run("audit", "verify"))


def test_demo_builds_users_for_every_role(run, tmp_path: Path) -> None:
    db_path = tmp_path / "demo.db"
    result = run(
        "--db", str(db_path), "demo", "--customers", "300", "--no-run", TUI_CRM_KEY_FILE=""
    )
    assert result.exit_code == 0, result.output
    assert "admin, manager, service, sales1, sales2, sales3" in result.output
    assert (tmp_path / "demo.db.key").exists()
    again = run("--db", str(db_path), "demo", "--customers", "200", "--no-run", TUI_CRM_KEY_FILE="")
    assert again.exit_code == 0 and "200 customers" in again.output


def test_demo_never_replaces_a_real_database(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    result = run("--db", str(tmp_path / "crm.db"), "demo", "--no-run", TUI_CRM_KEY_FILE="")
    assert "not a demo database" in _one_line_error(result)


def test_broken_config_file_is_one_line(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    config = tmp_path / "config.toml"
    config.write_text("[backup\nkeep_daily = ")
    result = run("backup", "list", TUI_CRM_CONFIG=str(config))
    assert "config.toml" in _one_line_error(result)


def test_bad_audit_dates_are_one_line(run) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    error = _one_line_error(run("audit", "list", "--since", "2026-13-01"))
    assert "'--since'" in error and "2026-13-01 is not a real date" in error
    error = _one_line_error(run("audit", "list", "--until", "13/01/2026"))
    assert "'--until'" in error and "must be a date written YYYY-MM-DD" in error


def test_paths_also_work_after_the_sub_command(tmp_path: Path) -> None:
    db, key = tmp_path / "x.db", tmp_path / "x.key"
    runner = CliRunner()
    init = ["init", "--admin", "root", "--password-stdin", "--db", str(db), "--key-file", str(key)]
    assert runner.invoke(main, init, input=STRONG, env={"TUI_CRM_DB": ""}).exit_code == 0
    listed = runner.invoke(
        main, ["user", "list", "--json", "--db", str(db), "--key-file", str(key)]
    )
    assert [u["username"] for u in json.loads(listed.output)] == ["root"]
    built = runner.invoke(
        main, ["demo", "--customers", "50", "--no-run", "--db", str(tmp_path / "d.db")]
    )
    assert built.exit_code == 0 and (tmp_path / "d.db").exists()


def test_demo_never_touches_the_configured_key_file(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    real_key = tmp_path / "k" / "crm.key"
    before = real_key.read_bytes()
    result = run("--db", str(tmp_path / "demo.db"), "demo", "--customers", "20", "--no-run")
    assert result.exit_code == 0, result.output
    assert real_key.read_bytes() == before
    assert (tmp_path / "demo.db.key").exists()
