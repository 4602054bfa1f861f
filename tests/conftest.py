"""Shared fixtures: a real SQLite file and key file per test, with one user per role."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tui_crm import i18n
from tui_crm.cli import main
from tui_crm.crypto import create_key_file
from tui_crm.db import MIGRATIONS, Database, connect
from tui_crm.passwords import hash_password
from tui_crm.roles import Role
from tui_crm.service import Service, UserInfo

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


@pytest.fixture(autouse=True)
def english_without_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in English with no config file, whatever the machine's locale or
    ~/.config holds; a test wanting Chinese sets LANG or activates it."""
    for variable in i18n.LOCALE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("TUI_CRM_CONFIG", os.devnull)
    monkeypatch.delenv("NO_COLOR", raising=False)
    i18n.activate("en")
    yield
    i18n.activate("en")


@pytest.fixture(params=["colour", "NO_COLOR"])
def colour_modes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a Pilot test twice: in colour and with NO_COLOR set, as many terminals do.
    Textual reads NO_COLOR when the App is created and then draws every line through its
    monochrome filter, so the variable is set before the test builds its app.
    A module opts in with `pytestmark = pytest.mark.usefixtures("colour_modes")`."""
    if request.param == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    return request.param


def make_database(folder: Path) -> Database:
    """A new database `folder/crm.db` (key `folder/keys/crm.key`) with users admin, manager,
    service, sales1, sales2 (password PASSWORD); also for the attack figures in bench/."""
    keys = create_key_file(folder / "keys" / "crm.key")
    database = Database.create(folder / "crm.db", keys)
    encoded = hash_password(PASSWORD)
    with database.write() as tx:
        for name, role in USERS.items():
            tx.execute(
                "INSERT INTO users(username, role, password_hash, created_at)"
                " VALUES (?, ?, ?, '2026-01-01T00:00:00')",
                (name, role, encoded),
            )
    return database


def signed_in(db: Database, username: str) -> Service:
    """A signed-in service session for a user name, without paying for password hashing."""
    row = db.conn.execute("SELECT id, role FROM users WHERE username=?", (username,)).fetchone()
    return Service(db, UserInfo(row["id"], username, Role(row["role"])))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = make_database(tmp_path)
    yield database
    database.close()


@pytest.fixture
def session(db: Database) -> Callable[[str], Service]:
    return lambda username: signed_in(db, username)


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


def rewind_schema(tx: sqlite3.Connection, version: int) -> None:
    """Make a database look as if only its first `version` migrations had run: drop every
    trigger, view, index, table and column that later ones added, keeping the data."""
    old = connect(":memory:")
    for script in MIGRATIONS[:version]:
        if isinstance(script, str):  # the others rebuild or sign what is there
            old.executescript(script)
    kept = {(r[0], r[1]) for r in old.execute("SELECT type, name FROM sqlite_master")}
    added = tx.execute(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY rowid DESC"
    ).fetchall()
    for kind in ("trigger", "view", "index", "table"):
        for row in added:
            if row[0] == kind and (row[0], row[1]) not in kept:
                tx.execute(f"DROP {kind.upper()} {row[1]}")
    for (table,) in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = {r[1] for r in old.execute(f"PRAGMA table_info({table})")}
        for r in tx.execute(f"PRAGMA table_info({table})").fetchall():
            if r[1] not in columns:
                tx.execute(f"ALTER TABLE {table} DROP COLUMN {r[1]}")
    tx.execute(f"PRAGMA user_version = {version}")
    old.close()


def mode(path: Path) -> int:
    """Permission bits of the path itself (a symlink's own, not its target's)."""
    return path.lstat().st_mode & 0o777


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a CLI run on a new database made by `tui-crm init` (admin boss)."""
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "none.toml"))
    values = {"TUI_CRM_DB": str(tmp_path / "crm.db"), "TUI_CRM_KEY_FILE": str(tmp_path / "k")}
    result = CliRunner().invoke(
        main,
        ["init", "--admin", "boss", "--password-stdin"],
        input="Str0ng-pass-word\n",
        env=values,
    )
    assert result.exit_code == 0, result.output
    return values


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask many accounts have (022): files readable by everyone unless made private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)
