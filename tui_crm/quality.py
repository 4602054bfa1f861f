"""The cleaning report (数据清洗报告): how clean the customer base, or one import run's
customers, is.

- duplicates: candidate pairs (dedupe.py) by reason, and merges done (customer_aliases);
- missing: the share of customers without each field (ID numbers counted among persons,
  credit codes and company sizes among companies);
- invalid: stored values that fail today's entry rules (validation.py), by field and
  reason; sensitive values are decrypted in memory only and never leave it: the report
  names the customer code and the reason, never the value;
- anomalies: negative amounts, orders with no amount, and orders over 10× the average of
  that customer's other orders;
- customers with no contact method (neither phone nor email).

After an import, the same report runs over that run's customers (`run_id`): those it
created and those it updated (`import_rows`).

`QualityReport.to_dict()` is the JSON form (`tui-crm quality report --json`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import dedupe
from . import validation as v
from .crypto import KeyRing
from .i18n import N_, _, ngettext
from .i18n.formats import format_number

Progress = Callable[[float, str], None]
ORDER_FACTOR = 10
_DATES = ("created_at", "updated_at", "last_interaction_at", "next_followup_at")
_LABELS = {"phone": N_("phone number"), "email": N_("email address"), "id_number": N_("ID number")}


@dataclass(frozen=True)
class MissingShare:
    field: str
    missing: int
    applicable: int  # customers the field applies to

    @property
    def share(self) -> float:
        return round(self.missing / self.applicable, 4) if self.applicable else 0.0


@dataclass(frozen=True)
class InvalidValues:
    field: str
    reason: str
    count: int
    examples: tuple[str, ...]  # customer codes


@dataclass(frozen=True)
class Anomaly:
    kind: str  # negative_amount | order_without_amount | order_over_10x_average
    customer_code: str
    interaction_id: int
    at: str
    amount_cents: int | None
    average_cents: int | None = None  # of the customer's other orders


@dataclass(frozen=True)
class QualityReport:
    generated_at: str
    customers: int
    duplicate_candidates: int
    duplicates_by_reason: dict[str, int]
    duplicate_examples: tuple[tuple[str, str, str, float], ...]  # codes, reasons, score
    merged: int
    missing: tuple[MissingShare, ...]
    invalid: tuple[InvalidValues, ...]
    anomaly_counts: dict[str, int]
    anomalies: tuple[Anomaly, ...]
    no_contact: int
    no_contact_examples: tuple[str, ...] = field(default=())
    run_id: int | None = None  # the import run reported on; None: the whole base

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["missing"] = [{**dataclasses.asdict(m), "share": m.share} for m in self.missing]
        out["duplicate_examples"] = [
            {"first": a, "second": b, "reasons": reasons, "score": score}
            for a, b, reasons, score in self.duplicate_examples
        ]
        return out

    def title(self) -> str:
        """The report's heading: what it covers and over how many customers."""
        count = format_number(self.customers)
        if self.run_id is None:
            return ngettext(
                "Cleaning report: {count} customer",
                "Cleaning report: {count} customers",
                self.customers,
            ).format(count=count)
        return ngettext(
            "Cleaning report of import run {run}: {count} customer",
            "Cleaning report of import run {run}: {count} customers",
            self.customers,
        ).format(run=self.run_id, count=count)


def quality_report(
    conn: sqlite3.Connection,
    keys: KeyRing,
    *,
    customer_ids: Iterable[int] | None = None,
    run_id: int | None = None,
    owner_id: int | None = None,
    scan_options: dedupe.ScanOptions | None = None,
    examples: int = 20,
    progress: Progress | None = None,
) -> QualityReport:
    """The report over every customer, or only `customer_ids`, or only import run
    `run_id`'s, or only `owner_id`'s; `examples` bounds each list of example codes and
    anomalies."""
    report = progress or (lambda fraction, message: None)
    if run_id is not None:
        customer_ids = run_customer_ids(conn, run_id)
    ids = None if customer_ids is None else frozenset(customer_ids)
    scope_table = f"quality_scope_{secrets.token_hex(4)}"
    if ids is not None:
        conn.execute(f"CREATE TEMP TABLE {scope_table} (id INTEGER PRIMARY KEY)")
        conn.executemany(f"INSERT INTO temp.{scope_table} VALUES (?)", [(i,) for i in ids])
    try:
        scope = _Scope(
            f" AND c.id IN (SELECT id FROM temp.{scope_table})" if ids is not None else "",
            owner_id,
        )
        report(0.0, _("duplicates"))
        options = dataclasses.replace(scan_options or dedupe.ScanOptions(), limit=examples)
        found = (
            dedupe.candidates_for(conn, ids, owner_id=owner_id, options=options)
            if ids is not None
            else dedupe.scan(conn, owner_id=owner_id, options=options)
        )
        report(0.4, _("missing values"))
        total, missing = _missing(conn, scope)
        report(0.5, _("invalid values"))
        invalid = _invalid(conn, keys, scope, examples)
        report(0.9, _("anomalies"))
        counts, anomalies = _anomalies(conn, scope, examples)
        no_contact = conn.execute(
            "SELECT code FROM customers c WHERE phone_enc IS NULL AND email_enc IS NULL"
            f"{scope.sql} ORDER BY id",
            scope.params,
        ).fetchall()
        merged = conn.execute(
            "SELECT count(*) FROM customer_aliases a JOIN customers c ON c.id = a.customer_id"
            f" WHERE 1{scope.sql}",
            scope.params,
        ).fetchone()[0]
    finally:
        if ids is not None:
            conn.execute(f"DROP TABLE temp.{scope_table}")
    report(1.0, _("done"))
    return QualityReport(
        generated_at=v.now(),
        customers=total,
        duplicate_candidates=found.total,
        duplicates_by_reason=found.by_reason,
        duplicate_examples=tuple(
            (c.first.code, c.second.code, "+".join(c.fields), c.score) for c in found.candidates
        ),
        merged=merged,
        missing=missing,
        invalid=invalid,
        anomaly_counts=counts,
        anomalies=anomalies,
        no_contact=len(no_contact),
        no_contact_examples=tuple(r[0] for r in no_contact[:examples]),
        run_id=run_id,
    )


def run_customer_ids(conn: sqlite3.Connection, run_id: int) -> list[int]:
    """The customers an import run created or updated that are still there."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT customer_id FROM import_rows WHERE run_id=? ORDER BY customer_id",
            (run_id,),
        )
    ]


@dataclass(frozen=True)
class _Scope:
    """The customers reported on, as a condition on `customers c`."""

    ids_sql: str
    owner_id: int | None

    @property
    def sql(self) -> str:
        return self.ids_sql + (" AND c.owner_id = ?" if self.owner_id is not None else "")

    @property
    def params(self) -> tuple[int, ...]:
        return (self.owner_id,) if self.owner_id is not None else ()


_MISSING = {
    "name": ("c.name = ''", "1"),
    "contact_name": ("c.contact_name = ''", "1"),
    "contact_title": ("c.contact_title = ''", "c.kind = 'company'"),
    "phone": ("c.phone_enc IS NULL", "1"),
    "email": ("c.email_enc IS NULL", "1"),
    "id_number": ("c.id_number_enc IS NULL", "c.kind = 'person'"),
    "credit_code": ("c.credit_code IS NULL", "c.kind = 'company'"),
    "address": ("c.address_enc IS NULL", "1"),
    "province": ("c.province = ''", "1"),
    "city": ("c.city = ''", "1"),
    "industry": ("c.industry = ''", "1"),
    "company_size": ("c.company_size = ''", "c.kind = 'company'"),
    "source": ("c.source = ''", "1"),
    "owner": ("c.owner_id IS NULL", "1"),
}


def _missing(conn: sqlite3.Connection, scope: _Scope) -> tuple[int, tuple[MissingShare, ...]]:
    sums = ", ".join(
        f"sum(({applies}) AND ({empty})), sum({applies})" for empty, applies in _MISSING.values()
    )
    row = conn.execute(
        f"SELECT count(*), {sums} FROM customers c WHERE 1{scope.sql}", scope.params
    ).fetchone()
    shares = tuple(
        MissingShare(name, row[1 + 2 * i] or 0, row[2 + 2 * i] or 0)
        for i, name in enumerate(_MISSING)
    )
    return row[0], shares


def _invalid(
    conn: sqlite3.Connection, keys: KeyRing, scope: _Scope, examples: int
) -> tuple[InvalidValues, ...]:
    """Every stored value checked again with the entry rules, grouped by field and reason."""
    found: dict[tuple[str, str], list[str]] = {}
    cursor = conn.execute(
        "SELECT id, code, name, kind, customer_type, phone_enc, email_enc, id_number_enc,"
        " credit_code, industry, source, company_size, contact_name, contact_title, province,"
        f" city, {', '.join(_DATES)} FROM customers c WHERE 1{scope.sql} ORDER BY id",
        scope.params,
    )
    for row in cursor:
        for name, reason in _problems(keys, row):
            found.setdefault((name, reason), []).append(row["code"])
    return tuple(
        InvalidValues(name, reason, len(codes), tuple(codes[:examples]))
        for (name, reason), codes in sorted(found.items())
    )


def _problems(keys: KeyRing, row: sqlite3.Row) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []

    def check(name: str, stored: Any, rule: Callable[[Any], Any], secret: bool = False) -> None:
        try:
            normal = rule(stored)
        except v.ValidationError as exc:
            problems.append(
                (
                    name,
                    _("not a valid {what}").format(what=_(_LABELS[name]))
                    if secret
                    else exc.message,
                )
            )
            return
        if normal != stored:
            problems.append((name, _("not in its normal form")))

    for name, rule in (
        ("phone", v.normalise_phone),
        ("email", v.normalise_email),
        ("id_number", v.normalise_id_number),
    ):
        plain = keys.decrypt(row[f"{name}_enc"], "customers", f"{name}_enc", row["id"])
        if plain is not None:
            check(name, plain, rule, secret=True)
    check("name", row["name"], v.clean_name)
    check("kind", row["kind"], lambda x: v.choice(x, "kind", v.CustomerKind))
    check(
        "customer_type",
        row["customer_type"],
        lambda x: v.choice(x, "customer_type", v.CustomerType),
    )
    check("industry", row["industry"], v.industry)
    check("source", row["source"], lambda x: v.choice(x, "source", v.Source, required=False))
    for name in ("contact_name", "contact_title", "province", "city"):
        limit = v.CUSTOMER_TEXT_FIELDS[name]
        check(name, row[name], lambda x, n=name, m=limit: v.optional_text(x, n, max_length=m))
    if row["credit_code"] is not None:
        check("credit_code", row["credit_code"], v.normalise_credit_code)
        if row["kind"] == v.CustomerKind.PERSON:
            problems.append(("credit_code", _("is for companies; persons have an ID number")))
    if row["id_number_enc"] is not None and row["kind"] == v.CustomerKind.COMPANY:
        problems.append(("id_number", _("is for persons; companies have a credit code")))
    if row["company_size"] not in ("", *v.COMPANY_SIZES):
        problems.append(
            (
                "company_size",
                _("must be one of: {choices}").format(choices=", ".join(v.COMPANY_SIZES)),
            )
        )
    if row["phone_enc"] is None and row["email_enc"] is None:
        problems.append(("phone", _("a phone or an email is required")))
    for name in _DATES:
        if row[name] is not None and not _is_date(row[name]):
            problems.append((name, _("is not a date")))
    return problems


def _is_date(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    return True


def _anomalies(
    conn: sqlite3.Connection, scope: _Scope, examples: int
) -> tuple[dict[str, int], tuple[Anomaly, ...]]:
    in_scope = f"i.customer_id IN (SELECT c.id FROM customers c WHERE 1{scope.sql})"
    queries = {
        "negative_amount": (
            "SELECT i.id, i.customer_id, i.at, i.amount_cents, NULL AS average FROM"
            f" interactions i WHERE i.amount_cents < 0 AND {in_scope}"
        ),
        "order_without_amount": (
            "SELECT i.id, i.customer_id, i.at, i.amount_cents, NULL AS average FROM"
            f" interactions i WHERE i.kind = 'order' AND i.amount_cents IS NULL AND {in_scope}"
        ),
        "order_over_10x_average": (
            "WITH orders AS (SELECT i.id, i.customer_id, i.at, i.amount_cents FROM"
            f" interactions i WHERE i.kind = 'order' AND i.amount_cents > 0 AND {in_scope}),"
            " totals AS (SELECT customer_id, sum(amount_cents) AS total, count(*) AS n"
            " FROM orders GROUP BY customer_id HAVING n >= 2)"
            " SELECT o.id, o.customer_id, o.at, o.amount_cents,"
            " (t.total - o.amount_cents) / (t.n - 1) AS average"
            " FROM orders o JOIN totals t USING (customer_id)"
            f" WHERE o.amount_cents > {ORDER_FACTOR} * (t.total - o.amount_cents) / (t.n - 1.0)"
        ),
    }
    counts: dict[str, int] = {}
    found: list[Anomaly] = []
    for kind, sql in queries.items():
        rows = conn.execute(sql, scope.params).fetchall()
        counts[kind] = len(rows)
        for row in rows[:examples]:
            code = conn.execute("SELECT code FROM customers WHERE id=?", (row[1],)).fetchone()[0]
            found.append(Anomaly(kind, code, row[0], row[2], row[3], row[4]))
    return counts, tuple(found)
