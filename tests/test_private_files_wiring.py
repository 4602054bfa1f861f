"""Issue 9, items 4, 7 and 12 wired: the audit export is a new owner-only file that never
writes through a symlink or over a file unless asked (`--force`), with formula cells
neutralised; the CLI and the app make every file they create private (umask 077)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import mode
from tui_crm.app import CrmApp
from tui_crm.cli import main
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.service import AuthError, Service


def cli(db: Database, *args: str, input: str | None = None) -> tuple[int, str]:
    paths = ["--db", str(db.path), "--key-file", str(db.path.parent / "keys" / "crm.key")]
    result = CliRunner().invoke(main, [*paths, *args], input=input)
    return result.exit_code, result.output


def test_audit_export_is_a_new_private_file(
    db: Database, tmp_path: Path, loose_umask: None
) -> None:
    out = tmp_path / "audit.csv"
    code, output = cli(db, "audit", "export", "--out", str(out))
    assert code == 0, output
    assert mode(out) == 0o600


def test_an_existing_file_is_kept_unless_forced(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    out.write_text("precious")
    out.chmod(0o644)
    code, output = cli(db, "audit", "export", "--out", str(out))
    assert code == 1 and output.strip().splitlines() == [
        f"Error: {out} already exists; use --force to replace it"
    ]
    assert out.read_text() == "precious" and mode(out) == 0o644
    code, output = cli(db, "audit", "export", "--out", str(out), "--force")
    assert code == 0, output
    assert out.read_text(encoding="utf-8-sig").startswith("id,at,actor") and mode(out) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "keys") == [
        "audit.csv",
        "crm.db",
        "crm.db-shm",
        "crm.db-wal",
    ], "no temporary file left beside it"


def test_a_planted_symlink_is_never_written_through(db: Database, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    link = tmp_path / "audit.csv"
    link.symlink_to(victim)
    for force in ([], ["--force"]):
        code, output = cli(db, "audit", "export", "--out", str(link), *force)
        assert code == 1 and output.strip().splitlines() == [
            f"Error: {link} is a symbolic link; refusing to write through it"
        ]
    assert victim.read_text() == "do not touch" and link.is_symlink()
    entries = db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action='audit.export'")
    assert entries.fetchone()[0] == 0, "a refused export is not recorded as written"


def test_exported_cells_never_run_as_formulas(db: Database, session, tmp_path: Path) -> None:
    session("admin").users.add("-cmd", "sales", "Another-Horse-71")
    with pytest.raises(AuthError):
        Service.login(db, "-cmd", "wrong", failure_delay=0, source="local:test")
    out = tmp_path / "audit.csv"
    assert cli(db, "audit", "export", "--out", str(out), "--action", "login")[0] == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "id",
        "at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "customer_code",
        "details",
    ]
    assert [r[2] for r in rows[1:]] == ["'-cmd"]
    assert all(not cell or cell[0] not in "=+-@" for row in rows for cell in row)


def test_the_command_line_makes_every_file_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "none.toml"))
    home = tmp_path / "srv"
    env = {"TUI_CRM_DB": str(home / "crm.db"), "TUI_CRM_KEY_FILE": str(tmp_path / "k" / "crm.key")}

    def run(*args: str, input: str | None = None) -> str:
        result = CliRunner().invoke(main, list(args), env=env, input=input)
        assert result.exit_code == 0, result.output
        return result.output

    run("init", "--admin", "boss", "--password-stdin", input="Str0ng-pass-word\n")
    run("customer", "add", "--name", "Foo Ltd", "--type", "prospect", "--phone", "13800138000")
    run("backup", "create", "--full")
    run("customer", "add", "--name", "Bar Ltd", "--type", "prospect", "--email", "a@b.cn")
    run("backup", "create", "--incremental")
    backup_id = run("backup", "list").split()[0]
    run("backup", "restore", backup_id, "--to", str(home / "copies" / "restored.db"))
    run("audit", "export", "--out", str(home / "audit.csv"))
    assert os.umask(0o077) == 0o077, "the CLI set the umask first thing"
    files = [p for p in (*home.rglob("*"), *(tmp_path / "k").iterdir()) if p.is_file()]
    kinds = {p.suffix or p.name for p in files}
    assert {".db", ".db-wal", ".bak", ".json", ".csv", ".key"} <= kinds, kinds
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in files if mode(p) != 0o600} == {}
    dirs = [p for p in home.rglob("*") if p.is_dir()]
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in dirs if mode(p) != 0o700} == {}


def test_the_app_makes_every_file_private(db: Database, loose_umask: None) -> None:
    CrmApp(db, settings=Settings(), login_failure_delay=0)
    assert os.umask(0o022) == 0o077, "the app set the umask before anything else"
