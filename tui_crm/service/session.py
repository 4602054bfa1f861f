"""Signing in, and the session that opens every domain of the service to one user.

`Service.login` checks a password (repeated failures back off per name and source, every
attempt audited); `Service.for_cli` is the command line's session. A session reaches each
domain as an attribute: `service.customers.update(...)`, `service.activity.add_followup`,
`service.users.add(...)`, `service.exports.customers(...)`, and so on.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import time
from typing import Any

from .. import audit, throttle
from .. import validation as v
from ..db import Database
from ..i18n import N_, _
from ..passwords import check_password, dummy_hash
from ..roles import Role
from .activity import Activity
from .analytics import Analytics
from .audit_log import AuditLog
from .backups import Backups
from .cleaning import Cleaning
from .context import Context
from .customer_list import CustomerList
from .customers import Customers
from .due import DueLists
from .duplicates import Duplicates
from .errors import AuthError
from .exports import Exports
from .imports import Imports
from .models import UserInfo
from .retention import Retention
from .tags import Tags
from .users import Users
from .verification import Verification

LOGIN_FAILED = N_("Wrong username or password, or too many attempts: wait a moment and try again.")
# Who a failed login is recorded as when the typed name is no user.
UNKNOWN_USER = "(unknown user)"


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
        self.analytics = Analytics(self)
        self.verification = Verification(self)
        self.imports = Imports(self)
        self.cleaning = Cleaning(self)
        self.exports = Exports(self)

    @classmethod
    def login(
        cls,
        db: Database,
        username: str,
        password: str,
        *,
        failure_delay: float = 1.0,
        source: str | None = None,
    ) -> Service:
        """Check a password; audit every attempt; back off repeated failures per (name,
        source) (see `throttle`); `source` defaults to where this process was started from.

        Every failure (unknown name, disabled account, a source that must wait, wrong
        password) costs one Argon2 check, counts toward the back-off, waits `failure_delay`
        and answers `LOGIN_FAILED`, so no answer tells whether a name exists or why it
        failed; the audit entry tells admins why. A name that is no user is not stored (it
        may be a password typed into the wrong box).
        """
        username = v.clean_text(username)
        source = source or throttle.source_from_env()
        moment = dt.datetime.now()
        dummy = dummy_hash()  # made before the first check, so no first attempt costs more
        with db.write() as tx:
            row = tx.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
            decision = throttle.check_attempt(tx, db.keys, username, source, moment)
            matches = check_password(password, row["password_hash"] if row else dummy)
            reason = _failure(row, decision, matches)
            if row is not None and reason is None:
                throttle.record_success(tx, db.keys, username, source)
                tx.execute(
                    "UPDATE users SET last_login_at=? WHERE id=?", (_stamp(moment), row["id"])
                )
                audit.append(
                    tx,
                    db.keys,
                    at=_stamp(moment),
                    actor=row["username"],
                    action="login",
                    entity="user",
                    entity_id=row["id"],
                    details={"source": source},
                )
                user = UserInfo(
                    row["id"],
                    row["username"],
                    Role(row["role"]),
                    row["display_name"],
                    row["language"] or "",
                )
                return cls(db, user)
            if decision.allowed:
                decision = throttle.record_failure(tx, db.keys, username, source, moment)
            details: dict[str, object] = {"reason": reason, "source": source}
            if decision.retry_after_seconds:
                details["retry_after_seconds"] = round(decision.retry_after_seconds)
            audit.append(
                tx,
                db.keys,
                at=_stamp(moment),
                actor=row["username"] if row else UNKNOWN_USER,
                action="login.failed",
                entity="user",
                entity_id=row["id"] if row else None,
                details=details,
            )
        if failure_delay:
            time.sleep(failure_delay)
        raise AuthError(_(LOGIN_FAILED))

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


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _failure(row: Any, decision: throttle.Decision, matches: bool) -> str | None:
    """Why a sign-in fails, for the audit entry only (the user is told `LOGIN_FAILED`)."""
    if row is None:
        return "unknown user"
    if not decision.allowed:
        return "too many failures from this source: waiting"
    if not matches:
        return "bad password"
    if not row["active"]:
        return "disabled"
    return None
