"""`tui-crm doctor`: is this server's installation sound? One line per check, ok/warn/fail.

Meant to run as the service account that owns the database (from cron or a monitoring
system: any `fail` makes the command exit non-zero) and shown in the admin screen. It never
writes: the database is opened read-only, so checking cannot change what it checks.

Schedules come from the `[backup]` settings: `every_hours` (how often `backup scheduled`
runs) and `drill_every_days` (how often `backup drill` runs). A backup or drill is `ok`
within one and a half intervals, `warn` within three (a run or two was missed), `fail`
after that. Drills are read from the audit log (`backup.drill` entries, whose chain the
audit check verifies), so a drill run from the CLI, cron or the admin screen all count.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pwd
import re
import shlex
import shutil
import sqlite3
import stat
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from rich.cells import cell_len

from . import audit
from .backup import BackupStore, default_dir
from .config import Settings
from .crypto import KeyFileError, KeyRing, load_key_file
from .i18n import N_, _, ngettext, pgettext
from .i18n.formats import pad

WRAPPER_NAME = "tui-crm-ssh"
NO_LOGIN_SHELLS = ("nologin", "false")
# An interrupted job leaves these behind (see backup.py); younger ones may be a job that is
# still running, so they only warn.
RESIDUE_PATTERNS = (".snapshot-*", ".restore-*", ".*.restoring")
BACKUP_RESIDUE_PATTERNS = ("*.bak.part", "*.json.part")
RESIDUE_GRACE = dt.timedelta(hours=1)
KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
# Options that switch back on what `restrict` switched off.
LOOSENING_OPTIONS = ("port-forwarding", "agent-forwarding", "x11-forwarding", "user-rc")


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"

    def label(self) -> str:
        """The verdict as the text report writes it, in the active language."""
        return {
            Status.OK: pgettext("doctor verdict", "ok"),
            Status.WARN: pgettext("doctor verdict", "warn"),
            Status.FAIL: pgettext("doctor verdict", "fail"),
        }[self]


# Each check's display name; `Check.name` stays this English name (the JSON's key, which a
# monitoring system matches on), the text report shows it translated.
CHECK_NAMES = (
    N_("database file"),
    N_("key file"),
    N_("key matches database"),
    N_("database"),
    N_("audit chain"),
    N_("newest backup"),
    N_("newest drill"),
    N_("disk space"),
    N_("residue"),
    N_("service account"),
)


@dataclass(frozen=True)
class Check:
    """One verdict: what was checked, how it stands, and one line saying why (in the active
    language)."""

    name: str
    status: Status
    message: str

    def label(self) -> str:
        """The check's name as the text report shows it (`authorized_keys` is a file name)."""
        return _(self.name) if self.name in CHECK_NAMES else self.name


def run_checks(
    db_path: Path,
    key_path: Path,
    settings: Settings,
    *,
    backup_dir: Path | None = None,
    authorized_keys: Sequence[Path] | None = None,
    account: pwd.struct_passwd | None = None,
    now: dt.datetime | None = None,
) -> list[Check]:
    """Every check, in a fixed order.

    `account` is the service account (default: the user running this process, which is
    how the doctor is meant to run); `authorized_keys` defaults to the configured keys file
    plus `~/.ssh/authorized_keys` of the account when it exists.
    """
    account = account or pwd.getpwuid(os.geteuid())
    now = now or dt.datetime.now()
    backups = backup_dir or default_dir(db_path, settings)
    checks = [
        _file_check("database file", db_path, account, with_sqlite_files=True),
        _file_check("key file", key_path, account),
    ]
    keys, key_check = _key_check(db_path, key_path)
    checks.append(key_check)
    conn = _open_read_only(db_path) if keys is not None else None
    try:
        checks += _database_checks(conn, keys, backups, settings, now)
    finally:
        if conn is not None:
            conn.close()
    checks.append(_disk_check(db_path, backups))
    checks.append(_residue_check(db_path.parent, backups, now))
    checks.append(_account_check(account))
    if authorized_keys is None:
        own = Path(account.pw_dir) / ".ssh" / "authorized_keys"
        authorized_keys = [Path(settings.authorized_keys), *([own] if own.exists() else [])]
    known_users = _usernames(db_path) if keys is not None else None
    checks += [
        _authorized_keys_check(
            "authorized_keys" if n == 0 else f"authorized_keys {n + 1}", path, known_users
        )
        for n, path in enumerate(authorized_keys)
    ]
    return checks


def failed(checks: Sequence[Check]) -> bool:
    """What the command's exit status reports: any check that failed."""
    return any(c.status is Status.FAIL for c in checks)


def format_checks(checks: Sequence[Check]) -> str:
    """One line per check, for a terminal or a cron mail."""
    verdicts = max(cell_len(status.label()) for status in Status)
    width = max((cell_len(c.label()) for c in checks), default=0)
    return "\n".join(
        f"{pad(c.status.label(), verdicts)}  {pad(c.label(), width)}  {c.message}" for c in checks
    )


def checks_json(checks: Sequence[Check]) -> str:
    return json.dumps([asdict(c) for c in checks], ensure_ascii=False, indent=2)


# --- files and keys --------------------------------------------------------------------------


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _file_check(
    name: str, path: Path, account: pwd.struct_passwd, *, with_sqlite_files: bool = False
) -> Check:
    """Owned by the service account, readable and writable by it alone (0600 or tighter)."""
    paths = [path]
    if with_sqlite_files:
        paths += [Path(f"{path}-wal"), Path(f"{path}-shm")]
    problems = []
    for each in paths:
        try:
            info = each.lstat()
        except FileNotFoundError:
            if each == path:
                return Check(name, Status.FAIL, _("{path} does not exist").format(path=path))
            continue
        if not stat.S_ISREG(info.st_mode):
            problems.append(_("{file} is not a regular file").format(file=each.name))
            continue
        if info.st_uid != account.pw_uid:
            owned = _("{file} is owned by {owner}, not {account} (chown {account} {path})")
            problems.append(
                owned.format(
                    file=each.name,
                    owner=_owner_name(info.st_uid),
                    account=account.pw_name,
                    path=each,
                )
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o177:
            loose = _("{file} has mode {mode}, not 0600 (chmod 600 {path})")
            problems.append(loose.format(file=each.name, mode=f"{mode:04o}", path=each))
    if problems:
        return Check(name, Status.FAIL, _join(problems))
    sound = _("{path}: owned by {account}, mode 0600").format(path=path, account=account.pw_name)
    return Check(name, Status.OK, sound)


def _key_check(db_path: Path, key_path: Path) -> tuple[KeyRing | None, Check]:
    """The key file loads and is the database's own key (by the check value in `meta`)."""
    name = "key matches database"
    try:
        keys = load_key_file(key_path)
    except KeyFileError as exc:
        return None, Check(name, Status.FAIL, str(exc))
    if not db_path.exists():
        missing = _("database {path} does not exist").format(path=db_path)
        return None, Check(name, Status.FAIL, missing)
    conn = _open_read_only(db_path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='key_check'").fetchone()
    except sqlite3.DatabaseError as exc:
        foreign = _("{path} is not a tui-crm database ({error})").format(path=db_path, error=exc)
        return None, Check(name, Status.FAIL, foreign)
    finally:
        conn.close()
    if row is None or row[0] != keys.check_value():
        wrong = _("{key} is not the key of {path}").format(key=key_path, path=db_path)
        return None, Check(name, Status.FAIL, wrong)
    return keys, Check(name, Status.OK, _("{key} opens {path}").format(key=key_path, path=db_path))


def _open_read_only(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _usernames(db_path: Path) -> set[str] | None:
    conn = _open_read_only(db_path)
    try:
        return {row[0].casefold() for row in conn.execute("SELECT username FROM users")}
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


# --- the database, its audit chain, backups and drills -------------------------------------


def _database_checks(
    conn: sqlite3.Connection | None,
    keys: KeyRing | None,
    backups: Path,
    settings: Settings,
    now: dt.datetime,
) -> list[Check]:
    judged: dict[str, Callable[[sqlite3.Connection, KeyRing], Check]] = {
        "database": lambda c, k: _integrity_check(c),
        "audit chain": lambda c, k: _audit_check(c, k, backups),
        "newest backup": lambda c, k: _backup_check(c, k, backups, settings, now),
        "newest drill": lambda c, k: _drill_check(c, k, settings, now),
    }
    if conn is None or keys is None:
        unchecked = _("not checked: the key file does not open it")
        return [Check(n, Status.WARN, unchecked) for n in judged]
    out = []
    for name, check in judged.items():
        try:
            out.append(check(conn, keys))
        except sqlite3.DatabaseError as exc:
            unreadable = _("cannot read the database: {error}").format(error=exc)
            out.append(Check(name, Status.FAIL, unreadable))
    return out


def _integrity_check(conn: sqlite3.Connection) -> Check:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    result = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if result != ["ok"]:
        found = _("quick_check: {problems}").format(problems=_join(result[:3]))
        return Check("database", Status.FAIL, found)
    if journal.lower() != "wal":
        other = _("journal mode is {mode}, not wal; quick_check ok").format(mode=journal)
        return Check("database", Status.WARN, other)
    return Check("database", Status.OK, _("WAL mode, quick_check ok"))


def _audit_check(conn: sqlite3.Connection, keys: KeyRing, backups: Path) -> Check:
    """The chain, its signed head and, as `audit verify` does, the heads the backup manifests
    recorded (a log cut back under an older authentic head shows only against those)."""
    try:
        anchors = BackupStore(backups, keys).recorded_heads()[0]
    except OSError:
        anchors = []  # the backup checks below say what is wrong with the directory
    result = audit.verify(conn, keys, anchors=anchors)
    return Check("audit chain", Status.OK if result.ok else Status.FAIL, result.describe())


def _database_age(conn: sqlite3.Connection, now: dt.datetime) -> dt.timedelta | None:
    """How long this database has existed (its first audit entry is its `init`)."""
    row = conn.execute("SELECT at FROM audit_log ORDER BY id LIMIT 1").fetchone()
    return now - dt.datetime.fromisoformat(row[0]) if row else None


def _age_verdict(
    name: str,
    what: str,
    when: dt.datetime | None,
    interval: dt.timedelta,
    db_age: dt.timedelta | None,
    now: dt.datetime,
) -> Check:
    """`what` names the backup or drill (a translated phrase) in each sentence below."""
    every = _span(interval)
    if when is None:
        if db_age is not None and db_age < interval * 1.5:
            new = _("no {what} yet (the database is new)").format(what=what)
            return Check(name, Status.WARN, new)
        none = _("no {what} at all (expected every {interval})")
        return Check(name, Status.FAIL, none.format(what=what, interval=every))
    age = now - when
    text = _("{what} {age} ago, on {when} (expected every {interval})").format(
        what=what, age=_span(age), when=f"{when:%Y-%m-%d %H:%M}", interval=every
    )
    if age <= interval * 1.5:
        return Check(name, Status.OK, text)
    return Check(name, Status.WARN if age <= interval * 3 else Status.FAIL, text)


def _span(delta: dt.timedelta) -> str:
    hours = max(0, round(delta.total_seconds() / 3600))
    if hours < 72:
        return _("{hours} h").format(hours=hours)
    days = round(hours / 24)
    return ngettext("{days} day", "{days} days", days).format(days=days)


def _backup_check(
    conn: sqlite3.Connection,
    keys: KeyRing,
    backups: Path,
    settings: Settings,
    now: dt.datetime,
) -> Check:
    latest = BackupStore(backups, keys).latest() if backups.is_dir() else None
    when = dt.datetime.fromisoformat(latest.created_at) if latest else None
    if latest:
        what = _("backup {id}").format(id=latest.id)
    else:
        what = _("backup in {folder}").format(folder=backups)
    interval = dt.timedelta(hours=settings.backup_every_hours)
    return _age_verdict("newest backup", what, when, interval, _database_age(conn, now), now)


def _drill_entries(conn: sqlite3.Connection, keys: KeyRing) -> Iterator[audit.AuditEntry]:
    """`backup.drill` audit entries, newest first, a page at a time."""
    before: int | None = None
    while True:
        page = audit.query(
            conn, keys, audit.AuditFilter(action="backup.drill"), before_id=before, limit=50
        )
        yield from page
        if len(page) < 50:
            return
        before = page[-1].id


def _drill_check(
    conn: sqlite3.Connection, keys: KeyRing, settings: Settings, now: dt.datetime
) -> Check:
    interval = dt.timedelta(days=settings.drill_every_days)
    db_age = _database_age(conn, now)
    newest_failed = None
    for entry in _drill_entries(conn, keys):
        if entry.details.get("ok") is not True:
            newest_failed = newest_failed or entry
            continue
        when = dt.datetime.fromisoformat(entry.at)
        what = _("drill of {backup}").format(backup=entry.details.get("backup"))
        check = _age_verdict("newest drill", what, when, interval, db_age, now)
        if newest_failed is not None:
            problems = _join(newest_failed.details.get("problems") or []) or _("see audit log")
            failed_drill = _("the drill on {when} FAILED ({problems}); last passing: {passing}")
            return Check(
                "newest drill",
                Status.FAIL,
                failed_drill.format(
                    when=newest_failed.at, problems=problems, passing=check.message
                ),
            )
        return check
    if newest_failed is not None:
        none_passed = _("no drill has passed; the last, on {when}, failed")
        return Check("newest drill", Status.FAIL, none_passed.format(when=newest_failed.at))
    return _age_verdict("newest drill", _("drill"), None, interval, db_age, now)


# --- the machine ------------------------------------------------------------------------------


def _disk_check(db_path: Path, backups: Path) -> Check:
    """A full backup needs a snapshot beside the database and about as much again in the
    backup directory; a restore needs two copies. Below one copy's room, none can run."""
    size = sum(p.stat().st_size for p in (db_path, Path(f"{db_path}-wal")) if p.exists())
    places = [p.resolve() for p in (db_path.parent, backups) if p.is_dir()]
    if not places:
        missing = _("{path} does not exist").format(path=db_path.parent)
        return Check("disk space", Status.FAIL, missing)
    free, place = min((shutil.disk_usage(p).free, p) for p in places)
    room = {"free": _bytes(free), "place": place, "size": _bytes(size)}
    if free < size:
        text = _("{free} free at {place}; database {size} (no room for one backup)")
        return Check("disk space", Status.FAIL, text.format(**room))
    if free < 3 * size:
        text = _("{free} free at {place}; database {size} (under 3x the database)")
        return Check("disk space", Status.WARN, text.format(**room))
    text = _("{free} free at {place}; database {size}")
    return Check("disk space", Status.OK, text.format(**room))


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _residue_check(db_dir: Path, backups: Path, now: dt.datetime) -> Check:
    found = [p for pattern in RESIDUE_PATTERNS for p in db_dir.glob(pattern)]
    if backups.is_dir():
        found += [p for pattern in BACKUP_RESIDUE_PATTERNS for p in backups.glob(pattern)]
    if not found:
        return Check("residue", Status.OK, _("no leftovers of interrupted backups or restores"))
    stale = [p for p in found if now - dt.datetime.fromtimestamp(p.stat().st_mtime) > RESIDUE_GRACE]
    names = ", ".join(str(p) for p in sorted(stale or found))
    if stale:
        stale_text = _("left by an interrupted backup or restore: {paths} (rm -r)")
        return Check("residue", Status.FAIL, stale_text.format(paths=names))
    running = _("a backup or restore may be running: {paths}").format(paths=names)
    return Check("residue", Status.WARN, running)


def _account_check(account: pwd.struct_passwd) -> Check:
    """sshd runs a forced command through the account's shell, so it must be a real one;
    the home must not be writable by the account, or anything running as it (the app
    included) could plant `~/.ssh/rc` or `~/.pam_environment` for the next login."""
    name = "service account"
    shell = Path(account.pw_shell or "/bin/sh")
    if shell.name in NO_LOGIN_SHELLS:
        no_login = _(
            "{account}'s shell is {shell}: sshd cannot run the forced command"
            " (usermod -s /bin/sh {account})"
        )
        return Check(name, Status.FAIL, no_login.format(account=account.pw_name, shell=shell))
    if not os.access(shell, os.X_OK):
        stuck = _("{account}'s shell {shell} is not executable")
        return Check(name, Status.FAIL, stuck.format(account=account.pw_name, shell=shell))
    home = Path(account.pw_dir)
    where = {"account": account.pw_name, "shell": shell, "home": home}
    try:
        info = home.stat()
    except FileNotFoundError:
        absent = _("{account}: shell {shell}, home {home} absent").format(**where)
        return Check(name, Status.OK, absent)
    own_writable = info.st_uid == account.pw_uid and info.st_mode & stat.S_IWUSR
    if own_writable or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        open_home = _("{account}'s home {home} is writable by it (make it root-owned, 0755)")
        return Check(name, Status.WARN, open_home.format(**where))
    sound = _("{account}: shell {shell}, home {home} not writable").format(**where)
    return Check(name, Status.OK, sound)


# --- authorized_keys --------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyLine:
    """One parsed `authorized_keys` line: its options and the key it holds."""

    number: int
    options: dict[str, str | None]
    key_type: str
    blob: str


OPTION_RE = re.compile(r'([A-Za-z0-9-]+)(?:="((?:[^"\\]|\\.)*)")?')


def parse_authorized_keys(text: str) -> tuple[list[KeyLine], list[str]]:
    """The key lines of a file and the problems of lines that are not keys at all."""
    lines, problems = [], []
    for number, raw in enumerate(text.split("\n"), 1):  # as sshd reads it: by newline only
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parsed = _parse_key_line(number, line)
        if isinstance(parsed, str):
            problems.append(_("line {number}: {problem}").format(number=number, problem=parsed))
        else:
            lines.append(parsed)
    return lines, problems


def _is_key_type(word: str) -> bool:
    return word in KEY_TYPES or word.endswith("-cert-v01@openssh.com")


def _parse_key_line(number: int, line: str) -> KeyLine | str:
    """Options (`name` or `name="value"`, comma-separated, no spaces outside quotes), then
    the key type and its base64 data, whose embedded type must match."""
    options: dict[str, str | None] = {}
    rest = line
    if not _is_key_type(line.split(None, 1)[0]):
        position = 0
        while True:
            match = OPTION_RE.match(line, position)
            if match is None or match.end() == position:
                return _("unreadable options")
            value = match.group(2)
            options[match.group(1).lower()] = None if value is None else value.replace('\\"', '"')
            position = match.end()
            if line[position : position + 1] != ",":
                break
            position += 1
        rest = line[position:]
        if not rest[:1].isspace():
            return _("unreadable options")
    fields = rest.split()
    if len(fields) < 2:
        return _("no key")
    key_type, blob = fields[0], fields[1]
    if not _is_key_type(key_type):
        return _("unknown key type {type}").format(type=repr(key_type))
    try:
        raw = base64.b64decode(blob, validate=True)
        (length,) = struct.unpack(">I", raw[:4])
        embedded = raw[4 : 4 + length].decode()
    except (ValueError, struct.error, UnicodeDecodeError):
        return _("the key is not valid base64 key data")
    if embedded != key_type:
        mismatch = _("the key data is a {data} key, the line says {type}")
        return mismatch.format(data=repr(embedded), type=repr(key_type))
    return KeyLine(number, options, key_type, blob)


def _key_line_problems(line: KeyLine, known_users: set[str] | None) -> list[str]:
    found = []
    if "restrict" not in line.options:
        found.append(_("no `restrict`"))
    loosened = [o for o in LOOSENING_OPTIONS if o in line.options]
    if loosened:
        found.append(_("{options} undoes `restrict`").format(options=", ".join(loosened)))
    if "environment" in line.options:
        found.append(_("environment= lets the key set variables"))
    command = line.options.get("command")
    words: list[str] | None = None
    if not command:
        found.append(_("no forced command (the key would get a shell)"))
    else:
        try:
            words = shlex.split(command)
        except ValueError:
            found.append(_("the forced command is not readable"))
    if words is not None and (len(words) != 2 or Path(words[0]).name != WRAPPER_NAME):
        wrapper = f"{WRAPPER_NAME} OPERATOR"
        found.append(_("the forced command is not `{wrapper}`").format(wrapper=wrapper))
    elif words is not None and known_users is not None and words[1].casefold() not in known_users:
        stranger = _("operator {name} is not a tui-crm user").format(name=repr(words[1]))
        found.append(stranger)
    line_problem = _("line {number}: {problem}")
    return [line_problem.format(number=line.number, problem=each) for each in found]


def _authorized_keys_check(name: str, path: Path, known_users: set[str] | None) -> Check:
    try:
        info = path.stat()
        text = path.read_bytes().decode(errors="replace")  # no newline translation
    except FileNotFoundError:
        absent = _("{path} absent: no operator can log in over SSH").format(path=path)
        return Check(name, Status.WARN, absent)
    except OSError as exc:
        unreadable = _("{path} unreadable: {error}").format(path=path, error=exc.strerror)
        return Check(name, Status.FAIL, unreadable)
    problems = []
    if info.st_uid != 0:
        owner = _owner_name(info.st_uid)
        problems.append(
            _("owned by {owner}, who could add keys; only root should (chown root)").format(
                owner=owner
            )
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problems.append(_("writable by group or others (chmod 644)"))
    lines, malformed = parse_authorized_keys(text)
    problems += malformed
    for line in lines:
        problems += _key_line_problems(line, known_users)
    if problems:
        listed = _("{path}: {problems}").format(path=path, problems=_join(problems))
        return Check(name, Status.FAIL, listed)
    sound = _("{path}: {count} key(s), each forced to the app with `restrict`")
    return Check(name, Status.OK, sound.format(path=path, count=len(lines)))


def _join(problems: Sequence[str]) -> str:
    """Several problems on the one line a check has."""
    return pgettext("separator", "; ").join(problems)
