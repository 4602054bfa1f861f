"""`doctor` on a real database: all ok when sound, and each check failing on a setup
broken the way servers break (loose modes, a foreign key, stale backups, a failed drill,
leftovers of interrupted jobs, a tampered log, a nologin shell, bad authorized_keys)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pwd
import sqlite3
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import customer_data, hostile_strings
from tui_crm import doctor
from tui_crm.config import Settings
from tui_crm.crypto import create_key_file
from tui_crm.db import Database
from tui_crm.doctor import Status
from tui_crm.service import Service

WRAPPER = "/opt/tui-crm/bin/tui-crm-ssh"


class Setup(NamedTuple):
    db: Database
    key: Path
    settings: Settings
    account: pwd.struct_passwd


def public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + " op@laptop"


def service_account(
    home: Path, shell: str = "/bin/sh", uid: int | None = None
) -> pwd.struct_passwd:
    me = pwd.getpwuid(os.geteuid())
    uid = me.pw_uid if uid is None else uid
    return pwd.struct_passwd((me.pw_name, "*", uid, me.pw_gid, "", str(home), shell))


@pytest.fixture
def setup(db: Database, tmp_path: Path) -> Setup:
    """A sound installation: a full backup and a passing drill just now."""
    settings = Settings(backup_dir=str(tmp_path / "backups"))
    cli = Service.for_cli(db)
    cli.customers.create(customer_data())
    cli.backups.create(full=True, settings=settings)
    assert cli.backups.drill(settings).ok
    return Setup(db, tmp_path / "keys" / "crm.key", settings, service_account(tmp_path / "none"))


def checks(s: Setup, **overrides: object) -> dict[str, doctor.Check]:
    options: dict[str, object] = {"account": s.account, "authorized_keys": []}
    options.update(overrides)
    found = doctor.run_checks(s.db.path, s.key, s.settings, **options)  # type: ignore[arg-type]
    return {c.name: c for c in found}


def statuses(found: dict[str, doctor.Check]) -> dict[str, Status]:
    return {name: c.status for name, c in found.items()}


def test_a_sound_installation_is_all_ok(setup: Setup) -> None:
    found = checks(setup)
    assert set(statuses(found).values()) == {Status.OK}, found
    assert list(found) == [
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
    ]
    listed = list(found.values())
    assert not doctor.failed(listed)
    lines = doctor.format_checks(listed).splitlines()
    assert len(lines) == len(listed) and all(line.startswith("ok ") for line in lines)
    assert [c["status"] for c in json.loads(doctor.checks_json(listed))] == ["ok"] * len(lines)


def test_loose_modes_fail(setup: Setup) -> None:
    setup.key.chmod(0o640)
    setup.db.path.chmod(0o644)
    found = checks(setup)
    assert found["key file"].status is Status.FAIL
    assert "mode 0640" in found["key file"].message
    assert found["database file"].status is Status.FAIL
    assert "chmod 600" in found["database file"].message
    # A loose key file is refused, so nothing that needs it is judged.
    assert found["key matches database"].status is Status.FAIL
    assert found["audit chain"].status is Status.WARN
    assert doctor.failed(list(found.values()))


def test_files_of_another_account_fail(setup: Setup, tmp_path: Path) -> None:
    stranger = service_account(tmp_path / "none", uid=os.geteuid() + 4242)
    found = checks(setup, account=stranger)
    assert found["database file"].status is Status.FAIL
    assert found["key file"].status is Status.FAIL
    assert "owned by" in found["key file"].message


def test_a_key_of_another_database_fails(setup: Setup, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    create_key_file(other)
    found = checks(setup._replace(key=other))
    assert found["key matches database"].status is Status.FAIL
    assert "is not the key of" in found["key matches database"].message
    assert found["newest backup"].status is Status.WARN


def test_backup_and_drill_ages_against_the_schedule(setup: Setup) -> None:
    now = dt.datetime.now()
    assert checks(setup, now=now + dt.timedelta(hours=30))["newest backup"].status is Status.OK
    assert checks(setup, now=now + dt.timedelta(hours=50))["newest backup"].status is Status.WARN
    late = checks(setup, now=now + dt.timedelta(days=4))
    assert late["newest backup"].status is Status.FAIL
    assert "expected every 24 h" in late["newest backup"].message
    assert late["newest drill"].status is Status.OK
    assert checks(setup, now=now + dt.timedelta(days=60))["newest drill"].status is Status.WARN
    assert checks(setup, now=now + dt.timedelta(days=100))["newest drill"].status is Status.FAIL
    weekly = dataclasses.replace(setup.settings, backup_every_hours=24 * 7)
    relaxed = checks(setup._replace(settings=weekly), now=now + dt.timedelta(days=4))
    assert relaxed["newest backup"].status is Status.OK


def test_no_backups_fail_once_the_database_is_not_new(db: Database, tmp_path: Path) -> None:
    settings = Settings(backup_dir=str(tmp_path / "backups"))
    Service.for_cli(db).customers.create(customer_data())
    s = Setup(db, tmp_path / "keys" / "crm.key", settings, service_account(tmp_path / "none"))
    assert checks(s)["newest backup"].status is Status.WARN
    assert checks(s)["newest drill"].status is Status.WARN
    later = checks(s, now=dt.datetime.now() + dt.timedelta(days=90))
    assert later["newest backup"].status is Status.FAIL
    assert later["newest drill"].status is Status.FAIL


def test_a_failed_drill_after_a_passing_one_fails(setup: Setup) -> None:
    Service.for_cli(setup.db).record(
        "backup.drill", {"backup": "x", "ok": False, "problems": ["chunk 3 failed"]}
    )
    drill = checks(setup)["newest drill"]
    assert drill.status is Status.FAIL
    assert "chunk 3 failed" in drill.message and "last passing" in drill.message


def test_residue_of_interrupted_jobs(setup: Setup) -> None:
    backups = Path(setup.settings.backup_dir)
    leftovers = [
        setup.db.path.parent / ".snapshot-abc123",
        setup.db.path.parent / ".restore-def456",
        backups / "20260101-023000-full.bak.part",
        backups / "20260101-023000-full.json.part",
    ]
    leftovers[0].mkdir()
    (leftovers[0] / "snapshot.db").write_bytes(b"x")
    leftovers[1].mkdir()
    for path in leftovers[2:]:
        path.write_bytes(b"x")
    fresh = checks(setup)["residue"]
    assert fresh.status is Status.WARN  # may be a job that is still running
    old = (dt.datetime.now() - dt.timedelta(hours=3)).timestamp()
    for path in leftovers:
        os.utime(path, (old, old))
    stale = checks(setup)["residue"]
    assert stale.status is Status.FAIL
    assert all(str(path) in stale.message for path in leftovers)


def test_a_tampered_audit_log_fails(setup: Setup) -> None:
    conn = sqlite3.connect(setup.db.path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 1")
    conn.commit()
    conn.close()
    found = checks(setup)["audit chain"]
    assert found.status is Status.FAIL
    assert "entry 1" in found.message


def test_a_log_cut_back_under_an_old_authentic_head_fails_against_the_backups(
    setup: Setup,
) -> None:
    cli = Service.for_cli(setup.db)
    old_head = setup.db.meta("audit_head")
    kept = setup.db.conn.execute("SELECT MAX(id) FROM audit_log").fetchone()[0]
    cli.customers.create(customer_data(name="Later Co", phone="13900139000"))
    cli.backups.create(full=True, settings=setup.settings)
    setup.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    conn = sqlite3.connect(setup.db.path)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE id > ?", (kept,))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (old_head,))
    conn.commit()
    conn.close()
    found = checks(setup)["audit chain"]
    assert found.status is Status.FAIL
    assert "entries were removed" in found.message


def test_journal_mode_and_a_corrupted_page(setup: Setup) -> None:
    setup.db.close()
    conn = sqlite3.connect(setup.db.path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    assert checks(setup)["database"].status is Status.WARN
    page_size = 4096
    pages = setup.db.path.stat().st_size // page_size
    index_page = (
        sqlite3.connect(setup.db.path)
        .execute("SELECT rootpage FROM sqlite_master WHERE name='customers_name'")
        .fetchone()[0]
    )
    assert index_page <= pages
    with open(setup.db.path, "r+b") as handle:
        handle.seek((index_page - 1) * page_size + 8)
        handle.write(b"\xff" * 64)
    found = checks(setup)["database"]
    assert found.status is Status.FAIL


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


def test_disk_space(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file system's free space is the one thing not arranged for real."""
    size = sum(p.stat().st_size for p in (setup.db.path, Path(f"{setup.db.path}-wal")))
    for free, expected in (
        (size // 2, Status.FAIL),
        (size * 2, Status.WARN),
        (size * 9, Status.OK),
    ):
        monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path, f=free: DiskUsage(0, 0, f))
        found = checks(setup)["disk space"]
        assert found.status is expected, found


def test_service_account_shell_and_home(setup: Setup, tmp_path: Path) -> None:
    nologin = checks(setup, account=service_account(tmp_path / "none", "/usr/sbin/nologin"))
    assert nologin["service account"].status is Status.FAIL
    assert "cannot run the forced command" in nologin["service account"].message
    writable = tmp_path / "home"
    writable.mkdir()
    own_home = checks(setup, account=service_account(writable))
    assert own_home["service account"].status is Status.WARN
    assert "writable" in own_home["service account"].message


def test_authorized_keys_lines(setup: Setup, tmp_path: Path) -> None:
    Service.for_cli(setup.db).users.add("bob", "service", "Quiet-Lantern-72")
    good = f'command="{WRAPPER} bob",from="10.0.0.0/8,192.168.1.1",restrict,pty {public_key()}'
    keys = tmp_path / "authorized_keys"
    keys.write_text(f"# operators\n\n{good}\n")
    keys.chmod(0o644)
    found = checks(setup, authorized_keys=[keys])["authorized_keys"]
    if os.geteuid() == 0:
        assert found.status is Status.OK, found
        assert "1 key(s)" in found.message
    else:  # only root can own the file, as it must
        assert found.message.endswith("only root should (chown root)")

    key = public_key()
    blob = key.split()[1]
    bad = {
        key: "no forced command",
        f'command="{WRAPPER} bob",pty {key}': "no `restrict`",
        f'command="{WRAPPER} bob",restrict,pty,port-forwarding {key}': "port-forwarding undoes",
        f'command="{WRAPPER} bob",restrict,pty,environment="A=1" {key}': "environment=",
        f'command="/bin/bash",restrict,pty {key}': f"not `{WRAPPER.rsplit('/', 1)[1]} OPERATOR`",
        f'command="{WRAPPER} carol",restrict,pty {key}': "'carol' is not a tui-crm user",
        f'command="{WRAPPER} bob",restrict,pty ssh-rsa {blob}': "is a 'ssh-ed25519' key",
        f'command="{WRAPPER} bob",restrict,pty ssh-ed25519 not*base64': "not valid base64",
        f'command="{WRAPPER} bob,restrict,pty {key}': "unreadable options",
        f'command="{WRAPPER} bob",restrict,pty ssh-foo {blob}': "unknown key type",
    }
    for line, problem in bad.items():
        keys.write_text(f"{good}\n{line}\n")
        found = checks(setup, authorized_keys=[keys])["authorized_keys"]
        assert found.status is Status.FAIL, line
        assert "line 2: " in found.message and problem in found.message, (line, found.message)


def test_hostile_key_comments_and_writable_file(setup: Setup, tmp_path: Path) -> None:
    Service.for_cli(setup.db).users.add("bob", "service", "Quiet-Lantern-72")
    keys = tmp_path / "authorized_keys"
    lines = [
        f'command="{WRAPPER} bob",restrict,pty {public_key()} ' + h["text"].replace("\n", " ")
        for h in hostile_strings()
    ]
    keys.write_text("\n".join(lines) + "\n")
    keys.chmod(0o666)
    found = checks(setup, authorized_keys=[keys])["authorized_keys"]
    assert found.status is Status.FAIL
    assert "writable by group or others" in found.message
    assert "line " not in found.message
