"""`tui-crm doctor` from the command line: every check reported, exit 1 on a failure."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tui_crm.cli import main

STRONG = "Correct-Horse-9\n"
CHECKS = {
    "database file",
    "key file",
    "key matches database",
    "database",
    "audit chain",
    "newest backup",
    "newest drill",
    "disk space",
    "residue",
    "service account",
}


def test_doctor_reports_every_check_and_fails_on_a_loose_key(tmp_path: Path) -> None:
    env = {
        "TUI_CRM_DB": str(tmp_path / "crm.db"),
        "TUI_CRM_KEY_FILE": str(tmp_path / "k" / "crm.key"),
        "TUI_CRM_CONFIG": str(tmp_path / "none.toml"),
    }
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--admin", "root", "--password-stdin"], STRONG, env=env)
    report = runner.invoke(main, ["doctor", "--json"], env=env)
    checks = {c["name"]: c["status"] for c in json.loads(report.output)}
    assert set(checks) >= CHECKS
    assert checks["key file"] == "ok" and checks["audit chain"] == "ok"
    (tmp_path / "k" / "crm.key").chmod(0o644)
    broken = runner.invoke(main, ["doctor"], env=env)
    assert broken.exit_code == 1
    key_line = next(line for line in broken.output.splitlines() if "key file" in line)
    assert "fail" in key_line
