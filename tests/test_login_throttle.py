"""Issue 9, item 9: signing in tells nobody which names exist, cannot be used to lock anyone
out (the admin included), and never stores a mistyped password; `user unlock` ends a wait."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from tests.conftest import PASSWORD
from tui_crm import throttle
from tui_crm.cli import main
from tui_crm.db import Database
from tui_crm.service import LOGIN_FAILED, AuthError, Service
from tui_crm.service import session as session_module
from tui_crm.service.session import UNKNOWN_USER

HERE, THERE = "ssh:203.0.113.9", "ssh:198.51.100.4"
FOREVER = "2999-01-01T00:00:00.000000"


def login(db: Database, name: str, password: str, source: str = HERE) -> Service:
    return Service.login(db, name, password, failure_delay=0, source=source)


def fail(db: Database, name: str, password: str = "wrong", source: str = HERE) -> str:
    with pytest.raises(AuthError) as refused:
        login(db, name, password, source)
    return str(refused.value)


def hold_the_wait(db: Database) -> None:
    """However slow the machine running the test, the waits now running have not ended."""
    db.conn.execute(
        "UPDATE login_throttle SET blocked_until=? WHERE blocked_until > ?",
        (
            FOREVER,
            dt.datetime.now().isoformat(timespec="microseconds"),
        ),
    )


def end_the_wait(db: Database) -> None:
    """The wait is over (it always ends by itself)."""
    past = (dt.datetime.now() - dt.timedelta(seconds=1)).isoformat(timespec="microseconds")
    db.conn.execute("UPDATE login_throttle SET blocked_until=?", (past,))


def last_failure(db: Database) -> tuple[str, dict[str, object]]:
    row = db.conn.execute(
        "SELECT actor, details FROM audit_log WHERE action='login.failed' ORDER BY id DESC"
    ).fetchone()
    return row[0], json.loads(row[1])


def back_off(db: Database, name: str, source: str = HERE) -> None:
    for _ in range(throttle.POLICY.free_failures + 1):
        fail(db, name, source=source)
    hold_the_wait(db)


def test_every_failure_answers_alike_with_the_same_work_and_delay(
    db: Database, session: Callable[[str], Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    session("admin").users.set_active("sales2", False)
    back_off(db, "manager")
    checks: list[str] = []
    sleeps: list[float] = []
    real_check = session_module.check_password

    def counted(password: str, encoded: str) -> bool:
        checks.append(encoded)
        return real_check(password, encoded)

    monkeypatch.setattr(session_module, "check_password", counted)
    monkeypatch.setattr(session_module.time, "sleep", sleeps.append)
    cases = {
        "unknown name": ("nobody", PASSWORD),
        "disabled account, right password": ("sales2", PASSWORD),
        "waiting source, right password": ("manager", PASSWORD),
        "wrong password": ("sales1", "wrong"),
    }
    answers = {}
    for case, (name, password) in cases.items():
        with pytest.raises(AuthError) as refused:
            Service.login(db, name, password, failure_delay=0.5, source=HERE)
        answers[case] = str(refused.value)
    assert set(answers.values()) == {LOGIN_FAILED}, answers
    assert len(checks) == len(cases), "one Argon2 check per attempt, whatever failed"
    assert all(encoded.startswith("$argon2id$") for encoded in checks)
    assert sleeps == [0.5] * len(cases)
    reasons = [
        json.loads(r[0])["reason"]
        for r in db.conn.execute(
            "SELECT details FROM audit_log WHERE action='login.failed' ORDER BY id DESC LIMIT 4"
        )
    ]
    assert reasons[::-1] == [
        "unknown user",
        "disabled",
        "too many failures from this source: waiting",
        "bad password",
    ], "the audit log tells admins what the screen does not"


def test_back_off_is_per_name_and_source(db: Database) -> None:
    back_off(db, "sales1")
    assert fail(db, "sales1", PASSWORD) == LOGIN_FAILED, "the right password waits too"
    assert last_failure(db)[1]["reason"] == "too many failures from this source: waiting"
    assert login(db, "sales1", PASSWORD, THERE).user.username == "sales1", (
        "a guesser at one source never slows the real user at another"
    )
    assert login(db, "sales2", PASSWORD, HERE).user.username == "sales2", "other names unaffected"
    end_the_wait(db)
    assert login(db, "sales1", PASSWORD).user.username == "sales1"
    assert throttle.check_attempt(db.conn, db.keys, "sales1", HERE, dt.datetime.now()) == (
        throttle.Decision(True, 0)
    ), "a success starts that source afresh"


def test_nobody_can_lock_the_admin_out(db: Database) -> None:
    waits = []
    for _ in range(40):
        end_the_wait(db)  # the guesser waits out every back-off and keeps going
        fail(db, "admin")
        waits.append(last_failure(db)[1].get("retry_after_seconds", 0))
    assert max(waits) == throttle.POLICY.longest_wait_seconds, "the wait has a ceiling"
    hold_the_wait(db)
    assert login(db, "admin", PASSWORD, THERE).user.role == "admin", "from elsewhere at once"
    assert login(db, "admin", PASSWORD, "operator:admin").user.role == "admin"
    end_the_wait(db)
    assert login(db, "admin", PASSWORD).user.role == "admin", "and here once the wait ends"


def test_a_password_typed_as_the_name_is_never_stored(db: Database) -> None:
    typed = "Secret-Pass-77"
    fail(db, typed, "")
    actor, details = last_failure(db)
    assert actor == UNKNOWN_USER and typed not in json.dumps(details)
    fail(db, "sales1")
    assert last_failure(db)[0] == "sales1", "a real user's name is kept"
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    assert typed.encode() not in db.path.read_bytes()


def test_unlock_ends_every_wait_and_the_user_list_shows_it(
    db: Database, session: Callable[[str], Service]
) -> None:
    back_off(db, "sales1")
    fail(db, "sales1", source=THERE)
    admin = session("admin")
    listed = {u.username: u for u in admin.users.list()}
    sales1 = listed["sales1"]
    assert (sales1.status, sales1.failed_attempts, sales1.failure_sources) == ("waiting", 5, 2)
    assert sales1.waiting_until is not None and sales1.waiting_until.startswith("2999-")
    assert (listed["sales2"].status, listed["sales2"].failed_attempts) == ("active", 0)
    admin.users.unlock("sales1")
    sales1 = {u.username: u for u in admin.users.list()}["sales1"]
    assert (sales1.status, sales1.failed_attempts, sales1.waiting_until) == ("active", 0, None)
    assert login(db, "sales1", PASSWORD).user.username == "sales1"
    unlock = db.conn.execute("SELECT details FROM audit_log WHERE action='user.unlock'").fetchone()
    assert json.loads(unlock[0])["sources"] == 2
    row = db.conn.execute(
        "SELECT failed_attempts, locked_until FROM users WHERE username='sales1'"
    ).fetchone()
    assert tuple(row) == (0, None), "the old lockout columns are no longer used"


def test_a_new_password_ends_the_wait_too(db: Database, session: Callable[[str], Service]) -> None:
    back_off(db, "sales1")
    session("admin").users.set_password("sales1", "Another-Horse-71")
    assert login(db, "sales1", "Another-Horse-71").user.username == "sales1"


def test_the_source_is_the_pinned_operator_without_sshd(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    source = throttle.source_from_env(operator="sales1")
    assert source == "operator:sales1"
    Service.login(db, "sales1", PASSWORD, failure_delay=0, source=source)
    details = db.conn.execute("SELECT details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert json.loads(details[0]) == {"source": "operator:sales1"}
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 52100 10.0.0.2 22")
    assert throttle.source_from_env(operator="sales1") == HERE
    monkeypatch.delenv("SSH_CONNECTION")
    assert throttle.source_from_env().startswith("local:")


def test_cli_user_list_shows_the_wait_and_unlock_ends_it(db: Database) -> None:
    back_off(db, "sales1")
    paths = ["--db", str(db.path), "--key-file", str(db.path.parent / "keys" / "crm.key")]
    listed = CliRunner().invoke(main, [*paths, "user", "list"])
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.output.splitlines() if x.startswith("sales1"))
    assert line.split()[2:6] == ["waiting", "4", "1", FOREVER[:19]]
    as_json = json.loads(CliRunner().invoke(main, [*paths, "user", "list", "--json"]).output)
    sales1 = next(u for u in as_json if u["username"] == "sales1")
    assert sales1["failed_attempts"] == 4 and sales1["waiting_until"].startswith("2999-")
    assert CliRunner().invoke(main, [*paths, "user", "unlock", "sales1"]).exit_code == 0
    line = next(
        x
        for x in CliRunner().invoke(main, [*paths, "user", "list"]).output.splitlines()
        if x.startswith("sales1")
    )
    assert line.split()[2:6] == ["active", "0", "0", "-"]
