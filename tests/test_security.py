"""Sensitive values never stored in plain text; wrong keys refused; the audit chain holds."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import customer_data
from tui_crm import audit
from tui_crm.crypto import DecryptionError, KeyFileError, create_key_file, load_key_file
from tui_crm.db import Database

PERSONS = [
    {
        "phone": "13812345678",
        "email": "wang.secret@example.com",
        "id_number": "11010519491231002X",
        "address": "北京市朝阳区机密路88号",
    },
    {
        "phone": "+85261234567",
        "email": "hidden.person@example.org",
        "id_number": "110101198001010010",
        "address": "42 Hidden Street, Kowloon",
    },
]


def test_raw_bytes_hold_no_plaintext(db: Database, session) -> None:
    admin = session("admin")
    for i, person in enumerate(PERSONS):
        created = admin.customers.create(customer_data(name=f"Person {i}", kind="person", **person))
        admin.customers.reveal(created.id, "phone")
        admin.customers.update(created.id, {"address": person["address"] + " B"}, created.version)
    # Keep the WAL: read it before any checkpoint folds it into the main file.
    files = [db.path, Path(f"{db.path}-wal")]
    raw = b"".join(p.read_bytes() for p in files if p.exists())
    assert Path(f"{db.path}-wal").exists()
    for person in PERSONS:
        for value in person.values():
            for form in {value, value.lstrip("+"), value[-8:] if value[0].isdigit() else value}:
                assert form.encode() not in raw, f"{form!r} found in plain text"
                assert form.encode("utf-16-le") not in raw


def test_ciphertext_bound_to_its_row(db: Database, session) -> None:
    admin = session("admin")
    first = admin.customers.create(customer_data(name="One"))
    second = admin.customers.create(customer_data(name="Two", phone="13900139000"))
    with db.write() as tx:
        blob = tx.execute("SELECT phone_enc FROM customers WHERE id=?", (first.id,)).fetchone()[0]
        tx.execute("UPDATE customers SET phone_enc=? WHERE id=?", (blob, second.id))
    with pytest.raises(DecryptionError):
        admin.customers.get(second.id)


def test_wrong_key_is_refused_and_database_unchanged(db: Database, session, tmp_path: Path) -> None:
    session("admin").customers.create(customer_data())
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = db.path.read_bytes()
    other = create_key_file(tmp_path / "other.key")
    with pytest.raises(KeyFileError, match="does not belong"):
        Database.open(db.path, other)
    assert db.path.read_bytes() == before


def test_key_file_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_key_file(tmp_path / "missing.key")
    loose = tmp_path / "loose.key"
    create_key_file(loose)
    os.chmod(loose, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key_file(loose)
    junk = tmp_path / "junk.key"
    junk.write_text("hello")
    junk.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a tui-crm key file"):
        load_key_file(junk)
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        create_key_file(junk)


def test_key_file_mode_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "k" / "crm.key"
    create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_audit_holds_masked_values_only(db: Database, session) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data())
    admin.customers.update(created.id, {"phone": "13911112222"}, created.version)
    opened = " ".join(str(e.details) for e in admin.audit_log.entries(audit.AuditFilter()))
    assert "13800138000" not in opened and "13911112222" not in opened
    assert "139****2222" in opened
    stored = " ".join(r[0] for r in db.conn.execute("SELECT details FROM audit_log"))
    assert "Acme" not in stored, "details about a customer are sealed under their own key"


def test_audit_log_refuses_update_and_delete(db: Database, session) -> None:
    session("admin").customers.create(customer_data())
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.conn.execute("UPDATE audit_log SET actor='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.conn.execute("DELETE FROM audit_log")


def test_tampering_is_found_at_the_edited_row(db: Database, session) -> None:
    admin = session("admin")
    for i in range(5):
        admin.customers.create(customer_data(name=f"Co {i}", phone=f"1380013800{i}"))
    assert audit.verify(db.conn, db.keys).ok
    raw = sqlite3.connect(db.path)
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("UPDATE audit_log SET actor='nobody' WHERE id=3")
    raw.commit()
    raw.close()
    result = audit.verify(db.conn, db.keys)
    assert not result.ok and result.broken_id == 3
    assert "entry 3" in result.describe()


def test_removing_the_newest_entries_is_found(db: Database, session) -> None:
    admin = session("admin")
    for i in range(3):
        admin.customers.create(customer_data(name=f"Co {i}", phone=f"1380013800{i}"))
    raw = sqlite3.connect(db.path)
    raw.execute("DROP TRIGGER audit_log_no_delete")
    raw.execute("DELETE FROM audit_log WHERE id=3")
    raw.commit()
    raw.close()
    result = audit.verify(db.conn, db.keys)
    assert not result.ok and result.broken_id == 3


def test_audit_text_filter_reads_sealed_details(db: Database, session) -> None:
    admin = session("admin")
    admin.customers.create(customer_data(name="Needle Trading"))
    admin.customers.create(customer_data(name="Other Co", phone="13900139000"))
    found = admin.audit_log.entries(audit.AuditFilter(text="needle"))
    assert [e.details["fields"]["name"][1] for e in found] == ["Needle Trading"]
