"""Display names of the codes the database stores, in the active language.

Stored values stay language-neutral codes (`prospect`, `phone`, `C`, `sales`); screens,
reports and the CLI show `label(kind, code)` and offer `choices(kind)` in their selects.
An unknown code is shown as it is, so a value written by a newer version still reads as
something. Industry sections carry their official names in both languages in
`validation.INDUSTRY_SECTIONS` (GB/T 4754 is a Chinese standard) and are read from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from . import validation as v
from .i18n import is_chinese, pgettext
from .roles import Role

LabelKind = Literal[
    "customer_type",
    "customer_kind",
    "channel",
    "followup_result",
    "interaction_kind",
    "timeline_source",
    "tag_type",
    "source",
    "company_size",
    "industry",
    "role",
    "user_status",
    "backup_kind",
    "audit_action",
    "value_tier",
    "funnel_step",
    "check_outcome",
    "import_status",
]


def _customer_types() -> dict[str, str]:
    return {
        v.CustomerType.PROSPECT: pgettext("customer type", "prospect"),
        v.CustomerType.CUSTOMER: pgettext("customer type", "customer"),
        v.CustomerType.CHURNED: pgettext("customer type", "churned"),
    }


def _customer_kinds() -> dict[str, str]:
    return {
        v.CustomerKind.COMPANY: pgettext("customer kind", "company"),
        v.CustomerKind.PERSON: pgettext("customer kind", "person"),
    }


def _channels() -> dict[str, str]:
    return {
        v.Channel.PHONE: pgettext("follow-up channel", "phone"),
        v.Channel.VISIT: pgettext("follow-up channel", "visit"),
        v.Channel.EMAIL: pgettext("follow-up channel", "email"),
        v.Channel.OTHER: pgettext("follow-up channel", "other"),
    }


def _followup_results() -> dict[str, str]:
    return {
        v.FollowUpResult.INTEREST: pgettext("follow-up result", "interest"),
        v.FollowUpResult.NEED_CONFIRMED: pgettext("follow-up result", "need confirmed"),
        v.FollowUpResult.PROBLEM_SOLVED: pgettext("follow-up result", "problem solved"),
        v.FollowUpResult.NO_ANSWER: pgettext("follow-up result", "no answer"),
        v.FollowUpResult.NOT_INTERESTED: pgettext("follow-up result", "not interested"),
        v.FollowUpResult.OTHER: pgettext("follow-up result", "other"),
    }


def _interaction_kinds() -> dict[str, str]:
    return {
        v.InteractionKind.EVENT: pgettext("interaction kind", "event"),
        v.InteractionKind.COMPLAINT: pgettext("interaction kind", "complaint"),
        v.InteractionKind.ENQUIRY: pgettext("interaction kind", "enquiry"),
        v.InteractionKind.ORDER: pgettext("interaction kind", "order"),
        v.InteractionKind.OTHER: pgettext("interaction kind", "other"),
    }


def _timeline_sources() -> dict[str, str]:
    return {
        "followup": pgettext("timeline entry", "follow-up"),
        "interaction": pgettext("timeline entry", "interaction"),
    }


def _tag_types() -> dict[str, str]:
    return {
        v.TagType.INDUSTRY: pgettext("tag type", "industry"),
        v.TagType.NEED: pgettext("tag type", "need"),
        v.TagType.VALUE: pgettext("tag type", "value"),
        v.TagType.CUSTOM: pgettext("tag type", "custom"),
    }


def _sources() -> dict[str, str]:
    return {
        v.Source.ONLINE_AD: pgettext("customer source", "online ad"),
        v.Source.TRADE_SHOW: pgettext("customer source", "trade show"),
        v.Source.REFERRAL: pgettext("customer source", "referral"),
        v.Source.COLD_CALL: pgettext("customer source", "cold call"),
        v.Source.WEBSITE: pgettext("customer source", "website"),
        v.Source.OTHER: pgettext("customer source", "other"),
    }


def _company_sizes() -> dict[str, str]:
    return {
        "1-9": pgettext("company size", "1–9 staff"),
        "10-49": pgettext("company size", "10–49 staff"),
        "50-249": pgettext("company size", "50–249 staff"),
        "250-999": pgettext("company size", "250–999 staff"),
        "1000+": pgettext("company size", "1000+ staff"),
    }


def _industries() -> dict[str, str]:
    chinese = is_chinese()
    return {code: zh if chinese else en for code, (zh, en) in v.INDUSTRY_SECTIONS.items()}


def _roles() -> dict[str, str]:
    return {
        Role.ADMIN: pgettext("role", "admin"),
        Role.MANAGER: pgettext("role", "manager"),
        Role.SALES: pgettext("role", "sales"),
        Role.SERVICE: pgettext("role", "service"),
    }


def _user_statuses() -> dict[str, str]:
    return {
        "active": pgettext("user status", "active"),
        "disabled": pgettext("user status", "disabled"),
        "waiting": pgettext("user status", "waiting"),
    }


def _backup_kinds() -> dict[str, str]:
    return {
        "full": pgettext("backup kind", "full"),
        "incremental": pgettext("backup kind", "incremental"),
    }


def _audit_actions() -> dict[str, str]:
    return {
        "init": pgettext("audit action", "database created"),
        "demo.build": pgettext("audit action", "demo data built"),
        "login": pgettext("audit action", "signed in"),
        "login.failed": pgettext("audit action", "failed sign-in"),
        "customer.create": pgettext("audit action", "customer created"),
        "customer.update": pgettext("audit action", "customer edited"),
        "customer.legal_hold": pgettext("audit action", "legal hold set or lifted"),
        "customer.purge": pgettext("audit action", "customer purged"),
        "customer.export": pgettext("audit action", "customers exported"),
        "reveal": pgettext("audit action", "masked value revealed"),
        "followup.add": pgettext("audit action", "follow-up logged"),
        "interaction.add": pgettext("audit action", "interaction logged"),
        "tag.add": pgettext("audit action", "tag added"),
        "tag.remove": pgettext("audit action", "tag removed"),
        "duplicate.hint": pgettext("audit action", "duplicate hint shown"),
        "user.add": pgettext("audit action", "user added"),
        "user.enable": pgettext("audit action", "user enabled"),
        "user.disable": pgettext("audit action", "user disabled"),
        "user.role": pgettext("audit action", "role changed"),
        "user.unlock": pgettext("audit action", "user unlocked"),
        "user.password": pgettext("audit action", "password changed"),
        "user.language": pgettext("audit action", "language changed"),
        "audit.export": pgettext("audit action", "audit log exported"),
        "backup.create": pgettext("audit action", "backup taken"),
        "backup.scheduled": pgettext("audit action", "scheduled backup"),
        "backup.verify": pgettext("audit action", "backup verified"),
        "backup.restore": pgettext("audit action", "backup restored"),
        "backup.drill": pgettext("audit action", "restore drill"),
        "backup.prune": pgettext("audit action", "backups pruned"),
        "analytics.recompute_tiers": pgettext("audit action", "value tiers recomputed"),
        "analytics.refresh_churn": pgettext("audit action", "churn warnings refreshed"),
        "verification.draw": pgettext("audit action", "verification sample drawn"),
        "verification.mark": pgettext("audit action", "verification check marked"),
    }


def _value_tiers() -> dict[str, str]:
    return {
        "high": pgettext("value tier", "high value"),
        "medium": pgettext("value tier", "medium value"),
        "low": pgettext("value tier", "low value"),
        "none": pgettext("value tier", "no orders"),
    }


def _funnel_steps() -> dict[str, str]:
    return {
        "leads": pgettext("funnel step", "leads"),
        "interested": pgettext("funnel step", "interested"),
        "customers": pgettext("funnel step", "customers"),
        "repeat": pgettext("funnel step", "repeat customers"),
    }


def _check_outcomes() -> dict[str, str]:
    return {
        "pending": pgettext("check outcome", "pending"),
        "verified": pgettext("check outcome", "verified"),
        "corrected": pgettext("check outcome", "corrected"),
        "unreachable": pgettext("check outcome", "unreachable"),
        "wrong_person": pgettext("check outcome", "wrong person"),
    }


def _import_statuses() -> dict[str, str]:
    return {
        "running": pgettext("import run status", "running"),
        "done": pgettext("import run status", "done"),
        "interrupted": pgettext("import run status", "cut short"),
        "undone": pgettext("import run status", "undone"),
    }


_TABLES: dict[str, Callable[[], dict[str, str]]] = {
    "customer_type": _customer_types,
    "customer_kind": _customer_kinds,
    "channel": _channels,
    "followup_result": _followup_results,
    "interaction_kind": _interaction_kinds,
    "timeline_source": _timeline_sources,
    "tag_type": _tag_types,
    "source": _sources,
    "company_size": _company_sizes,
    "industry": _industries,
    "role": _roles,
    "user_status": _user_statuses,
    "backup_kind": _backup_kinds,
    "audit_action": _audit_actions,
    "value_tier": _value_tiers,
    "funnel_step": _funnel_steps,
    "check_outcome": _check_outcomes,
    "import_status": _import_statuses,
}


def label(kind: LabelKind, code: str | None) -> str:
    """The display name of a stored code (`label("customer_type", "prospect")` is 潜在客户
    in Chinese); the code itself when it has none, "" for no value."""
    if not code:
        return ""
    return _TABLES[kind]().get(code, code)


def choices(kind: LabelKind) -> list[tuple[str, str]]:
    """(display name, code) pairs in the codes' own order, as Textual's `Select` takes them."""
    return [(name, code) for code, name in _TABLES[kind]().items()]


def industry_label(code: str | None, *, with_code: bool = True) -> str:
    """`C 制造业` / `C Manufacturing`, or the name alone."""
    name = label("industry", code)
    return f"{code} {name}" if with_code and name and name != code else name


field_label = v.field_label
