"""Every public service method, called as each role on a customer that role may not see or
touch, is refused and hands back nothing of that customer (issue 9, item 2).

The table must name every public method of every domain: a new method fails
`test_the_table_covers_every_public_method` until its row says what it may reveal.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import customer_data
from tui_crm import audit
from tui_crm.db import Database
from tui_crm.importer import ImportOptions
from tui_crm.listing import CustomerQuery
from tui_crm.roles import Action, Scope, scope_of
from tui_crm.service import PermissionDenied, Service
from tui_crm.service.context import Context

FOREIGN = customer_data(
    name="Secret Holdings",
    phone="13912345678",
    email="secret@example.com",
    contact_name="Hidden Person",
    credit_code="91350100M000100Y43",
)


@dataclasses.dataclass
class Target:
    id: int
    code: str
    version: int
    tag_id: int


def _version(s: Service, cid: int) -> int:
    return s.db.conn.execute("SELECT version FROM customers WHERE id=?", (cid,)).fetchone()[0]


# method -> (the permission it needs on the target, how to call it)
# A permission of None marks a method that never refuses but must scope what it returns.
Call = Callable[[Service, Target, Path], Any]
TABLE: dict[str, tuple[Action | None, Call]] = {
    "customers.get": (Action.CUSTOMER_READ, lambda s, t, p: s.customers.get(t.id)),
    "customers.find": (None, lambda s, t, p: s.customers.find(t.code)),
    "customers.reveal": (
        Action.REVEAL,
        lambda s, t, p: s.customers.reveal(t.id, "phone"),
    ),
    "customers.create": (
        Action.CUSTOMER_CREATE,
        lambda s, t, p: s.customers.create(customer_data(name="New", phone="13700000001")),
    ),
    "customers.update": (
        Action.CUSTOMER_UPDATE,
        lambda s, t, p: s.customers.update(t.id, {}, t.version),
    ),
    "customers.set_legal_hold": (
        Action.LEGAL_HOLD,
        lambda s, t, p: s.customers.set_legal_hold(t.id, True, "probe"),
    ),
    "duplicates.find": (None, lambda s, t, p: s.duplicates.find({"phone": FOREIGN["phone"]})),
    "duplicates.described": (
        Action.CUSTOMER_CREATE,
        lambda s, t, p: s.duplicates.described({"phone": FOREIGN["phone"]}),
    ),
    "duplicates.hints": (
        Action.CUSTOMER_CREATE,
        lambda s, t, p: s.duplicates.hints({"phone": FOREIGN["phone"]}),
    ),
    "customer_list.page": (None, lambda s, t, p: s.customer_list.page(CustomerQuery())),
    "customer_list.count": (None, lambda s, t, p: s.customer_list.count(CustomerQuery())),
    "customer_list.filter_choices": (None, lambda s, t, p: s.customer_list.filter_choices()),
    "activity.add_followup": (
        Action.FOLLOWUP_ADD,
        lambda s, t, p: s.activity.add_followup(t.id, channel="phone", content="x"),
    ),
    "activity.add_interaction": (
        Action.INTERACTION_ADD,
        lambda s, t, p: s.activity.add_interaction(t.id, kind="enquiry", detail="x"),
    ),
    "activity.timeline": (Action.CUSTOMER_READ, lambda s, t, p: s.activity.timeline(t.id)),
    "due.followups": (None, lambda s, t, p: s.due.followups()),
    "due.by_rep": (None, lambda s, t, p: s.due.by_rep()),
    "tags.suggest": (None, lambda s, t, p: s.tags.suggest()),
    "tags.add": (Action.TAG_EDIT, lambda s, t, p: s.tags.add(t.id, "custom", "probe")),
    "tags.remove": (Action.TAG_EDIT, lambda s, t, p: s.tags.remove(t.id, t.tag_id)),
    "users.list": (Action.USERS, lambda s, t, p: s.users.list()),
    "users.active": (None, lambda s, t, p: s.users.active()),
    "users.add": (Action.USERS, lambda s, t, p: s.users.add("eve", "admin", "x" * 12)),
    "users.set_active": (Action.USERS, lambda s, t, p: s.users.set_active("sales2", False)),
    "users.set_role": (Action.USERS, lambda s, t, p: s.users.set_role("sales2", "admin")),
    "users.unlock": (Action.USERS, lambda s, t, p: s.users.unlock("sales2")),
    "users.set_language": (Action.USERS, lambda s, t, p: s.users.set_language("en", "sales2")),
    "users.set_password": (
        Action.USERS,
        lambda s, t, p: s.users.set_password("sales2", "Another-Horse-7"),
    ),
    "audit_log.entries": (Action.AUDIT, lambda s, t, p: s.audit_log.entries(audit.AuditFilter())),
    "audit_log.verify": (Action.AUDIT, lambda s, t, p: s.audit_log.verify()),
    "audit_log.head": (Action.AUDIT, lambda s, t, p: s.audit_log.head()),
    "audit_log.export": (
        Action.AUDIT,
        lambda s, t, p: s.audit_log.export(audit.AuditFilter(), p / "audit.csv"),
    ),
    "backups.store": (Action.BACKUP, lambda s, t, p: s.backups.store()),
    "backups.list": (Action.BACKUP, lambda s, t, p: s.backups.list()),
    "backups.create": (Action.BACKUP, lambda s, t, p: s.backups.create(full=True)),
    "backups.scheduled": (Action.BACKUP, lambda s, t, p: s.backups.scheduled()),
    "backups.verify": (Action.BACKUP, lambda s, t, p: s.backups.verify()),
    "backups.restore": (Action.BACKUP, lambda s, t, p: s.backups.restore("x", p / "r.db")),
    "backups.restore_live": (Action.BACKUP, lambda s, t, p: s.backups.restore_live("x")),
    "backups.drill": (Action.BACKUP, lambda s, t, p: s.backups.drill()),
    "backups.prune": (Action.BACKUP, lambda s, t, p: s.backups.prune()),
    "retention.policy": (None, lambda s, t, p: s.retention.policy()),
    "retention.preview": (Action.PURGE, lambda s, t, p: s.retention.preview()),
    "retention.purge": (Action.PURGE, lambda s, t, p: s.retention.purge(1)),
    "analytics.tiers": (Action.ANALYTICS, lambda s, t, p: s.analytics.tiers()),
    "analytics.churn": (Action.ANALYTICS, lambda s, t, p: s.analytics.churn()),
    "analytics.worklist": (Action.ANALYTICS, lambda s, t, p: s.analytics.worklist()),
    "analytics.funnel": (Action.ANALYTICS, lambda s, t, p: s.analytics.funnel(by="rep")),
    "analytics.activity": (Action.ANALYTICS, lambda s, t, p: s.analytics.activity()),
    "analytics.dashboard": (Action.ANALYTICS, lambda s, t, p: s.analytics.dashboard()),
    "analytics.figures": (Action.CUSTOMER_READ, lambda s, t, p: s.analytics.figures(t.id)),
    "analytics.recompute_tiers": (
        Action.ANALYTICS,
        lambda s, t, p: s.analytics.recompute_tiers(),
    ),
    "analytics.refresh_churn": (Action.ANALYTICS, lambda s, t, p: s.analytics.refresh_churn()),
    "verification.draw": (Action.VERIFICATION, lambda s, t, p: s.verification.draw("2026-01")),
    "verification.worklist": (None, lambda s, t, p: s.verification.worklist()),
    "verification.mark": (None, lambda s, t, p: s.verification.mark(1, "verified")),
    "verification.progress": (None, lambda s, t, p: s.verification.progress()),
    "verification.hand_over": (None, lambda s, t, p: s.verification.hand_over(1, ["phone"])),
    "verification.report": (Action.VERIFICATION, lambda s, t, p: s.verification.report()),
    "imports.preview": (
        Action.IMPORT,
        lambda s, t, p: s.imports.preview(p / "none.csv", ImportOptions("consent")),
    ),
    "imports.scan_dates": (
        Action.IMPORT,
        lambda s, t, p: s.imports.scan_dates(p / "none.csv", ImportOptions("consent")),
    ),
    "imports.run": (
        Action.IMPORT,
        lambda s, t, p: s.imports.run(p / "none.csv", ImportOptions("consent"), dry_run=True),
    ),
    "imports.undo": (Action.IMPORT, lambda s, t, p: s.imports.undo(1)),
    "imports.runs": (Action.IMPORT, lambda s, t, p: s.imports.runs()),
    "imports.interrupted": (Action.IMPORT, lambda s, t, p: s.imports.interrupted()),
    "imports.undos_cut_short": (Action.IMPORT, lambda s, t, p: s.imports.undos_cut_short()),
    "imports.save_mapping": (
        Action.IMPORT,
        lambda s, t, p: s.imports.save_mapping("probe", {"名称": "name"}),
    ),
    "imports.load_mapping": (Action.IMPORT, lambda s, t, p: s.imports.load_mapping("probe")),
    "imports.mappings": (Action.IMPORT, lambda s, t, p: s.imports.mappings()),
    "cleaning.scan": (Action.CUSTOMER_MERGE, lambda s, t, p: s.cleaning.scan()),
    "cleaning.side_by_side": (
        Action.CUSTOMER_MERGE,
        lambda s, t, p: s.cleaning.side_by_side(t.id, t.code),
    ),
    "cleaning.merge": (Action.CUSTOMER_MERGE, lambda s, t, p: s.cleaning.merge(t.id, t.code)),
    "cleaning.report": (Action.QUALITY_REPORT, lambda s, t, p: s.cleaning.report()),
    "exports.customers": (
        Action.EXPORT,
        lambda s, t, p: s.exports.customers(CustomerQuery(text=t.code), p / "export.csv"),
    ),
    "exports.may_reveal": (None, lambda s, t, p: s.exports.may_reveal()),
}
# Reports a sales rep may run over their own customers: scoped, not refused.
OWN_SCOPED_READS = {
    "analytics.tiers",
    "analytics.churn",
    "analytics.worklist",
    "analytics.funnel",
    "analytics.activity",
    "analytics.dashboard",
    "cleaning.scan",  # pairs among the rep's own customers only
}
# Sessions' own methods that touch no customer row.
SESSION_METHODS = {
    "can",
    "require",
    "owner_scope",
    "audit",
    "record",
    "login",
    "for_cli",
    "language",
}
ROLES = ("sales1", "service", "manager")


def _public_methods(service: Service) -> set[str]:
    names = set()
    for attr, domain in vars(service).items():
        if isinstance(domain, Context) or attr.startswith("_") or not hasattr(domain, "context"):
            continue
        for name, _ in inspect.getmembers(type(domain), inspect.isfunction):
            if not name.startswith("_"):
                names.add(f"{attr}.{name}")
    return names


def must_refuse(role: str, permission: Action | None, method: str = "") -> bool:
    """Whether `role` must be refused `method` (needing `permission`) on a customer owned by
    sales2."""
    if permission is None:
        return False
    scope = scope_of(role if role != "sales1" else "sales", permission)
    if method in OWN_SCOPED_READS:
        return scope is None
    target_scoped = permission not in (Action.CUSTOMER_CREATE,)
    return scope is None or (scope is Scope.OWN and target_scoped)


def plant_target(admin: Service) -> Target:
    """sales2's customer, with a tag, a follow-up and one due long ago: what the others probe."""
    created = admin.customers.create({**FOREIGN, "owner": "sales2"})
    tag = admin.tags.add(created.id, "custom", "secret tag")
    admin.activity.add_followup(created.id, channel="phone", content="hidden talk")
    admin.db.conn.execute(
        "UPDATE customers SET next_followup_at='2000-01-01' WHERE id=?", (created.id,)
    )
    return Target(created.id, created.code, _version(admin, created.id), tag.id)


@pytest.fixture
def target(session: Callable[[str], Service]) -> Target:
    return plant_target(session("admin"))


def test_the_table_covers_every_public_method(session: Callable[[str], Service]) -> None:
    service = session("admin")
    assert _public_methods(service) == set(TABLE)
    session_methods = {n for n, _ in inspect.getmembers(Service, inspect.isfunction)}
    session_methods |= {n for n, _ in inspect.getmembers(Service, inspect.ismethod)}
    assert {n for n in session_methods if not n.startswith("_")} == SESSION_METHODS


def leaks(result: Any, target: Target) -> bool:
    text = repr(result)
    return any(
        secret in text
        for secret in (target.code, FOREIGN["name"], FOREIGN["contact_name"], "hidden talk")
    ) or (isinstance(result, list) and any(getattr(r, "code", None) == target.code for r in result))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method", sorted(TABLE))
def test_each_method_refuses_or_scopes(
    method: str,
    role: str,
    target: Target,
    db: Database,
    session: Callable[[str], Service],
    tmp_path: Path,
) -> None:
    permission, call = TABLE[method]
    user = session(role)
    if must_refuse(role, permission, method):
        assert refusal_problem(method, user, target, tmp_path) is None
        return
    try:
        result = call(user, target, tmp_path)
    except PermissionDenied:
        pytest.fail(f"{role} was refused {method}, which the matrix allows")
    except Exception:  # an allowed call may still fail for reasons of its own
        return
    if role == "sales1" and (permission is None or method in OWN_SCOPED_READS):
        assert not leaks(result, target), f"{method} showed sales1 another rep's customer"


def refusal_problem(method: str, user: Service, target: Target, scratch: Path) -> str | None:
    """What is wrong with how `user` calling `method` on the target was refused: not refused,
    the refusal names the customer, or the customer changed; None when refused cleanly."""
    _, call = TABLE[method]
    select = "SELECT * FROM customers WHERE id=?"
    before = tuple(user.db.conn.execute(select, (target.id,)).fetchone())
    try:
        call(user, target, scratch)
    except PermissionDenied as refusal:
        if leaks(str(refusal), target):
            return f"the refusal names the customer: {refusal}"
    except Exception as exc:  # any other failure is not a refusal
        return f"not refused but failed: {type(exc).__name__}: {exc}"
    else:
        return "not refused"
    if tuple(user.db.conn.execute(select, (target.id,)).fetchone()) != before:
        return "the customer changed"
    return None


def test_a_stale_version_gives_a_sales_rep_nothing(
    target: Target, session: Callable[[str], Service]
) -> None:
    with pytest.raises(PermissionDenied) as refusal:
        session("sales1").customers.update(target.id, {"notes": "x"}, target.version - 1)
    assert not hasattr(refusal.value, "current")
