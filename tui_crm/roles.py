"""Roles, the permission matrix and row scopes, as data.

A permission is granted either on every customer (`ALL`) or only on the customers the user
owns (`OWN`); the service layer applies the scope in SQL, so nothing outside it is read.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    SERVICE = "service"


class Action(StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_REASSIGN = "customer.reassign"
    CUSTOMER_MERGE = "customer.merge"  # both customers must be in scope (merge.py)
    LEGAL_HOLD = "customer.legal_hold"
    FOLLOWUP_ADD = "followup.add"
    INTERACTION_ADD = "interaction.add"
    TAG_EDIT = "tag.edit"
    REVEAL = "reveal"
    EXPORT = "export"
    ANALYTICS = "analytics"
    VERIFICATION = "verification.manage"  # draw the monthly sample, read its report
    USERS = "users.manage"
    AUDIT = "audit.read"
    BACKUP = "backup"
    PURGE = "purge"
    CONFIG = "config"
    IMPORT = "import"
    QUALITY_REPORT = "quality.report"  # the cleaning report over the whole base or a run


class Scope(StrEnum):
    ALL = "all"
    OWN = "own"


_A, _O = Scope.ALL, Scope.OWN

PERMISSIONS: dict[Role, dict[Action, Scope]] = {
    Role.ADMIN: {action: _A for action in Action},
    Role.MANAGER: {
        Action.CUSTOMER_READ: _A,
        Action.CUSTOMER_CREATE: _A,
        Action.CUSTOMER_UPDATE: _A,
        Action.CUSTOMER_REASSIGN: _A,
        Action.CUSTOMER_MERGE: _A,
        Action.FOLLOWUP_ADD: _A,
        Action.INTERACTION_ADD: _A,
        Action.TAG_EDIT: _A,
        Action.REVEAL: _A,
        Action.EXPORT: _A,
        Action.ANALYTICS: _A,
        Action.IMPORT: _A,
        Action.QUALITY_REPORT: _A,
    },
    Role.SALES: {
        Action.CUSTOMER_READ: _O,
        Action.CUSTOMER_CREATE: _O,
        Action.CUSTOMER_UPDATE: _O,
        Action.CUSTOMER_MERGE: _O,
        Action.FOLLOWUP_ADD: _O,
        Action.INTERACTION_ADD: _O,
        Action.TAG_EDIT: _O,
        Action.REVEAL: _O,
        Action.ANALYTICS: _O,
    },
    Role.SERVICE: {
        Action.CUSTOMER_READ: _A,
        Action.CUSTOMER_CREATE: _A,
        Action.FOLLOWUP_ADD: _A,
        Action.INTERACTION_ADD: _A,
        Action.TAG_EDIT: _A,
    },
}


def scope_of(role: Role | str, action: Action) -> Scope | None:
    """The scope in which `role` may do `action`, or None when it may not at all."""
    return PERMISSIONS[Role(role)].get(action)


def allows(role: Role | str, action: Action, *, owns: bool = True) -> bool:
    scope = scope_of(role, action)
    return scope is Scope.ALL or (scope is Scope.OWN and owns)
