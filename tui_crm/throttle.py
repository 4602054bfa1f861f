"""Sign-in back-off: slow a guesser down without letting anyone lock an account out.

Failures are counted per (typed name, source) — the source being where the attempt comes
from: the SSH client's address, the operator pinned by a forced command, or the local
user. After a few free failures each further one doubles the wait before that pair may try
again, up to a ceiling; every wait ends by itself, so nobody (the admin included) can be
locked out for good, and a guesser at one source never slows the real user at another.

Unknown names are counted exactly like real ones (a different answer or timing would tell
which names exist), and the name is stored only as a keyed hash: what someone typed into
the name box may be their password.

How the sign-in code uses it, in its write transaction:

    decision = check_attempt(conn, keys, name, source, now)
    ok = <verify the password: the real hash, or a dummy one for unknown/disabled names>
    if decision.allowed and ok and <the account is active>:
        record_success(conn, keys, name, source)
    else:
        if decision.allowed:
            decision = record_failure(conn, keys, name, source, now)
        <the same message and the same delay for every failure>
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from .crypto import KeyRing

SOURCE_LIMIT = 200


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 3  # per (name, source) before any wait
    first_wait_seconds: float = 2.0  # then doubled with each further failure
    longest_wait_seconds: float = 15 * 60  # the ceiling: every wait ends by itself
    forget_after_seconds: float = 24 * 3600  # a quiet pair starts afresh


POLICY = ThrottlePolicy()


@dataclass(frozen=True)
class Decision:
    """Whether an attempt may be checked now; if not, how long until it may."""

    allowed: bool
    failures: int
    retry_after_seconds: float = 0.0


def subject(keys: KeyRing, username: str) -> bytes:
    """The stored stand-in for a typed name: a keyed hash, case-insensitive like usernames."""
    digest = keys.blind_index("login", username.strip().casefold() or "\x00")
    assert digest is not None
    return digest


def source_from_env(
    environ: Mapping[str, str] | None = None, *, operator: str | None = None
) -> str:
    """Where a sign-in comes from: the SSH client's address (set by sshd, which a user of a
    forced command cannot change), else the operator a forced command pinned (the SSH key
    or sudo rule that started the app; the deployment's wrapper clears sshd's variables),
    else the local user id."""
    env = os.environ if environ is None else environ
    ssh = env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or ""
    if ssh.split():
        return f"ssh:{ssh.split()[0]}"
    if operator:
        return f"operator:{operator}"
    return f"local:{os.getuid()}"


def _wait(failures: int, policy: ThrottlePolicy) -> float:
    over = failures - policy.free_failures
    if over <= 0:
        return 0.0
    return min(policy.longest_wait_seconds, policy.first_wait_seconds * 2 ** min(over - 1, 30))


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _row(conn: sqlite3.Connection, key: bytes, source: str) -> tuple[int, str, str] | None:
    row = conn.execute(
        "SELECT failures, last_failure_at, blocked_until FROM login_throttle"
        " WHERE subject=? AND source=?",
        (key, source[:SOURCE_LIMIT]),
    ).fetchone()
    return (int(row[0]), str(row[1]), str(row[2])) if row else None


@dataclass(frozen=True)
class State:
    """A name's recent failures over every source, and the latest wait still running."""

    failures: int
    sources: int
    waiting_until: dt.datetime | None


def state(
    conn: sqlite3.Connection,
    keys: KeyRing,
    username: str,
    now: dt.datetime,
    policy: ThrottlePolicy = POLICY,
) -> State:
    """What an admin sees for an account: how many failures are remembered and, if some
    source must wait now, until when."""
    forget_before = _stamp(now - dt.timedelta(seconds=policy.forget_after_seconds))
    row = conn.execute(
        "SELECT COALESCE(SUM(failures), 0), COUNT(*), MAX(blocked_until) FROM login_throttle"
        " WHERE subject=? AND last_failure_at >= ?",
        (subject(keys, username), forget_before),
    ).fetchone()
    until = dt.datetime.fromisoformat(row[2]) if row[2] else None
    return State(int(row[0]), int(row[1]), until if until and until > now else None)


def check_attempt(
    conn: sqlite3.Connection,
    keys: KeyRing,
    username: str,
    source: str,
    now: dt.datetime,
    policy: ThrottlePolicy = POLICY,
) -> Decision:
    """May this (name, source) try a password now? Reads only; the same for any name."""
    found = _row(conn, subject(keys, username), source)
    if found is None:
        return Decision(True, 0)
    failures, last, blocked_until = found
    if (now - dt.datetime.fromisoformat(last)).total_seconds() > policy.forget_after_seconds:
        return Decision(True, 0)
    remaining = (dt.datetime.fromisoformat(blocked_until) - now).total_seconds()
    if remaining > 0:
        return Decision(False, failures, remaining)
    return Decision(True, failures)


def record_failure(
    conn: sqlite3.Connection,
    keys: KeyRing,
    username: str,
    source: str,
    now: dt.datetime,
    policy: ThrottlePolicy = POLICY,
) -> Decision:
    """Count a failed attempt (call inside the sign-in's write transaction); returns how long
    this (name, source) must now wait. Also forgets pairs quiet for `forget_after`."""
    key = subject(keys, username)
    found = _row(conn, key, source)
    stale = (
        found is not None
        and (now - dt.datetime.fromisoformat(found[1])).total_seconds()
        > policy.forget_after_seconds
    )
    failures = 1 if found is None or stale else found[0] + 1
    wait = _wait(failures, policy)
    conn.execute(
        "INSERT INTO login_throttle(subject, source, failures, last_failure_at, blocked_until)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(subject, source) DO UPDATE SET"
        " failures=excluded.failures, last_failure_at=excluded.last_failure_at,"
        " blocked_until=excluded.blocked_until",
        (
            key,
            source[:SOURCE_LIMIT],
            failures,
            _stamp(now),
            _stamp(now + dt.timedelta(seconds=wait)),
        ),
    )
    forget_before = now - dt.timedelta(seconds=policy.forget_after_seconds)
    conn.execute("DELETE FROM login_throttle WHERE last_failure_at < ?", (_stamp(forget_before),))
    return Decision(wait == 0, failures, wait)


def record_success(conn: sqlite3.Connection, keys: KeyRing, username: str, source: str) -> None:
    """A correct password from this source: its count starts afresh (other sources keep theirs)."""
    conn.execute(
        "DELETE FROM login_throttle WHERE subject=? AND source=?",
        (subject(keys, username), source[:SOURCE_LIMIT]),
    )


def clear(conn: sqlite3.Connection, keys: KeyRing, username: str) -> int:
    """An admin's `user unlock`: forget every source's failures for the name; returns how many."""
    cursor = conn.execute("DELETE FROM login_throttle WHERE subject=?", (subject(keys, username),))
    return cursor.rowcount
