"""Issue 9: the audit log cannot be cut short, and customers' log keys cannot be deleted or
swapped, without `audit.verify` saying so (attacks made with plain sqlite3, no key file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import customer_data, rewind_schema
from tui_crm import audit, retention
from tui_crm import db as db_module
from tui_crm.backup import BackupStore
from tui_crm.config import Settings
from tui_crm.crypto import KeyRing
from tui_crm.db import MIGRATIONS, SCHEMA_VERSION, Database
from tui_crm.service import Service

Attack = Callable[[sqlite3.Connection], None]


def add_customers(service: Service, count: int, start: int = 0) -> list[str]:
    codes = []
    for n in range(start, start + count):
        made = service.customers.create(
            customer_data(name=f"Company {n}", phone=f"138{n:08d}", email=f"c{n}@example.com")
        )
        codes.append(made.code)
    return codes


def raw_attack(db: Database, attack: Attack) -> None:
    """What someone with write access to the file (and no key) can do with sqlite3."""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    raw = sqlite3.connect(db.path)
    raw.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    raw.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    attack(raw)
    raw.commit()
    raw.close()


def head_of(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT value FROM meta WHERE key='audit_head'").fetchone()[0]


def last_entry(conn: sqlite3.Connection, upto: int) -> tuple[int, str]:
    row = conn.execute("SELECT id, hash FROM audit_log WHERE id=?", (upto,)).fetchone()
    return row[0], row[1]


def _delete_newest(raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM audit_log WHERE id > 3")


def _delete_newest_and_head(raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM audit_log WHERE id > 3")
    raw.execute("DELETE FROM meta WHERE key='audit_head'")


def _delete_newest_and_write_old_style_head(raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM audit_log WHERE id > 3")
    entry_id, digest = last_entry(raw, 3)
    raw.execute("UPDATE meta SET value=? WHERE key='audit_head'", (f"{entry_id}:{digest}",))


def _delete_newest_and_forge_signed_head(raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM audit_log WHERE id > 3")
    entry_id, digest = last_entry(raw, 3)
    mac = head_of(raw).rsplit(":", 1)[1]  # a real MAC, of another head
    raw.execute(
        "UPDATE meta SET value=? WHERE key='audit_head'", (f"h2:3:{entry_id}:{digest}:{mac}",)
    )


def _delete_everything(raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM audit_log")
    raw.execute("DELETE FROM meta WHERE key='audit_head'")


def _delete_every_entry(raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM audit_log")


TRUNCATIONS: dict[str, Attack] = {
    "newest entries": _delete_newest,
    "newest entries and the head": _delete_newest_and_head,
    "newest entries, head rewritten the old way": _delete_newest_and_write_old_style_head,
    "newest entries, head forged with another MAC": _delete_newest_and_forge_signed_head,
    "every entry and the head": _delete_everything,
    "every entry": _delete_every_entry,
}


@pytest.mark.parametrize("variant", list(TRUNCATIONS))
def test_truncation_is_detected(db: Database, session, variant: str) -> None:
    add_customers(session("admin"), 6)
    assert audit.verify(db.conn, db.keys).ok
    raw_attack(db, TRUNCATIONS[variant])
    result = audit.verify(db.conn, db.keys)
    assert not result.ok, variant
    assert "entry" in result.describe()


def test_an_empty_log_still_has_a_signed_head(db: Database) -> None:
    assert audit.verify(db.conn, db.keys).ok
    assert db.keys.open_audit_head(head_of(db.conn)) == (0, 0, audit.GENESIS)
    raw_attack(db, lambda raw: raw.execute("DELETE FROM meta WHERE key='audit_head'"))
    assert "missing" in audit.verify(db.conn, db.keys).reason


def test_replayed_old_head_is_caught_by_a_backup_anchor(
    db: Database, session, tmp_path: Path
) -> None:
    """A head copied from earlier is authentic; only a record kept elsewhere shows the cut."""
    admin = session("admin")
    add_customers(admin, 3)
    old_head = head_of(db.conn)
    add_customers(admin, 3, start=3)
    store = BackupStore(tmp_path / "backups", db.keys)
    backup = store.create(db, full=True)

    def cut_and_replay(raw: sqlite3.Connection) -> None:
        raw.execute("DELETE FROM audit_log WHERE id > 3")
        raw.execute("UPDATE meta SET value=? WHERE key='audit_head'", (old_head,))

    raw_attack(db, cut_and_replay)
    assert audit.verify(db.conn, db.keys).ok, "the replayed head alone looks authentic"
    anchors = [m.anchor() for m in store.list()]
    result = audit.verify(db.conn, db.keys, anchors=[a for a in anchors if a])
    assert not result.ok
    assert f"backup {backup.id} recorded entry 6" in result.reason


def test_head_line_proves_nothing_before_it_changed(db: Database, session) -> None:
    admin = session("admin")
    add_customers(admin, 2)
    old_head = head_of(db.conn)
    add_customers(admin, 2, start=2)
    line = audit.head_line(db.conn, db.keys)
    assert line.startswith("tui-crm-audit-head 4 ") and len(line) < 120
    add_customers(admin, 2, start=4)
    result = audit.verify(db.conn, db.keys, against=line)
    assert result.ok and result.anchors == 1

    def rewrite_history(raw: sqlite3.Connection) -> None:
        raw.execute("DELETE FROM audit_log WHERE id > 2")
        raw.execute("UPDATE meta SET value=? WHERE key='audit_head'", (old_head,))

    raw_attack(db, rewrite_history)
    assert audit.verify(db.conn, db.keys).ok, "the replayed head alone looks authentic"
    result = audit.verify(db.conn, db.keys, against=line)
    assert not result.ok and "the head line of entry 4 recorded entry 4" in result.reason
    with pytest.raises(ValueError, match="not an audit head line"):
        audit.verify(db.conn, db.keys, against="tui-crm-audit-head four - abc")


REPLAY_WITH_BACKUP = "old head replayed, backup manifests as anchors"
REPLAY_WITH_LINE = "old head replayed, a printed head line as anchor"
# The limit the README states: a whole old state put back, with nothing kept elsewhere.
REPLAY_WITHOUT_ANCHOR = "old head replayed, no backup and no head line kept"
DETECTABLE = (*TRUNCATIONS, REPLAY_WITH_BACKUP, REPLAY_WITH_LINE)


def detected(folder: Path, keys: KeyRing, variant: str) -> bool:
    """Build a log of 6 entries with a backup taken and a head line printed at its end,
    attack it with plain sqlite3, and verify it as an admin does (`audit verify`, through
    the service): with the backup directory only for the backup variant, with `--against`
    the line only for the line variant, so each anchor is shown to be enough on its own."""
    folder.mkdir()
    db = Database.create(folder / "crm.db", keys)
    try:
        cli = Service.for_cli(db, "tester")
        add_customers(cli, 3)
        old_head = head_of(db.conn)
        add_customers(cli, 3, start=3)
        line = cli.audit_log.head()
        backups = Settings(backup_dir=str(folder / "backups"))
        cli.backups.create(full=True, settings=backups)
        if variant in TRUNCATIONS:
            raw_attack(db, TRUNCATIONS[variant])
        else:
            raw_attack(db, lambda raw: _cut_and_replay(raw, old_head))
        elsewhere = Settings(backup_dir=str(folder / "no-backups-here"))
        if variant == REPLAY_WITH_BACKUP:
            return not cli.audit_log.verify(settings=backups).ok
        if variant == REPLAY_WITH_LINE:
            return not cli.audit_log.verify(settings=elsewhere, against=line).ok
        return not cli.audit_log.verify(settings=elsewhere).ok
    finally:
        db.close()


def _cut_and_replay(raw: sqlite3.Connection, old_head: str) -> None:
    raw.execute("DELETE FROM audit_log WHERE id > 3")
    raw.execute("UPDATE meta SET value=? WHERE key='audit_head'", (old_head,))


# --- customer keys ------------------------------------------------------------------------


def test_deleting_a_customer_key_is_reported_not_read_as_a_purge(db: Database, session) -> None:
    admin = session("admin")
    code = add_customers(admin, 2)[0]
    raw_attack(
        db, lambda raw: raw.execute("DELETE FROM customer_keys WHERE customer_code=?", (code,))
    )
    result = audit.verify(db.conn, db.keys)
    assert not result.ok
    assert f"log key of customer {code} is missing, yet no purge removed it" in result.reason
    entries = audit.query(db.conn, db.keys, audit.AuditFilter(customer_code=code))
    assert entries and all(e.details == audit.KEY_MISSING for e in entries)


def test_swapping_customer_keys_is_reported(db: Database, session) -> None:
    admin = session("admin")
    first, second = add_customers(admin, 2)

    def swap(raw: sqlite3.Connection) -> None:
        rows = raw.execute("SELECT id, customer_code FROM customer_keys ORDER BY id").fetchall()
        (id_a, code_a), (id_b, code_b) = rows
        raw.execute("UPDATE customer_keys SET customer_code='tmp' WHERE id=?", (id_a,))
        raw.execute("UPDATE customer_keys SET customer_code=? WHERE id=?", (code_a, id_b))
        raw.execute("UPDATE customer_keys SET customer_code=? WHERE id=?", (code_b, id_a))

    raw_attack(db, swap)
    result = audit.verify(db.conn, db.keys)
    assert not result.ok and "altered or swapped" in result.reason
    for code in (first, second):
        entries = audit.query(db.conn, db.keys, audit.AuditFilter(customer_code=code))
        assert all(e.details == audit.KEY_ALTERED for e in entries)


def test_swapping_wrapped_keys_between_rows_is_reported(db: Database, session) -> None:
    add_customers(session("admin"), 2)

    def swap_blobs(raw: sqlite3.Connection) -> None:
        rows = raw.execute("SELECT id, wrapped FROM customer_keys ORDER BY id").fetchall()
        raw.execute("UPDATE customer_keys SET wrapped=? WHERE id=?", (rows[1][1], rows[0][0]))
        raw.execute("UPDATE customer_keys SET wrapped=? WHERE id=?", (rows[0][1], rows[1][0]))

    raw_attack(db, swap_blobs)
    assert "altered or swapped" in audit.verify(db.conn, db.keys).reason


def test_a_purge_names_the_key_it_destroyed_and_verify_accepts_it(db: Database, session) -> None:
    admin = session("admin")
    made = admin.customers.create(customer_data(name="Old Co", customer_type="churned"))
    key_id = db.conn.execute(
        "SELECT id FROM customer_keys WHERE customer_code=?", (made.code,)
    ).fetchone()[0]
    with db.write() as tx:
        tx.execute("UPDATE customers SET created_at='2015-01-01T00:00:00' WHERE id=?", (made.id,))
    assert retention.purge(db, retention.Policy(), 1, actor="admin") == 1
    purge = audit.query(db.conn, db.keys, audit.AuditFilter(action=retention.PURGE_ACTION))[0]
    assert purge.details[audit.DESTROYED_KEY] == key_id
    assert audit.verify(db.conn, db.keys).ok
    older = audit.query(db.conn, db.keys, audit.AuditFilter(customer_code=made.code))[1:]
    assert older and all(e.details == audit.ERASED for e in older)


def test_a_destroyed_key_put_back_is_reported(db: Database, session) -> None:
    admin = session("admin")
    made = admin.customers.create(customer_data(name="Old Co", customer_type="churned"))
    saved = db.conn.execute("SELECT * FROM customer_keys").fetchone()
    with db.write() as tx:
        tx.execute("UPDATE customers SET created_at='2015-01-01T00:00:00' WHERE id=?", (made.id,))
    retention.purge(db, retention.Policy(), 1, actor="admin")
    raw_attack(
        db, lambda raw: raw.execute("INSERT INTO customer_keys VALUES (?, ?, ?, ?)", tuple(saved))
    )
    assert "present again after the purge" in audit.verify(db.conn, db.keys).reason


# --- upgrading a database from before this change --------------------------------------------


def test_upgrade_signs_the_recorded_head_and_binds_keys(db: Database, session) -> None:
    """A database at the schema before heads were signed: the old `id:hash` head is what
    gets signed (so a log already cut short stays short), and keys are re-bound."""
    admin = session("admin")
    codes = add_customers(admin, 4)
    before = MIGRATIONS.index(db_module._authenticate_audit_head)  # the schema before it
    with db.write() as tx:
        last = tx.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        tx.execute("UPDATE meta SET value=? WHERE key='audit_head'", (f"{last[0]}:{last[1]}",))
        for row in tx.execute("SELECT id, customer_code, wrapped FROM customer_keys").fetchall():
            plain = db.keys.decrypt(row[2], "customer_keys", "wrapped", row[0], bound_to=row[1])
            tx.execute(
                "UPDATE customer_keys SET wrapped=? WHERE id=?",
                (db.keys.encrypt(plain, "customer_keys", "wrapped", row[0]), row[0]),
            )
        rewind_schema(tx, before)
    reopened = Database.open(db.path, db.keys)
    try:
        assert reopened.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert reopened.keys.open_audit_head(head_of(reopened.conn)) == (
            last[0],
            last[0],
            last[1],
        )
        assert audit.verify(reopened.conn, reopened.keys).ok
        entries = audit.query(
            reopened.conn, reopened.keys, audit.AuditFilter(customer_code=codes[0])
        )
        assert entries[0].details["fields"]["name"][1] == "Company 0"
    finally:
        reopened.close()
