"""What every domain of the service shares: the signed-in user, permission checks, audit.

Each domain module (customers, activity, users, ...) holds a `Context` and asks it
`require(action, owner_id)` before it reads or writes, and `audit(tx, ...)` inside the
same transaction as the change. The permission matrix itself is data in `roles.py`.
"""

from __future__ import annotations

from typing import Any

from .. import audit
from .. import validation as v
from ..config import Settings
from ..db import Database
from ..i18n import _, choose_language
from ..labels import label
from ..roles import Action, Scope, allows, scope_of
from .errors import PermissionDenied
from .models import Customer, UserInfo

UNSET: Any = object()


class Context:
    """One signed-in user on a database: identity, permission checks and the audit hook."""

    def __init__(self, db: Database, user: UserInfo, *, actor: str | None = None) -> None:
        self.db = db
        self.user = user
        self.actor = actor or user.username

    def can(self, action: Action, customer: Customer | None = None) -> bool:
        owns = customer is None or customer.owner_id == self.user.id
        return allows(self.user.role, action, owns=owns)

    def require(self, action: Action, owner_id: Any = UNSET) -> Scope:
        """The scope the user holds `action` in; refused if none, or if `owner_id` is given
        and the scope is OWN but the row belongs to someone else."""
        scope = scope_of(self.user.role, action)
        if scope is None:
            raise PermissionDenied(
                _("A {role} may not {action}.").format(
                    role=label("role", self.user.role), action=describe(action)
                )
            )
        if scope is Scope.OWN and owner_id is not UNSET and owner_id != self.user.id:
            raise PermissionDenied(
                _("You may {action} only for your own customers.").format(action=describe(action))
            )
        return scope

    def language(self, settings: Settings | None = None) -> str:
        """The language this session speaks: the user's remembered choice, else config.toml's
        `[ui] language`, else the locale, else English (see `i18n.choose_language`)."""
        configured = (settings or Settings.load()).language
        return choose_language(user=self.user.language, configured=configured)

    def owner_scope(self) -> int | None:
        """The owner every customer read must have, or None when the role sees all."""
        scope = self.require(Action.CUSTOMER_READ)
        return self.user.id if scope is Scope.OWN else None

    def audit(self, tx: Any, action: str, **kwargs: Any) -> None:
        """Append an entry inside the caller's transaction; a customer's details are sealed."""
        sealed = bool(kwargs.get("customer_code"))
        audit.append(
            tx, self.db.keys, at=v.now(), actor=self.actor, action=action, sealed=sealed, **kwargs
        )

    def record(self, action: str, details: dict[str, Any] | None = None) -> None:
        """Audit an event that changes no row (an export, a backup, a restore drill)."""
        with self.db.write() as tx:
            self.audit(tx, action, details=details or {})


def describe(action: Action) -> str:
    """What an action lets a user do, as the end of "A sales may not ..."."""
    return {
        Action.CUSTOMER_READ: _("see this customer"),
        Action.CUSTOMER_CREATE: _("create customers"),
        Action.CUSTOMER_UPDATE: _("edit a customer's base information"),
        Action.CUSTOMER_REASSIGN: _("change a customer's owner"),
        Action.LEGAL_HOLD: _("set or clear a legal hold"),
        Action.FOLLOWUP_ADD: _("log follow-ups"),
        Action.INTERACTION_ADD: _("log interactions"),
        Action.TAG_EDIT: _("change tags"),
        Action.REVEAL: _("reveal masked contact data"),
        Action.CUSTOMER_MERGE: _("merge customers"),
        Action.EXPORT: _("export data"),
        Action.ANALYTICS: _("see analytics"),
        Action.VERIFICATION: _("draw or review the verification sample"),
        Action.USERS: _("manage users"),
        Action.AUDIT: _("read the audit log"),
        Action.BACKUP: _("run backups"),
        Action.PURGE: _("purge customers"),
        Action.CONFIG: _("change the configuration"),
        Action.IMPORT: _("import customers from files"),
        Action.QUALITY_REPORT: _("see the cleaning report"),
    }.get(action, action.value)
