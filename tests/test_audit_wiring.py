"""Issue 9, item 1 wired: `audit verify` (service, CLI and the admin Audit tab) checks the
heads that backup manifests recorded and a head line kept elsewhere; `audit head` prints it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import Static

from tests.test_admin_screen import AdminTestApp, run, settle
from tests.test_audit_integrity import add_customers, head_of, raw_attack
from tui_crm import audit
from tui_crm.cli import main
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.roles import Action
from tui_crm.service import Service
from tui_crm.service.context import Context


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(backup_dir=str(tmp_path / "backups"))


def cut_and_replay(db: Database, old_head: str, keep: int) -> None:
    """Delete the newest entries and put back the authentic head the log had at `keep`."""

    def attack(raw: sqlite3.Connection) -> None:
        raw.execute("DELETE FROM audit_log WHERE id > ?", (keep,))
        raw.execute("UPDATE meta SET value=? WHERE key='audit_head'", (old_head,))

    raw_attack(db, attack)


def replayed_after_a_backup(db: Database, admin: Service, settings: Settings) -> str:
    """A log cut back to 3 entries under a replayed head, after a backup recorded 6;
    returns that backup's id."""
    add_customers(admin, 3)
    old_head = head_of(db.conn)
    add_customers(admin, 3, start=3)
    backup = admin.backups.create(full=True, settings=settings)
    cut_and_replay(db, old_head, 3)
    return backup.id


def test_verify_checks_the_backups_recorded_heads(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    admin = session("admin")
    add_customers(admin, 2)
    admin.backups.create(full=True, settings=settings)
    add_customers(admin, 2, start=2)
    result = admin.audit_log.verify(settings=settings)
    assert result.ok and result.anchors == 1, result.describe()
    assert "1 recorded head matched" in result.describe()


def test_a_replayed_head_passes_alone_and_fails_against_the_backups(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    admin = session("admin")
    backup_id = replayed_after_a_backup(db, admin, settings)
    assert audit.verify(db.conn, db.keys).ok, "inside the file, the replayed head is authentic"
    result = admin.audit_log.verify(settings=settings)
    assert not result.ok
    assert f"backup {backup_id} recorded entry 6: entries were removed" in result.reason


def test_verify_needs_the_audit_permission_only(
    db: Database,
    session: Callable[[str], Service],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = session("admin")
    admin.backups.create(full=True, settings=settings)
    asked: list[Action] = []
    real = Context.require

    def recorded(self: Context, action: Action, *args: Any) -> Any:
        asked.append(action)
        return real(self, action, *args)

    monkeypatch.setattr(Context, "require", recorded)
    assert admin.audit_log.verify(settings=settings).anchors == 1
    assert asked == [Action.AUDIT]


def test_unreadable_manifests_are_named_not_silently_skipped(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    admin = session("admin")
    made = admin.backups.create(full=True, settings=settings)
    manifest = Path(settings.backup_dir) / f"{made.id}.json"
    manifest.write_text(manifest.read_text().replace('"full"', '"incremental"'))
    result = admin.audit_log.verify(settings=settings)
    assert result.ok and result.anchors == 0
    assert f"1 backup manifest could not be read or trusted and was not checked: {made.id}" in (
        result.describe()
    )


def test_a_missing_backup_directory_is_no_error(
    session: Callable[[str], Service], tmp_path: Path
) -> None:
    result = session("admin").audit_log.verify(settings=Settings(backup_dir=str(tmp_path / "no")))
    assert result.ok and result.anchors == 0 and not result.note


# --- the command line ------------------------------------------------------------------------


def cli(db: Database, *args: str) -> tuple[int, str]:
    paths = ["--db", str(db.path), "--key-file", str(db.path.parent / "keys" / "crm.key")]
    result = CliRunner().invoke(main, [*paths, *args])
    return result.exit_code, result.output


def test_cli_head_line_proves_nothing_before_it_changed(
    db: Database, session: Callable[[str], Service], tmp_path: Path
) -> None:
    admin = session("admin")
    add_customers(admin, 2)
    old_head = head_of(db.conn)
    add_customers(admin, 2, start=2)
    code, out = cli(db, "audit", "head")
    line = out.strip()
    assert code == 0 and line.startswith("tui-crm-audit-head 4 ") and len(out.splitlines()) == 1
    add_customers(admin, 1, start=4)
    no_backups = str(tmp_path / "none")
    code, out = cli(db, "audit", "verify", "--backups", no_backups, "--against", line)
    assert code == 0 and "5 entries verified; 1 recorded head matched" in out
    cut_and_replay(db, old_head, 2)
    assert cli(db, "audit", "verify", "--backups", no_backups)[0] == 0, "alone it looks intact"
    code, out = cli(db, "audit", "verify", "--backups", no_backups, "--against", line)
    assert code == 1 and out.strip().splitlines() == [
        "Error: audit chain broken at entry 3: the log ends at entry 2, but the head line of"
        " entry 4 recorded entry 4: entries were removed"
    ]


def test_cli_verify_uses_the_backup_directory(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    backup_id = replayed_after_a_backup(db, session("admin"), settings)
    code, out = cli(db, "audit", "verify", "--backups", settings.backup_dir)
    assert code == 1 and len(out.strip().splitlines()) == 1
    assert f"backup {backup_id} recorded entry 6" in out


@pytest.mark.parametrize("line", ["garbage", "tui-crm-audit-head four - abc", ""])
def test_cli_against_a_line_that_is_not_a_head_is_one_line(db: Database, line: str) -> None:
    code, out = cli(db, "audit", "verify", "--against", line)
    assert code == 1 and out.strip().splitlines() == [
        "Error: --against: not an audit head line (expected: tui-crm-audit-head ID DATE HASH)"
    ]


def test_cli_head_of_a_log_without_its_head_is_one_line(db: Database) -> None:
    raw_attack(db, lambda raw: raw.execute("DELETE FROM meta WHERE key='audit_head'"))
    code, out = cli(db, "audit", "head")
    assert code == 1 and out.strip().splitlines() == [
        "Error: the audit head is missing or not authentic; run `audit verify`"
    ]


# --- the admin screen ------------------------------------------------------------------------


def test_the_audit_tab_verifies_against_the_backups_too(
    db: Database, session: Callable[[str], Service], settings: Settings
) -> None:
    admin = session("admin")
    backup_id = replayed_after_a_backup(db, admin, settings)
    expected = admin.audit_log.verify(settings=settings).describe()
    assert f"backup {backup_id}" in expected

    async def flow(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        status = pilot.app.screen.query_one(".audit-status", Static)
        assert str(status.render()) == expected

    run(flow, AdminTestApp(admin, settings))
