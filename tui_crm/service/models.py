"""What the service hands out: plain frozen records, sensitive values already masked."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import listing
from ..importer import Provenance
from ..roles import Role


@dataclass(frozen=True)
class UserInfo:
    id: int | None
    username: str
    role: Role
    display_name: str = ""
    language: str = ""  # remembered interface language ("" follows config and locale)


@dataclass(frozen=True)
class UserRecord:
    """An account as admins see it. Failed sign-ins are remembered per source for a day;
    `waiting_until` is set while some source must wait before trying again (a back-off
    that ends by itself, never a lock)."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    failed_attempts: int
    failure_sources: int
    waiting_until: str | None
    last_login_at: str | None
    created_at: str
    language: str = ""

    @property
    def status(self) -> str:
        if not self.active:
            return "disabled"
        return "waiting" if self.waiting_until else "active"


@dataclass(frozen=True)
class Tag:
    id: int
    tag_type: str
    name: str


@dataclass(frozen=True)
class Customer:
    """A customer as the caller may see it: sensitive fields masked unless revealed."""

    id: int
    code: str
    name: str
    kind: str
    customer_type: str
    contact_name: str
    contact_title: str
    phone: str
    email: str
    id_number: str
    address: str
    credit_code: str
    province: str
    city: str
    industry: str
    company_size: str
    source: str
    notes: str
    owner_id: int | None
    owner: str
    created_at: str
    updated_at: str
    last_interaction_at: str | None
    next_followup_at: str | None
    legal_hold: bool
    version: int
    tags: tuple[Tag, ...] = field(default=())
    value_tier: str | None = None  # high, medium, low, none; None before tiers are scored
    churn_risk: bool = False  # a churn warning stood at the last refresh
    imported: Provenance | None = None  # the import run that created it (PIPL art. 13)


@dataclass(frozen=True)
class CustomerRow:
    """One line of the customer list: no sensitive value but the masked phone."""

    id: int
    code: str
    name: str
    contact_name: str
    phone: str
    customer_type: str
    industry: str
    owner: str
    last_interaction_at: str | None
    next_followup_at: str | None
    created_at: str
    key: listing.SortKey
    value_tier: str | None = None
    churn_risk: bool = False


@dataclass(frozen=True)
class FilterChoices:
    """What the list's owner and tag filters can be set to."""

    owners: tuple[UserInfo, ...]
    tags: tuple[Tag, ...]
    unassigned: bool = False  # whether "no owner" can match anything (not for a sales rep)


@dataclass(frozen=True)
class TimelineEntry:
    """A follow-up or an interaction, merged into one life-cycle list."""

    source: str  # "followup" | "interaction"
    id: int
    at: str
    kind: str  # channel for follow-ups, interaction kind otherwise
    staff: str
    content: str
    result: str = ""
    amount_cents: int | None = None
    next_followup_date: str | None = None


@dataclass(frozen=True)
class DueFollowup:
    """One customer whose planned follow-up is due (days_overdue 0 means today)."""

    customer_id: int
    code: str
    name: str
    owner: str
    due: str
    days_overdue: int
    owner_id: int | None = None


@dataclass(frozen=True)
class DuplicateHint:
    """A likely duplicate the caller may not read: its code, owner and what matched only."""

    code: str
    owner: str
    matched: tuple[str, ...]


@dataclass(frozen=True)
class DueCount:
    """One rep's share of the due list (owner_id None: customers nobody owns)."""

    owner_id: int | None
    owner: str
    overdue: int
    due_today: int
