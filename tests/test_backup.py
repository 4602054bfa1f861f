"""Backups: round trips through chains, concurrent writers, tampering, wrong keys, plaintext."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import customer_data
from tui_crm import audit
from tui_crm import backup as backup_module
from tui_crm.backup import BackupError, BackupStore
from tui_crm.config import Settings
from tui_crm.crypto import KeyRing
from tui_crm.db import Database
from tui_crm.service import PermissionDenied, Service

COMPARED_TABLES = (
    "meta",
    "users",
    "customers",
    "followups",
    "interactions",
    "tags",
    "customer_tags",
    "audit_log",
)
SECRET_NAME = "Zebulon Quartermaine Holdings"
SECRET_PHONE = "13912345678"
SECRET_NOTE = "allergic-to-penguins-7731"


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        out = {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in COMPARED_TABLES
        }
        out["customer_search"] = conn.execute(
            "SELECT rowid, doc FROM customer_search ORDER BY rowid"
        ).fetchall()
        return out
    finally:
        conn.close()


def live_rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    return table_rows(db.path)


def add_customers(service: Service, count: int, **extra: str) -> list[int]:
    ids = []
    for n in range(count):
        created = service.customers.create(
            customer_data(
                name=f"Customer {n} {extra.get('tag', '')}".strip(),
                phone="",
                email=f"c{n}@example.com",
            )
        )
        ids.append(created.id)
    return ids


@pytest.fixture
def store(db: Database, tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "backups", db.keys)


def test_full_and_incrementals_restore_equal_to_source(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    admin = session("admin")
    ids = add_customers(admin, 20)
    admin.tags.add(ids[0], "need", "fast delivery")
    full = store.create(db, full=True)

    customer = admin.customers.get(ids[1])
    admin.customers.update(ids[1], {"name": "Renamed Co", "notes": "new note"}, customer.version)
    admin.activity.add_followup(ids[2], channel="phone", content="called them")
    admin.activity.add_interaction(ids[3], kind="order", detail="big order", amount="12.50")
    admin.tags.remove(ids[0], admin.customers.get(ids[0]).tags[0].id)
    first = store.create(db, full=False)

    admin.tags.add(ids[4], "custom", "vip")
    add_customers(admin, 3, tag="late")
    with db.write() as tx:
        tx.execute("DELETE FROM customer_search WHERE rowid=?", (ids[5],))
        tx.execute("DELETE FROM customers WHERE id=?", (ids[5],))
    admin.users.set_role("sales2", "service")
    second = store.create(db, full=False)

    assert (first.parent, second.parent) == (full.id, first.id)
    assert second.chain == [full.id, first.id, second.id]
    restored = store.restore(second.id, tmp_path / "restored.db")
    assert restored.id == second.id
    assert table_rows(tmp_path / "restored.db") == live_rows(db)

    middle = store.restore(first.id, tmp_path / "middle.db")
    assert middle.row_counts["customers"] == 20
    conn = sqlite3.connect(tmp_path / "restored.db")
    hits = conn.execute(
        "SELECT rowid FROM customer_search WHERE customer_search MATCH '\"renamed\"'"
    ).fetchall()
    conn.close()
    assert hits == [(ids[1],)]


def test_incremental_holds_only_the_changes(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    admin = session("admin")
    ids = add_customers(admin, 200)
    full = store.create(db, full=True)
    customer = admin.customers.get(ids[7])
    admin.customers.update(ids[7], {"notes": "changed"}, customer.version)
    incremental = store.create(db, full=False)
    assert incremental.size < full.size / 20
    assert [r[0] for r in db.conn.execute("SELECT tbl FROM change_log")] == ["~floor"]


def test_verify_reports_every_backup_ok(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    admin = session("admin")
    add_customers(admin, 5)
    store.create(db, full=True)
    add_customers(admin, 2)
    store.create(db, full=False)
    results = store.verify_all()
    assert [r.ok for r in results] == [True, True]
    drill = store.drill()
    assert drill.ok and len(drill.chain) == 2
    assert "PASS" in drill.describe()


def test_incremental_without_full_is_refused(db: Database, store: BackupStore) -> None:
    with pytest.raises(BackupError, match="take a full"):
        store.create(db, full=False)


def corrupt(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_corrupted_byte_is_detected_and_never_restored(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    add_customers(session("admin"), 5)
    full = store.create(db, full=True)
    corrupt(store.data_path(full.id), store.data_path(full.id).stat().st_size // 2)
    result = store.verify(full.id)
    assert not result.ok
    assert "corrupted" in result.describe()
    with pytest.raises(BackupError, match="corrupted"):
        store.restore(full.id, tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


def test_corruption_with_matching_manifest_hash_still_fails_authentication(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    """Even if an attacker also fixes the SHA-256 in the manifest, the MAC and AEAD refuse."""
    add_customers(session("admin"), 5)
    full = store.create(db, full=True)
    manifest_path = store.directory / f"{full.id}.json"
    manifest_path.write_text(manifest_path.read_text().replace(full.sha256, "0" * 64))
    assert "altered" in store.verify(full.id).describe()


def test_truncated_file_is_detected(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    add_customers(session("admin"), 5)
    full = store.create(db, full=True)
    path = store.data_path(full.id)
    path.write_bytes(path.read_bytes()[:-100])
    result = store.verify(full.id)
    assert not result.ok and "truncated" in result.describe()
    with pytest.raises(BackupError):
        store.restore(full.id, tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


def test_wrong_key_is_refused(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    add_customers(session("admin"), 3)
    full = store.create(db, full=True)
    stranger = BackupStore(store.directory, KeyRing.from_master(b"\x01" * 32))
    result = stranger.verify(full.id)
    assert not result.ok and "different key" in result.describe()
    with pytest.raises(BackupError, match="different key"):
        stranger.restore(full.id, tmp_path / "out.db")


def test_backup_files_hold_no_plaintext(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    admin = session("admin")
    add_customers(admin, 3)
    store.create(db, full=True)
    created = admin.customers.create(
        customer_data(name=SECRET_NAME, phone=SECRET_PHONE, notes=SECRET_NOTE)
    )
    assert created.name == SECRET_NAME
    store.create(db, full=False)
    store.create(db, full=True)
    files = [p for p in store.directory.iterdir() if p.suffix in (".bak", ".json")]
    assert len(files) == 6
    needles = [
        text.encode(encoding)
        for text in (SECRET_NAME, SECRET_PHONE, SECRET_NOTE, "Zebulon", "penguins")
        for encoding in ("utf-8", "utf-16-le")
    ]
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {path.name}"


WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=15)
    conn.execute("PRAGMA busy_timeout=15000")
    print("ready", flush=True)
    n = 0
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO followups(customer_id, at, channel, content) VALUES (1, ?, 'phone', ?)",
            (f"2026-01-01T00:00:{n % 60:02d}", "x" * 200),
        )
        conn.execute("COMMIT")
        n += 1
    print(n, flush=True)
    """
)


def test_backup_while_another_process_writes(
    db: Database, session: Callable[[str], Service], store: BackupStore, tmp_path: Path
) -> None:
    add_customers(session("admin"), 50)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db.path), "4"], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    full = store.create(db, full=True)
    incremental = store.create(db, full=False)
    written = int(writer.stdout.readline())
    writer.wait(timeout=30)
    assert written > 0
    assert store.verify(full.id).ok
    check = store.verify(incremental.id)
    assert check.ok, check.describe()
    store.restore(incremental.id, tmp_path / "r.db")
    conn = sqlite3.connect(tmp_path / "r.db")
    count = conn.execute("SELECT COUNT(*) FROM followups").fetchone()[0]
    conn.close()
    assert count == incremental.row_counts["followups"]


def test_restore_over_live_database_takes_a_safety_backup_first(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    admin = session("admin")
    add_customers(admin, 4)
    full = store.create(db, full=True)
    add_customers(admin, 3, tag="after")
    restored, safety = store.restore_live(full.id, db)
    assert restored.id == full.id and safety.kind == "full"
    assert db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 4
    assert safety.row_counts["customers"] == 7
    assert store.incremental_obstacle(db) is not None
    next_backup = store.create(db, full=True)
    assert store.verify(next_backup.id).ok


def test_prune_keeps_chains_whole(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    add_customers(session("admin"), 2)
    made = [store.create(db, full=True), store.create(db, full=False)]
    made += [store.create(db, full=True), store.create(db, full=False)]
    doomed = store.prune(keep_daily=1, keep_weekly=1)
    assert doomed == [made[0].id, made[1].id]
    assert [m.id for m in store.list()] == [made[2].id, made[3].id]


def test_scheduled_takes_a_full_on_the_weekday_and_incrementals_otherwise(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    add_customers(session("admin"), 2)
    settings = Settings(backup_full_weekday=6)
    sunday, monday = dt.date(2026, 11, 22), dt.date(2026, 11, 23)
    first, _ = store.scheduled(db, settings, today=monday)
    assert first.kind == "full"  # nothing to build on yet
    second, _ = store.scheduled(db, settings, today=monday)
    third, _ = store.scheduled(db, settings, today=sunday)
    assert (second.kind, third.kind) == ("incremental", "full")


@pytest.mark.parametrize("username", ["manager", "sales1", "service"])
def test_non_admins_cannot_reach_admin_functions(
    db: Database, session: Callable[[str], Service], tmp_path: Path, username: str
) -> None:
    user = session(username)
    settings = Settings(backup_dir=str(tmp_path / "b"))
    calls: list[Callable[[], object]] = [
        lambda: user.backups.create(full=True, settings=settings),
        lambda: user.backups.list(settings),
        lambda: user.backups.verify(None, settings),
        lambda: user.backups.restore("x", tmp_path / "r.db", settings),
        lambda: user.backups.restore_live("x", settings),
        lambda: user.backups.drill(settings),
        lambda: user.backups.prune(settings),
        lambda: user.backups.scheduled(settings),
        lambda: user.retention.preview(settings),
        lambda: user.retention.purge(0, settings),
        lambda: user.audit_log.export(audit.AuditFilter(), tmp_path / "a.csv"),
        lambda: user.users.list(),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert not (tmp_path / "b").exists() and not (tmp_path / "a.csv").exists()


def test_admin_jobs_are_audited(
    db: Database, session: Callable[[str], Service], tmp_path: Path
) -> None:
    admin = session("admin")
    settings = Settings(backup_dir=str(tmp_path / "b"))
    add_customers(admin, 2)
    full = admin.backups.create(full=True, settings=settings)
    admin.backups.drill(settings)
    admin.backups.verify(full.id, settings)
    admin.backups.restore(full.id, tmp_path / "r.db", settings)
    exported = admin.audit_log.export(audit.AuditFilter(action="customer"), tmp_path / "a.csv")
    assert exported == 2
    assert (tmp_path / "a.csv").stat().st_mode & 0o077 == 0
    actions = [e.action for e in admin.audit_log.entries(audit.AuditFilter(), limit=5)]
    assert actions == [
        "audit.export",
        "backup.restore",
        "backup.verify",
        "backup.drill",
        "backup.create",
    ]


def _frames_of(path: Path) -> tuple[bytes, list[bytes]]:
    data = path.read_bytes()
    header, rest, frames = data[:24], data[24:], []
    while rest:
        length = int.from_bytes(rest[:4], "big") + 16
        frames.append(rest[:length])
        rest = rest[length:]
    return header, frames


def test_container_detects_a_dropped_or_reordered_chunk(db: Database, tmp_path: Path) -> None:
    """Below the manifest's size and hash: the chunks themselves refuse to be cut or moved."""
    file_id = b"\x07" * 16
    path = tmp_path / "c.bak"
    blocks = [bytes([n]) * 1000 for n in range(3)]
    backup_module._write_container(path, db.keys, file_id, iter(blocks))
    assert list(backup_module._read_container(path, db.keys, file_id)) == blocks
    header, frames = _frames_of(path)
    path.write_bytes(header + b"".join(frames[:2]))
    with pytest.raises(BackupError, match="last chunk is missing"):
        list(backup_module._read_container(path, db.keys, file_id))
    path.write_bytes(header + frames[1] + frames[0] + frames[2])
    with pytest.raises(BackupError, match="chunk 0 failed authentication"):
        list(backup_module._read_container(path, db.keys, file_id))
    path.write_bytes(header + b"".join(frames) + frames[2])
    with pytest.raises(BackupError, match="after its last chunk"):
        list(backup_module._read_container(path, db.keys, file_id))


def test_verify_all_restores_each_chain_once_and_names_the_broken_link(
    db: Database, session: Callable[[str], Service], store: BackupStore
) -> None:
    admin = session("admin")
    add_customers(admin, 3)
    made = [store.create(db, full=True)]
    for n in range(3):
        add_customers(admin, 1, tag=f"round {n}")
        made.append(store.create(db, full=False))
    made.append(store.create(db, full=True))
    assert [r.ok for r in store.verify_all()] == [True] * 5
    corrupt(store.data_path(made[2].id), 40)
    results = {r.id: r for r in store.verify_all()}
    assert [results[m.id].ok for m in made] == [True, True, False, False, True]
    assert "corrupted" in results[made[2].id].describe()
    assert "corrupted" in results[made[3].id].describe()
