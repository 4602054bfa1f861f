"""Issue 9: a password policy that sees through common disguises, and sign-in back-off that
slows a guesser per (name, source) without ever locking anyone out for good."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from tui_crm import throttle
from tui_crm.db import Database
from tui_crm.passwords import check_password_policy, common_passwords, disguises_removed
from tui_crm.validation import ValidationError

WEAK = [
    ("Password123!", "bob", "common"),
    ("P@ssw0rd2024", "bob", "common"),
    ("Dragon2024!!", "bob", "common"),
    ("qwertyuiop12", "bob", "common"),
    ("woaini1314520", "bob", "common"),
    ("DROWSSAP1234", "bob", "common"),
    ("1qaz2wsx3edc", "bob", "common"),
    ("monkeymonkeymonkey", "bob", "common"),
    ("alice1234567", "alice", "user or app name"),
    ("Alice-2026-!!", "alice", "user or app name"),
    ("tui-crm-2026!", "bob", "user or app name"),
    ("admin-tuicrm-1", "admin", "user or app name"),
    ("aaaaaaaaaaaa", "bob", "too few"),
    ("short1!", "bob", "at least 10"),
]
STRONG = ["Correct-Horse-9", "Tiger-Lily-Harbour", "Xk9#mQ2$vL", "rain over 7 quiet hills"]


@pytest.mark.parametrize(("password", "username", "why"), WEAK)
def test_weak_passwords_are_refused(password: str, username: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as raised:
        check_password_policy(password, username=username)
    assert raised.value.field == "password"


@pytest.mark.parametrize("password", STRONG)
def test_strong_passwords_pass(password: str) -> None:
    check_password_policy(password, username="alice")


def test_the_list_is_real_and_the_old_list_no_longer_slips_through() -> None:
    assert len(common_passwords()) >= 10_000
    for old in ("password", "12345678", "123456789", "qwertyui", "demodemo", "admin123"):
        with pytest.raises(ValidationError):
            check_password_policy(old + "2024!", username="x")


def test_disguises_are_undone() -> None:
    forms = disguises_removed("P@$$-W0rd!!2024")
    assert "password" in forms
    assert "dragon" in disguises_removed("nogard123456")


def test_demo_databases_accept_any_non_empty_password() -> None:
    check_password_policy("demo", demo=True)
    with pytest.raises(ValidationError, match="empty"):
        check_password_policy("", demo=True)


# --- back-off ---------------------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 1, 9, 0, 0)


def fail(conn: sqlite3.Connection, db: Database, name: str, source: str, at: dt.datetime):
    with db.write() as tx:
        return throttle.record_failure(tx, db.keys, name, source, at)


def test_failures_back_off_per_name_and_source(db: Database) -> None:
    policy = throttle.POLICY
    for _ in range(policy.free_failures):
        assert fail(db.conn, db, "admin", "ssh:203.0.113.9", T0).retry_after_seconds == 0
    blocked = fail(db.conn, db, "admin", "ssh:203.0.113.9", T0)
    assert not blocked.allowed and blocked.retry_after_seconds == policy.first_wait_seconds
    decision = throttle.check_attempt(db.conn, db.keys, "admin", "ssh:203.0.113.9", T0)
    assert not decision.allowed and decision.failures == policy.free_failures + 1
    assert throttle.check_attempt(db.conn, db.keys, "admin", "ssh:198.51.100.4", T0).allowed, (
        "the real admin elsewhere is not slowed by a guesser"
    )
    assert throttle.check_attempt(db.conn, db.keys, "ADMIN ", "ssh:203.0.113.9", T0).failures
    later = T0 + dt.timedelta(seconds=policy.first_wait_seconds)
    assert throttle.check_attempt(db.conn, db.keys, "admin", "ssh:203.0.113.9", later).allowed


def test_waits_double_up_to_a_ceiling_and_always_end(db: Database) -> None:
    policy = throttle.POLICY
    waits = [fail(db.conn, db, "admin", "tty", T0).retry_after_seconds for _ in range(40)]
    assert waits[policy.free_failures : policy.free_failures + 3] == [2.0, 4.0, 8.0]
    assert max(waits) == policy.longest_wait_seconds
    end = T0 + dt.timedelta(seconds=policy.longest_wait_seconds)
    assert throttle.check_attempt(db.conn, db.keys, "admin", "tty", end).allowed


def test_unknown_names_are_counted_alike_and_never_stored(db: Database) -> None:
    typed = "Secret-Pass-77"  # a password typed into the name box
    for _ in range(5):
        known = fail(db.conn, db, "admin", "tty", T0)
        unknown = fail(db.conn, db, typed, "tty", T0)
    assert known == unknown
    raw = db.conn.execute("SELECT subject, source FROM login_throttle").fetchall()
    assert len(raw) == 2 and all(typed.encode() not in bytes(r[0]) for r in raw)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    assert typed.encode() not in db.path.read_bytes()


def test_success_and_unlock_forget_failures(db: Database) -> None:
    for _ in range(6):
        fail(db.conn, db, "sales1", "a", T0)
        fail(db.conn, db, "sales1", "b", T0)
    with db.write() as tx:
        throttle.record_success(tx, db.keys, "sales1", "a")
    assert throttle.check_attempt(db.conn, db.keys, "sales1", "a", T0).allowed
    assert not throttle.check_attempt(db.conn, db.keys, "sales1", "b", T0).allowed
    with db.write() as tx:
        assert throttle.clear(tx, db.keys, "sales1") == 1
    assert throttle.check_attempt(db.conn, db.keys, "sales1", "b", T0).allowed


def test_quiet_pairs_are_forgotten(db: Database) -> None:
    for _ in range(6):
        fail(db.conn, db, "old", "x", T0)
    next_day = T0 + dt.timedelta(seconds=throttle.POLICY.forget_after_seconds + 1)
    assert throttle.check_attempt(db.conn, db.keys, "old", "x", next_day) == throttle.Decision(
        True, 0
    )
    fail(db.conn, db, "new", "y", next_day)
    names = db.conn.execute("SELECT COUNT(*) FROM login_throttle").fetchone()[0]
    assert names == 1


def test_source_comes_from_sshd_else_the_local_user() -> None:
    assert throttle.source_from_env({"SSH_CONNECTION": "203.0.113.9 52100 10.0.0.2 22"}) == (
        "ssh:203.0.113.9"
    )
    assert throttle.source_from_env({}).startswith("local:")
