"""Signing in, and the session that opens every domain of the service to one user.

`Service.login` checks a password (throttled, locked out after repeated failures, every
attempt audited); `Service.for_cli` is the command line's session. A session reaches each
domain as an attribute: `service.customers.update(...)`, `service.activity.add_followup`,
`service.users.add(...)`, and so on.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import time

from .. import audit
from .. import validation as v
from ..db import Database
from ..i18n import _
from ..passwords import check_password, dummy_hash
from ..roles import Role
from .activity import Activity
from .audit_log import AuditLog
from .backups import Backups
from .context import Context
from .customer_list import CustomerList
from .customers import Customers
from .due import DueLists
from .duplicates import Duplicates
from .errors import AuthError
from .imports import Imports
from .models import UserInfo
from .retention import Retention
from .tags import Tags
from .users import Users

LOCKOUT_AFTER = 5
LOCKOUT_MINUTES = 15


class Service(Context):
    """One signed-in user's session on a database, with a door per domain."""

    def __init__(self, db: Database, user: UserInfo, *, actor: str | None = None) -> None:
        super().__init__(db, user, actor=actor)
        self.customers = Customers(self)
        self.duplicates = Duplicates(self)
        self.customer_list = CustomerList(self)
        self.activity = Activity(self)
        self.due = DueLists(self)
        self.tags = Tags(self)
        self.users = Users(self)
        self.audit_log = AuditLog(self)
        self.backups = Backups(self)
        self.retention = Retention(self)
        self.imports = Imports(self)

    @classmethod
    def login(
        cls, db: Database, username: str, password: str, *, failure_delay: float = 1.0
    ) -> Service:
        """Check a password; throttle and lock out repeated failures; audit every attempt."""
        username = v.clean_text(username)
        now = v.now()
        with db.write() as tx:
            row = tx.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
            if row is None:
                check_password(password, dummy_hash())
                failure, reason = _("Wrong username or password."), "unknown user"
            elif not row["active"]:
                failure, reason = _("This account is disabled; ask an administrator."), "disabled"
            elif row["locked_until"] and row["locked_until"] > now:
                failure, reason = (
                    _(
                        "Too many failed attempts: this account is locked. "
                        "Try again later or ask an administrator to unlock it."
                    ),
                    "locked",
                )
            elif not check_password(password, row["password_hash"]):
                attempts = row["failed_attempts"] + 1
                locked_until = None
                if attempts >= LOCKOUT_AFTER:
                    locked_until = (
                        dt.datetime.now() + dt.timedelta(minutes=LOCKOUT_MINUTES)
                    ).isoformat(timespec="seconds")
                tx.execute(
                    "UPDATE users SET failed_attempts=?, locked_until=? WHERE id=?",
                    (attempts, locked_until, row["id"]),
                )
                failure = _("Wrong username or password.")
                reason = "bad password" + (", account locked" if locked_until else "")
            else:
                tx.execute(
                    "UPDATE users SET failed_attempts=0, locked_until=NULL, last_login_at=?"
                    " WHERE id=?",
                    (now, row["id"]),
                )
                audit.append(
                    tx,
                    db.keys,
                    at=now,
                    actor=row["username"],
                    action="login",
                    entity="user",
                    entity_id=row["id"],
                )
                user = UserInfo(
                    row["id"],
                    row["username"],
                    Role(row["role"]),
                    row["display_name"],
                    row["language"] or "",
                )
                return cls(db, user)
            audit.append(
                tx,
                db.keys,
                at=now,
                actor=username or "?",
                action="login.failed",
                entity="user",
                entity_id=row["id"] if row else None,
                details={"reason": reason},
            )
        if failure_delay:
            time.sleep(failure_delay)
        raise AuthError(failure)

    @classmethod
    def for_cli(cls, db: Database, os_user: str | None = None) -> Service:
        """The command line runs with the rights of whoever can read the key file."""
        name = os_user or os_identity()
        return cls(db, UserInfo(None, f"cli:{name}", Role.ADMIN), actor=f"cli:{name}")


def os_identity() -> str:
    """Who runs this process, from the kernel's uid rather than variables the caller sets.

    Under `sudo -u crm` (the SSH deployment) the invoking user is added from SUDO_USER,
    which sudo itself sets when it switches to the service account.
    """
    name = pwd.getpwuid(os.getuid()).pw_name
    invoker = os.environ.get("SUDO_USER")
    return f"{name}(sudo:{invoker})" if invoker and invoker != name else name
