"""Keyset-paged, role-scoped customer listing and search, at constant cost per page.

Every page is one index range scan that stops after `limit` rows: the next page starts
strictly after the last row's sort key, never with an OFFSET, so page one and page
twenty thousand cost the same at 1k and at 1M customers. Which index drives the scan is
chosen here, not left to the planner: residual filters are written as `+column` so they
can never pull the scan onto an index that would force sorting the whole table.

- no search text: the chosen sort's index (`customers_name`, `..._last_interaction`, ...);
  a tag filter drives from `customer_tags_tag`, a due filter from `customers_next_followup`;
  the value-tier sort and a tier filter from `customers_tier`; the churn-risk filter from
  the partial `customers_churn_tier`, or `customers_churn` for one owner (the worklist), in
  tier order, most valuable first;
- search text: a full phone or email goes through its blind index, four digits through
  `phone_last4`, a code prefix through the `code` index, anything else through the
  `customer_search` FTS5 table in rowid order.

A list is a sequence of segments, each walked by its own index range: rows whose sort
value is set, then rows where it is NULL; or, for a text search, the tiers of
`search_text.search_tiers` (matches as typed, then by full pinyin, then by initials), each
excluding the ones before it. A sort key starts with its segment's number, so paging
forward or back crosses from one segment into the next at the same cost as within one.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import validation as v
from .crypto import KeyRing
from .i18n import N_
from .search_text import search_match, search_tiers

Due = Literal["today", "overdue"]
SORTS: dict[str, str] = {
    "name": "c.name",
    "last_interaction": "c.last_interaction_at",
    "next_followup": "c.next_followup_at",
    "created": "c.created_at",
    "tier": "c.value_tier",
}
# What the list is ordered by, as English messages: the screen translates them when shown.
SORT_LABELS = {
    "name": N_("name"),
    "last_interaction": N_("last interaction"),
    "next_followup": N_("next follow-up"),
    "created": N_("created"),
    "tier": N_("value tier"),
    "id": N_("customer id"),
    "code": N_("code"),
}
NULLABLE = {"c.last_interaction_at", "c.next_followup_at", "c.value_tier"}
COLUMNS = (
    "c.id, c.code, c.name, c.contact_name, c.phone_enc, c.customer_type, c.industry,"
    " c.owner_id, (SELECT username FROM users u WHERE u.id = c.owner_id) AS owner,"
    " c.last_interaction_at, c.next_followup_at, c.created_at, c.value_tier, c.churn_risk"
)
# Value tiers as stored in `customers.value_tier` (see analytics.py); the sort lists high first.
TIER_RANKS = {"high": 1, "medium": 2, "low": 3, "none": 4}
_CODE_PREFIX = re.compile(r"[Cc]\d+")
_PHONE_LIKE = re.compile(r"\+?[\d\s()-]+")
_ID_NUMBER = re.compile(r"\d{17}[\dXx]")

# A sort key: (segment, value, id). Segment 0 holds rows whose sort column is set,
# segment 1 those where it is NULL, listed last whichever the direction.
SortKey = tuple[int, Any, int]


@dataclass(frozen=True)
class CustomerQuery:
    """What the operator asked to see: search text, filters and sort."""

    text: str = ""
    customer_type: str | None = None
    industry: str | None = None
    owner_id: int | None = None
    unassigned: bool = False  # only customers with no owner (the due list shows their plans)
    tag_id: int | None = None
    due: Due | None = None
    tier: str | None = None  # high, medium, low, none
    churn_risk: bool = False  # only customers with a churn warning
    sort: str = "name"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.tier is not None and self.tier not in TIER_RANKS:
            raise ValueError(f"unknown value tier {self.tier!r}")
        if self.unassigned and self.owner_id is not None:
            raise ValueError("an owner and 'unassigned' exclude each other")


@dataclass(frozen=True)
class _Segment:
    """One stretch of the list: its own conditions, walked in sort order or by id alone."""

    number: int  # the first element of the sort keys of its rows
    where: tuple[str, ...] = ()
    by_id: bool = False


@dataclass(frozen=True)
class _Plan:
    """The FROM/WHERE of one query, the column whose order it reads, and its segments."""

    source: str
    where: tuple[str, ...]
    params: dict[str, Any]
    order: str  # the column walked, paired with `id_column` as tie-break; "": ids only
    label: str
    empty: bool = False
    id_column: str = "c.id"  # the same id, named as the driving index holds it
    segments: tuple[_Segment, ...] = (_Segment(0),)
    match_all: tuple[str, ...] = ()  # the conditions of every segment at once (for counts)


_EXACT = {
    "phone": v.normalise_phone,
    "email": v.normalise_email,
    "id_number": v.normalise_id_number,
}


def search_kind(text: str) -> str:
    """How a search text is looked up: phone, email, id_number, phone_tail, code, text, none."""
    text = v.clean_text(text)
    if not text:
        return "none"
    if "@" in text:
        return "email"
    if _ID_NUMBER.fullmatch(text):
        try:
            v.normalise_id_number(text)
        except v.ValidationError:
            return "text"
        return "id_number"
    digits = re.sub(r"\D", "", text)
    if _PHONE_LIKE.fullmatch(text) and digits:
        if len(digits) == 4 and digits == text:
            return "phone_tail"
        try:
            v.normalise_phone(text)
        except v.ValidationError:
            return "text"
        return "phone"
    if _CODE_PREFIX.fullmatch(text):
        return "code"
    return "text"


def _plan(
    conn: sqlite3.Connection, keys: KeyRing, query: CustomerQuery, scope_owner_id: int | None
) -> _Plan:
    params: dict[str, Any] = {}
    where: list[str] = []
    text = v.clean_text(query.text)
    kind = search_kind(text)
    source = "customers c"
    order = SORTS[query.sort]
    label = SORT_LABELS[query.sort]
    empty = False
    id_column = "c.id"
    driver = ""  # the filter whose index drives the walk, when it is not the order's
    segments: tuple[_Segment, ...] = ()
    match_all: tuple[str, ...] = ()
    if kind in _EXACT:
        try:
            value = _EXACT[kind](text)
        except v.ValidationError:
            value = ""
        params["bidx"] = keys.blind_index(kind, value) if value else b""
        where.append(f"c.{kind}_bidx = :bidx")
        order, label = "", "match"
    elif kind == "phone_tail":
        params["tail"] = text
        where.append("c.phone_last4 = :tail")
        order, label = "", "match"
    elif kind == "code":
        params["code_from"] = text.upper()
        params["code_to"] = text.upper() + "\uffff"
        where.append("c.code >= :code_from AND c.code < :code_to")
        order, label = "c.code", "code"
        # The full code of a customer merged into another lists the survivor.
        survivor = conn.execute(
            "SELECT customer_id FROM customer_aliases WHERE code = ?", (text.upper(),)
        ).fetchone()
        if survivor is not None:
            params["survivor_id"] = survivor[0]
            where[-1] = f"({where[-1]} OR c.id = :survivor_id)"
    elif kind == "text":
        tiers = search_tiers(text)
        segments = tuple(
            _Segment(number, (f"s.customer_search MATCH :tier{number}",), by_id=True)
            for number, tier in enumerate(tiers)
            if tier
        )
        params.update({f"tier{n}": tier for n, tier in enumerate(tiers) if tier})
        params["match"] = search_match(text) or ""
        match_all = ("s.customer_search MATCH :match",)
        empty = not segments
        source = "customer_search s JOIN customers c ON c.id = s.rowid"
        order, label, id_column = "", "match", "s.rowid"
    elif query.tag_id is not None:
        source = "customer_tags t JOIN customers c ON c.id = t.customer_id"
        order, label, id_column = "", "customer id", "t.customer_id"
    elif query.due is not None:
        order, label = "c.next_followup_at", "next follow-up"
    elif query.churn_risk:
        order, label = "c.value_tier", "value tier"
    elif query.tier is not None:
        order, label, driver = "", "customer id", "tier"

    driven_by_tag = source.startswith("customer_tags")
    if query.tag_id is not None:
        params["tag_id"] = query.tag_id
        if driven_by_tag:
            where.append("t.tag_id = :tag_id")
        else:
            where.append(
                "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id"
                " AND t.tag_id = :tag_id)"
            )
    if query.due is not None:
        params["today"] = dt.date.today().isoformat()
        column = "c.next_followup_at" if order == "c.next_followup_at" else "+c.next_followup_at"
        where.append(f"{column} {'=' if query.due == 'today' else '<'} :today")
    # A tier filter walks `customers_tier` (tier, id); the churn filter walks the partial
    # `customers_churn_tier` (tier, id), or `customers_churn` (owner, tier, id) for one owner.
    tier_walk = order == "c.value_tier" or driver == "tier"
    churn_walk = query.churn_risk and order == "c.value_tier"
    if query.tier is not None:
        params["tier"] = TIER_RANKS[query.tier]
        where.append(f"{'' if tier_walk else '+'}c.value_tier = :tier")
    if query.churn_risk:
        where.append(f"{'' if churn_walk else '+'}c.churn_risk = 1")
    for name, value in (
        ("customer_type", query.customer_type),
        ("industry", query.industry),
        ("owner_id", query.owner_id),
    ):
        if value is not None:
            params[name] = value
            where.append(f"{'' if churn_walk and name == 'owner_id' else '+'}c.{name} = :{name}")
    if query.unassigned:  # a sales rep's scope leaves nothing: they own all they see
        where.append("+c.owner_id IS NULL")
    if scope_owner_id is not None:
        params["scope_owner_id"] = scope_owner_id
        where.append(f"{'' if churn_walk else '+'}c.owner_id = :scope_owner_id")
    if not segments and order in NULLABLE:
        segments = (
            _Segment(0, (f"{order} IS NOT NULL",)),
            _Segment(1, (f"{order} IS NULL",), True),
        )
    elif not segments:
        segments = (_Segment(0, by_id=not order),)
    return _Plan(source, tuple(where), params, order, label, empty, id_column, segments, match_all)


def is_overdue(next_followup_at: str | None, today: str) -> bool:
    """A plan dated before `today` (ISO): the rule of the due list and the `overdue` filter."""
    return bool(next_followup_at) and next_followup_at[:10] < today


def sort_label(query: CustomerQuery) -> str:
    """What the list is ordered by once the search and filters have picked an index."""
    kind = search_kind(query.text)
    if kind == "code":
        return SORT_LABELS["code"]
    if kind != "none":
        return N_("match")
    if query.tag_id is not None:
        return SORT_LABELS["id"]
    if query.due is not None:
        return SORT_LABELS["next_followup"]
    if query.churn_risk:
        return SORT_LABELS["tier"]
    if query.tier is not None:
        return SORT_LABELS["id"]
    return SORT_LABELS[query.sort]


def page(
    conn: sqlite3.Connection,
    keys: KeyRing,
    query: CustomerQuery,
    scope_owner_id: int | None,
    after: SortKey | None = None,
    limit: int = 50,
    backward: bool = False,
) -> list[tuple[SortKey, sqlite3.Row]]:
    """Up to `limit` rows just after (or, `backward`, just before) `after`, in list order.

    `after=None` starts at the beginning, or with `backward` at the very end, which is
    how the list jumps to its last page without counting.
    """
    plan = _plan(conn, keys, query, scope_owner_id)
    if plan.empty or limit <= 0:
        return []
    # Walking the list order forward means ascending unless the sort is descending, and a
    # backward page walks the other way; NULL sort values always come last in list order.
    ascending = (
        query.descending == backward if plan.order == SORTS.get(query.sort) else not backward
    )
    segments = list(reversed(plan.segments) if backward else plan.segments)
    if after is not None:
        segments = [
            s for s in segments if (s.number <= after[0] if backward else s.number >= after[0])
        ]
    found: list[tuple[SortKey, sqlite3.Row]] = []
    for segment in segments:
        bound = after if after is not None and after[0] == segment.number else None
        rows = _segment(conn, plan, segment, ascending, bound, limit - len(found))
        found.extend(((segment.number, row["sort_value"], row["id"]), row) for row in rows)
        if len(found) >= limit:
            break
    if backward:
        found.reverse()
    return found


def _segment(
    conn: sqlite3.Connection,
    plan: _Plan,
    segment: _Segment,
    ascending: bool,
    bound: SortKey | None,
    limit: int,
) -> list[sqlite3.Row]:
    where = [*plan.where, *segment.where]
    params = dict(plan.params, limit=limit)
    direction = "ASC" if ascending else "DESC"
    beyond = ">" if ascending else "<"
    ids = plan.id_column
    if segment.by_id:
        order_by = f"{ids} {direction}"
        if bound is not None:
            where.append(f"{ids} {beyond} :after_id")
            params["after_id"] = bound[2]
    else:
        order_by = f"{plan.order} {direction}, {ids} {direction}"
        if bound is not None:
            where.append(f"({plan.order}, {ids}) {beyond} (:after_value, :after_id)")
            params.update(after_value=bound[1], after_id=bound[2])
    sql = (
        f"SELECT {COLUMNS}, {plan.order or ids} AS sort_value FROM {plan.source}"
        f" WHERE {' AND '.join(where) or '1'} ORDER BY {order_by} LIMIT :limit"
    )
    return conn.execute(sql, params).fetchall()


def count(
    conn: sqlite3.Connection,
    keys: KeyRing,
    query: CustomerQuery,
    scope_owner_id: int | None,
    cap: int = 10_000,
) -> tuple[int, bool]:
    """How many customers match, counting no further than `cap`: (n, more than cap)."""
    plan = _plan(conn, keys, query, scope_owner_id)
    if plan.empty:
        return 0, False
    where = " AND ".join([*plan.where, *plan.match_all]) or "1"
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {plan.source} WHERE {where} LIMIT :cap)"
    n = conn.execute(sql, dict(plan.params, cap=cap + 1)).fetchone()[0]
    return min(n, cap), n > cap


def explain(
    conn: sqlite3.Connection, keys: KeyRing, query: CustomerQuery, scope_owner_id: int | None
) -> Sequence[str]:
    """The query plan of a first page, for tests that pin which index drives it."""
    plan = _plan(conn, keys, query, scope_owner_id)
    first = plan.segments[0]
    where = [*plan.where, *first.where]
    order = plan.id_column if first.by_id else f"{plan.order}, {plan.id_column}"
    sql = (
        f"EXPLAIN QUERY PLAN SELECT {COLUMNS} FROM {plan.source}"
        f" WHERE {' AND '.join(where) or '1'} ORDER BY {order} LIMIT 50"
    )
    return [row["detail"] for row in conn.execute(sql, plan.params).fetchall()]
