"""Shared fixtures: a real SQLite file and key file per test, with one user per role."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tui_crm.crypto import create_key_file
from tui_crm.db import Database
from tui_crm.passwords import hash_password
from tui_crm.service import Service

SHARED_TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
LOCAL_TESTDATA = Path(__file__).parent / "data"
USERS = {
    "admin": "admin",
    "manager": "manager",
    "service": "service",
    "sales1": "sales",
    "sales2": "sales",
}
PASSWORD = "Correct-Horse-9"


def hostile_strings() -> list[dict[str, str]]:
    """The shared hostile customer text (a copy is kept in tests/data for stand-alone runs)."""
    for folder in (SHARED_TESTDATA, LOCAL_TESTDATA):
        path = folder / "hostile-strings.json"
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError("hostile-strings.json")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A new database with users admin, manager, service, sales1, sales2 (password PASSWORD)."""
    keys = create_key_file(tmp_path / "keys" / "crm.key")
    database = Database.create(tmp_path / "crm.db", keys)
    encoded = hash_password(PASSWORD)
    with database.write() as tx:
        for name, role in USERS.items():
            tx.execute(
                "INSERT INTO users(username, role, password_hash, created_at)"
                " VALUES (?, ?, ?, '2026-01-01T00:00:00')",
                (name, role, encoded),
            )
    yield database
    database.close()


@pytest.fixture
def session(db: Database) -> Callable[[str], Service]:
    """A signed-in service session for a user name, without paying for password hashing."""

    def make(username: str) -> Service:
        from tui_crm.roles import Role
        from tui_crm.service import UserInfo

        row = db.conn.execute("SELECT id, role FROM users WHERE username=?", (username,)).fetchone()
        return Service(db, UserInfo(row["id"], username, Role(row["role"])))

    return make


def customer_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Acme Trading Ltd",
        "customer_type": "prospect",
        "phone": "13800138000",
        "email": "zed@example.com",
        "contact_name": "Zed",
        "industry": "C",
    }
    data.update(overrides)
    return data


def drop_import_schema(tx: Any) -> None:
    """Undo the import migration (issue 10), for tests that rebuild an older schema."""
    for table in ("import_rows", "import_runs", "import_mappings"):
        tx.execute(f"DROP TABLE {table}")
    for column in ("import_run_id", "extra_contacts_enc"):
        tx.execute(f"ALTER TABLE customers DROP COLUMN {column}")
