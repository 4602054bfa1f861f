"""Issue 9: restores that a crash completes or leaves undone, no plaintext copies left behind
by killed jobs, purged text gone from restored copies, private files, ids never reused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import customer_data, mode
from tui_crm import audit, retention, staging
from tui_crm.backup import BackupStore
from tui_crm.cli import main
from tui_crm.config import Settings
from tui_crm.db import Database, search_document
from tui_crm.files import create_private_empty
from tui_crm.service import Service

STAGER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tui_crm import staging

    with staging.stage(Path(sys.argv[1]), "snapshot") as work:
        (work / "snapshot.db").write_bytes(b"SQLite format 3\\x00 every customer")
        print("staged", flush=True)
        time.sleep(600)
    """
)


@pytest.fixture
def store(db: Database, tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "backups", db.keys)


def add_customers(service: Service, count: int, label: str = "Co") -> None:
    for n in range(count):
        service.customers.create(customer_data(name=f"{label} {n}", phone="", email=f"{n}@x.cn"))


def count(db: Database, table: str = "customers") -> int:
    return int(db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def last_entry(db: Database) -> audit.AuditEntry:
    return audit.query(db.conn, db.keys, audit.AuditFilter(), limit=1)[0]


def anchors(store: BackupStore) -> list[audit.Anchor]:
    return [a for a in (m.anchor() for m in store.list()) if a]


def key_file(db: Database) -> Path:
    return db.path.parent / "keys" / "crm.key"


def test_restore_over_live_is_audited_in_the_same_step(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    admin = session("admin")
    add_customers(admin, 4)
    full = store.create(db, full=True)
    add_customers(admin, 3, "After")
    _, safety = store.restore_live(full.id, db, actor="admin")
    entry = last_entry(db)
    assert (entry.action, entry.actor) == (audit.RESTORE_ACTION, "admin")
    assert entry.details["backup"] == full.id and entry.details["safety"] == safety.id
    assert entry.details[audit.SUPERSEDED] == [safety.id], "its history was left behind"
    assert entry.id == full.audit_max_id + 1
    assert count(db) == 4
    assert store.incremental_obstacle(db) is not None, "the change log was restarted"
    result = audit.verify(db.conn, db.keys, anchors=anchors(store))
    assert result.ok and result.anchors == 1, result.describe()
    after = store.create(db, full=True)
    assert store.verify(after.id).ok
    assert store.residue(db.path) == []


def test_killed_job_residue_is_cleared_by_the_next_backup(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    add_customers(session("admin"), 2)
    child = subprocess.Popen(
        [sys.executable, "-c", STAGER, str(db.path.parent)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "staged"
    root = staging.staging_root(db.path.parent)
    assert root.stat().st_mode & 0o777 == 0o700
    assert staging.sweep(db.path.parent).busy, "a running job's copy is never swept"
    child.kill()
    child.wait()
    legacy = db.path.parent / ".snapshot-abc123"
    legacy.mkdir()
    (legacy / "snapshot.db").write_bytes(b"old plaintext schema copy")
    store.directory.mkdir()
    (store.directory / "20260101-000000-full.bak.part").write_bytes(b"half")
    (store.directory / "20260101-000000-full.bak").write_bytes(b"no manifest")
    assert len(store.residue(db.path)) == 4
    store.create(db, full=True)
    assert store.residue(db.path) == []


def test_open_clears_what_a_killed_job_left(db: Database, tmp_path: Path) -> None:
    with staging.stage(db.path.parent, "restore") as work:
        (work / "restore.db").write_bytes(b"copy")
        kept = work
    leftover = staging.staging_root(db.path.parent) / "restore-killed"
    leftover.mkdir()
    (leftover / "restore.db").write_bytes(b"copy")
    assert not kept.exists()
    Database.open(db.path, db.keys).close()
    assert staging.residue(db.path.parent) == []


def test_purge_refuses_while_a_staged_copy_is_in_use(db: Database) -> None:
    with db.write() as tx:
        tx.execute(
            "INSERT INTO customers(id, code, name, kind, customer_type, created_at, updated_at)"
            " VALUES (1, 'C2015000001', 'Gone Co', 'company', 'churned', '2015-01-01',"
            " '2015-01-01')"
        )
    with staging.stage(db.path.parent, "snapshot"):
        with pytest.raises(retention.RetentionError, match="working on a copy"):
            retention.purge(db, retention.Policy(), 1, actor="admin")
        assert count(db) == 1
    leftover = staging.staging_root(db.path.parent) / "snapshot-killed"
    leftover.mkdir()
    assert retention.purge(db, retention.Policy(), 1, actor="admin") == 1
    assert not leftover.exists(), "a killed job's copy is deleted before purging"


PURGED_NAME = "Zebulon Quagmire Lumber"
PURGED_CN = "鸿鹄翱翔木业"


def test_restored_copy_keeps_no_token_of_a_customer_purged_in_an_incremental(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    add_customers(session("admin"), 30)
    with db.write() as tx:
        for row_id, name in ((900, PURGED_NAME), (901, PURGED_CN)):
            code = f"C2015{row_id:06d}"
            tx.execute(
                "INSERT INTO customers(id, code, name, kind, customer_type, created_at,"
                " updated_at) VALUES (?, ?, ?, 'company', 'churned', '2015-01-01',"
                " '2015-01-01')",
                (row_id, code, name),
            )
            tx.execute(
                "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
                (row_id, search_document(code, name, "")),
            )
    store.create(db, full=True)
    assert retention.purge(db, retention.Policy(), 2, actor="admin") == 2
    incremental = store.create(db, full=False)
    restored = tmp_path / "restored.db"
    store.restore(incremental.id, restored)
    raw = restored.read_bytes().lower()
    for token in ("zebulon", "quagmire", "鸿鹄", "翱翔"):
        assert token.encode() not in raw, f"{token!r} survived in the restored file"
    conn = sqlite3.connect(restored)
    assert conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 30
    conn.close()


def test_database_backups_manifests_and_restored_copies_are_0600(
    tmp_path: Path, session: Callable[[str], Service], loose_umask: None
) -> None:
    db = session("admin").db
    fresh = Database.create(tmp_path / "fresh" / "crm.db", db.keys)
    Service.for_cli(fresh, "tester").customers.create(customer_data())
    assert {mode(p) for p in fresh.path.parent.glob("crm.db*")} == {0o600}
    store = BackupStore(tmp_path / "fresh" / "backups", fresh.keys)
    made = store.create(fresh, full=True)
    assert mode(store.data_path(made.id)) == 0o600
    assert mode(store.directory / f"{made.id}.json") == 0o600
    store.restore(made.id, tmp_path / "copy.db")
    assert mode(tmp_path / "copy.db") == 0o600
    fresh.close()


def test_manifest_names_its_backup_file_without_signing_the_path(
    db: Database, store: BackupStore
) -> None:
    made = store.create(db, full=True)
    assert made.path == str(store.data_path(made.id))
    listed = store.list()[0]
    assert listed.path == str(store.data_path(made.id)) and Path(listed.path).exists()
    stored = json.loads((store.directory / f"{made.id}.json").read_text())
    assert "path" not in stored
    moved = BackupStore(store.directory.rename(store.directory.with_name("moved")), db.keys)
    assert moved.list()[0].path == str(moved.data_path(made.id)), "still valid when moved"


def test_ids_are_never_reused_after_a_purge_even_in_a_restored_copy(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    admin = session("admin")
    store.create(db, full=True)
    made = admin.customers.create(customer_data(name="Top Co", customer_type="churned"))
    admin.activity.add_followup(made.id, channel="phone", content="call")
    with db.write() as tx:
        tx.execute(
            "UPDATE customers SET created_at='2015-01-01', last_interaction_at=NULL WHERE id=?",
            (made.id,),
        )
    assert retention.purge(db, retention.Policy(), 1, actor="admin") == 1
    incremental = store.create(db, full=False)
    again = admin.customers.create(customer_data(name="Next Co"))
    assert again.id > made.id
    store.restore(incremental.id, tmp_path / "copy.db")
    copy = Database.open(tmp_path / "copy.db", db.keys)
    assert Service(copy, admin.user).customers.create(customer_data(name="N")).id > made.id
    copy.close()


def test_private_empty_file_refuses_an_existing_path(tmp_path: Path) -> None:
    target = tmp_path / "crm.db"
    create_private_empty(target)
    with pytest.raises(FileExistsError):
        create_private_empty(target)


def restore_entries(db: Database) -> list[audit.AuditEntry]:
    return audit.query(db.conn, db.keys, audit.AuditFilter(action=audit.RESTORE_ACTION))


def test_a_restore_over_live_is_audited_exactly_once_as_its_user(
    db: Database, session: Callable[[str], Service], tmp_path: Path
) -> None:
    """Through the service and the command line: one `backup.restore` entry per restore, the
    engine's (written into the image before the swap), naming who restored it."""
    admin = session("admin")
    settings = Settings(backup_dir=str(tmp_path / "backups"))
    add_customers(admin, 3)
    full = admin.backups.create(full=True, settings=settings)
    add_customers(admin, 2, "After")
    _, safety = admin.backups.restore_live(full.id, settings)
    [entry] = restore_entries(db)
    assert (entry.actor, entry.details["to"], entry.details["safety"]) == (
        "admin",
        "live",
        safety.id,
    )
    assert count(db) == 3
    add_customers(admin, 1, "Later")
    result = CliRunner().invoke(
        main,
        [
            *("--db", str(db.path), "--key-file", str(key_file(db))),
            *("backup", "--dir", settings.backup_dir, "restore", full.id, "--yes"),
        ],
    )
    assert result.exit_code == 0, result.output
    [entry] = restore_entries(db)  # the log is the backup's again, plus this restore
    assert entry.actor.startswith("cli:") and entry.id == full.audit_max_id + 1
    assert count(db) == 3
    assert admin.audit_log.verify(settings=settings).ok
