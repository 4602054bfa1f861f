"""User accounts: listing, adding, enabling, roles, unlocking, passwords (admins only).

The last active admin can be neither disabled nor demoted, so nobody is locked out of
administering the database.
"""

from __future__ import annotations

from typing import Any

from .. import validation as v
from ..passwords import check_password_policy, hash_password
from ..roles import Action, Role
from .context import Context
from .errors import NotFound, ServiceError
from .models import UserInfo, UserRecord


def active_users(conn: Any) -> list[UserInfo]:
    rows = conn.execute(
        "SELECT id, username, role, display_name FROM users WHERE active=1 ORDER BY username"
    ).fetchall()
    return [UserInfo(r["id"], r["username"], Role(r["role"]), r["display_name"]) for r in rows]


class Users:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def list(self) -> list[UserRecord]:
        self.context.require(Action.USERS)
        rows = self.db.conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        return [
            UserRecord(
                id=r["id"],
                username=r["username"],
                display_name=r["display_name"],
                role=r["role"],
                active=bool(r["active"]),
                failed_attempts=r["failed_attempts"],
                locked_until=r["locked_until"],
                last_login_at=r["last_login_at"],
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def active(self) -> list[UserInfo]:
        """Who a customer can be assigned to (names only, for any signed-in user)."""
        return active_users(self.db.conn)

    def add(self, username: str, role: str, password: str, display_name: str = "") -> int:
        self.context.require(Action.USERS)
        name = v.clean_text(username)
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise v.ValidationError("username", "use letters, digits, '.', '-' or '_'")
        role_value = v.choice(role, "role", Role)
        check_password_policy(password, username=name, demo=self.db.meta("demo") == "1")
        with self.db.write() as tx:
            if tx.execute("SELECT 1 FROM users WHERE username=?", (name,)).fetchone():
                raise v.ValidationError("username", f"{name} already exists")
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
        self.context.require(Action.USERS)
        with self.db.write() as tx:
            row = _user_row(tx, username)
            tx.execute(
                "UPDATE users SET failed_attempts=0, locked_until=NULL WHERE id=?", (row["id"],)
            )
            self._audit(tx, "user.unlock", row)

    def set_password(self, username: str, password: str) -> None:
        self.context.require(Action.USERS)
        check_password_policy(password, username=username, demo=self.db.meta("demo") == "1")
        with self.db.write() as tx:
            row = _user_row(tx, username)
            tx.execute(
                "UPDATE users SET password_hash=?, failed_attempts=0, locked_until=NULL WHERE id=?",
                (hash_password(password), row["id"]),
            )
            self._audit(tx, "user.password", row)

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
        raise NotFound(f"No user named {username}.")
    return row


def _guard_last_admin(tx: Any, row: Any) -> None:
    if row["role"] == Role.ADMIN and row["active"]:
        others = tx.execute(
            "SELECT COUNT(*) FROM users WHERE role='admin' AND active=1 AND id<>?",
            (row["id"],),
        ).fetchone()[0]
        if not others:
            raise ServiceError("That would leave no active admin; add another admin first.")
