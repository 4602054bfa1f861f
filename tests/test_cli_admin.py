"""The admin commands as cron runs them: exit codes, one-line errors, audited exports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_crm.cli import main


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


def run(env: dict[str, str], *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, input=input)
    return result.exit_code, result.output


def test_backup_cycle_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    assert (
        run(
            env,
            "customer",
            "add",
            "--name",
            "Foo Ltd",
            "--type",
            "churned",
            "--phone",
            "13800138000",
        )[0]
        == 0
    )
    assert run(env, "backup", "create", "--full")[0] == 0
    run(env, "customer", "add", "--name", "Bar Ltd", "--type", "prospect", "--email", "a@b.cn")
    code, out = run(env, "backup", "create", "--incremental")
    assert code == 0 and "incremental" in out
    code, out = run(env, "backup", "list", "--json")
    listed = json.loads(out)
    assert [m["kind"] for m in listed] == ["full", "incremental"]
    code, out = run(env, "backup", "verify", "--all")
    assert code == 0 and out.count(": OK") == 2
    code, out = run(env, "backup", "drill")
    assert code == 0 and "PASS" in out
    code, out = run(env, "backup", "restore", listed[-1]["id"], "--to", str(tmp_path / "r.db"))
    assert code == 0 and (tmp_path / "r.db").exists()
    code, out = run(env, "backup", "restore", listed[-1]["id"])
    assert code == 2 and "--yes" in out


def test_failures_are_one_line_and_non_zero(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "backup", "create", "--incremental")
    assert code == 1 and out.strip().splitlines() == [
        "Error: cannot take an incremental backup: there is no backup to build on; take a full one"
    ]
    run(env, "backup", "create", "--full")
    backups = tmp_path / "backups"
    data = next(backups.glob("*.bak"))
    data.write_bytes(data.read_bytes()[:-10])
    code, out = run(env, "backup", "verify", "--all")
    assert code == 1 and "truncated" in out
    code, out = run(env, "backup", "drill")
    assert code == 1 and "FAIL" in out


def test_purge_dry_run_and_typed_confirmation(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "customer", "add", "--name", "Old Ltd", "--type", "churned", "--phone", "13800138000")
    conn = sqlite3.connect(tmp_path / "crm.db")
    conn.execute("UPDATE customers SET created_at='2019-01-01T00:00:00'")
    conn.commit()
    conn.close()
    code, out = run(env, "purge", "--dry-run")
    assert code == 0 and "1 customer due" in out and "churned" in out
    code, out = run(env, "purge", input="7\n")
    assert code == 1 and "nothing was purged" in out
    code, out = run(env, "purge", input="1\n")
    assert code == 0 and "Purged 1" in out
    code, out = run(env, "audit", "list", "--action", "customer.purge", "--json")
    assert [e["action"] for e in json.loads(out)] == ["customer.purge"]


def test_audit_export_is_audited(env: dict[str, str], tmp_path: Path) -> None:
    out_file = tmp_path / "audit.csv"
    code, out = run(env, "audit", "export", "--out", str(out_file), "--action", "init")
    assert code == 0 and "Exported 1" in out
    assert out_file.read_text().count("\n") == 2
    code, out = run(env, "audit", "list", "--limit", "1", "--json")
    assert json.loads(out)[0]["action"] == "audit.export"


def test_backup_list_json_names_each_backup_file(env: dict[str, str], tmp_path: Path) -> None:
    """Scripts that copy backups off-site need each file's path (issue 9, item 16)."""
    run(env, "backup", "create", "--full")
    run(env, "customer", "add", "--name", "Bar Ltd", "--type", "prospect", "--email", "a@b.cn")
    run(env, "backup", "create", "--incremental")
    code, out = run(env, "backup", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [Path(m["path"]) for m in listed] == [
        tmp_path / "backups" / f"{m['id']}.bak" for m in listed
    ]
    assert all(Path(m["path"]).is_file() for m in listed)
