"""User accounts: listing, adding, enabling, roles, unlocking, passwords (admins only).

The last active admin can be neither disabled nor demoted, so nobody is locked out of
administering the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from .. import throttle
from .. import validation as v
from ..i18n import LANGUAGES, _, normalise_language
from ..passwords import check_password_policy, hash_password
from ..roles import Action, Role
from .context import Context
from .errors import NotFound, ServiceError
from .models import UserInfo, UserRecord


def active_users(conn: Any, *, or_owning: bool = False) -> list[UserInfo]:
    """Active accounts; `or_owning`: and the disabled ones that still own customers."""
    owning = " OR EXISTS (SELECT 1 FROM customers c WHERE c.owner_id = u.id)" if or_owning else ""
    rows = conn.execute(
        "SELECT id, username, role, display_name FROM users u"
        f" WHERE active=1{owning} ORDER BY username"
    ).fetchall()
    return [UserInfo(r["id"], r["username"], Role(r["role"]), r["display_name"]) for r in rows]


class Users:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def list(self) -> list[UserRecord]:
        """Every account with its recent failed sign-ins (over every source) and, while a
        source must wait before trying again, until when."""
        self.context.require(Action.USERS)
        rows = self.db.conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        now = dt.datetime.now()
        records = []
        for r in rows:
            backoff = throttle.state(self.db.conn, self.db.keys, r["username"], now)
            waiting = backoff.waiting_until
            records.append(
                UserRecord(
                    id=r["id"],
                    username=r["username"],
                    display_name=r["display_name"],
                    role=r["role"],
                    active=bool(r["active"]),
                    failed_attempts=backoff.failures,
                    failure_sources=backoff.sources,
                    waiting_until=waiting.isoformat(timespec="seconds") if waiting else None,
                    last_login_at=r["last_login_at"],
                    created_at=r["created_at"],
                    language=r["language"] or "",
                )
            )
        return records

    def active(self) -> list[UserInfo]:
        """Who a customer can be assigned to (names only, for any signed-in user)."""
        return active_users(self.db.conn)

    def add(self, username: str, role: str, password: str, display_name: str = "") -> int:
        self.context.require(Action.USERS)
        name = v.clean_text(username)
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise v.ValidationError("username", _("use letters, digits, '.', '-' or '_'"))
        role_value = v.choice(role, "role", Role)
        check_password_policy(password, username=name, demo=self.db.meta("demo") == "1")
        with self.db.write() as tx:
            if tx.execute("SELECT 1 FROM users WHERE username=?", (name,)).fetchone():
                raise v.ValidationError("username", _("{name} already exists").format(name=name))
            cursor = tx.execute(
                "INSERT INTO users(username, display_name, role, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, v.clean_text(display_name), role_value, hash_password(password), v.now()),
            )
            self.context.audit(
                tx,
                "user.add",
                entity="user",
                entity_id=cursor.lastrowid,
                details={"username": name, "role": role_value},
            )
            return int(cursor.lastrowid or 0)

    def set_active(self, username: str, active: bool) -> None:
        self.context.require(Action.USERS)
        with self.db.write() as tx:
            row = _user_row(tx, username)
            if not active:
                _guard_last_admin(tx, row)
            tx.execute("UPDATE users SET active=? WHERE id=?", (int(active), row["id"]))
            self._audit(tx, "user.enable" if active else "user.disable", row)

    def set_role(self, username: str, role: str) -> None:
        self.context.require(Action.USERS)
        role_value = v.choice(role, "role", Role)
        with self.db.write() as tx:
            row = _user_row(tx, username)
            if role_value != Role.ADMIN:
                _guard_last_admin(tx, row)
            tx.execute("UPDATE users SET role=? WHERE id=?", (role_value, row["id"]))
            self._audit(tx, "user.role", row, fields={"role": [row["role"], role_value]})

    def unlock(self, username: str) -> None:
        """Forget the account's failed sign-ins from every source, so none has to wait."""
        self.context.require(Action.USERS)
        with self.db.write() as tx:
            row = _user_row(tx, username)
            cleared = throttle.clear(tx, self.db.keys, row["username"])
            self._audit(tx, "user.unlock", row, sources=cleared)

    def set_password(self, username: str, password: str) -> None:
        self.context.require(Action.USERS)
        check_password_policy(password, username=username, demo=self.db.meta("demo") == "1")
        with self.db.write() as tx:
            row = _user_row(tx, username)
            tx.execute(
                "UPDATE users SET password_hash=? WHERE id=?", (hash_password(password), row["id"])
            )
            throttle.clear(tx, self.db.keys, row["username"])
            self._audit(tx, "user.password", row)

    def set_language(self, language: str | None, username: str | None = None) -> str:
        """Remember a user's interface language (`zh_CN`, `en`); "" or None forgets it, so
        config.toml and the locale decide again. The signed-in user sets their own; naming
        another user needs the right to manage users. Returns the code stored ("" if none).
        """
        own = username is None or username == self.context.user.username
        if own and self.context.user.id is None:
            raise ServiceError(_("Name the user whose language to set."))
        if not own:
            self.context.require(Action.USERS)
        code = ""
        if language:
            code = normalise_language(language) or ""
            if not code:
                raise v.ValidationError("language", v.must_be_one_of(", ".join(LANGUAGES)))
        with self.db.write() as tx:
            row = _user_row(tx, self.context.user.username if own else username)
            tx.execute("UPDATE users SET language=? WHERE id=?", (code or None, row["id"]))
            self._audit(tx, "user.language", row, fields={"language": [row["language"], code]})
        if own:
            self.context.user = dataclasses.replace(self.context.user, language=code)
        return code

    def _audit(self, tx: Any, action: str, row: Any, **extra: Any) -> None:
        self.context.audit(
            tx,
            action,
            entity="user",
            entity_id=row["id"],
            details={"username": row["username"], **extra},
        )


def _user_row(tx: Any, username: str) -> Any:
    row = tx.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
    if row is None:
        raise NotFound(_("No user named {name}.").format(name=username))
    return row


def _guard_last_admin(tx: Any, row: Any) -> None:
    if row["role"] == Role.ADMIN and row["active"]:
        others = tx.execute(
            "SELECT COUNT(*) FROM users WHERE role='admin' AND active=1 AND id<>?",
            (row["id"],),
        ).fetchone()[0]
        if not others:
            raise ServiceError(_("That would leave no active admin; add another admin first."))
