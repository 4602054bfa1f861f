"""The only door to the data: a session bound to one signed-in user.

Every read is scoped by the user's role, sensitive values are masked before they leave,
and every write commits in one transaction together with its audit entry.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import json
import os
import pwd
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from . import audit, listing, retention
from . import validation as v
from .backup import BackupStore, CheckResult, DrillResult, Manifest, Progress, default_dir
from .config import Settings
from .crypto import MASKERS
from .db import Database, next_customer_codes, next_row_id, search_document
from .retention import Candidate, Policy
from .roles import Action, Role, Scope, allows, scope_of

SENSITIVE_FIELDS = ("phone", "email", "id_number", "address")
BLIND_INDEXED = ("phone", "email", "id_number")
LOCKOUT_AFTER = 5
LOCKOUT_MINUTES = 15
WEAK_PASSWORDS = {"password", "12345678", "123456789", "qwertyui", "demodemo", "admin123"}
_UNSET: Any = object()

BASE_FIELDS = (
    "name",
    "kind",
    "customer_type",
    "contact_name",
    "contact_title",
    "credit_code",
    "province",
    "city",
    "industry",
    "company_size",
    "source",
    "notes",
)


class ServiceError(Exception):
    """An error whose message is fit to show the operator as it is."""


class AuthError(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class ConflictError(ServiceError):
    """Someone else saved the record first; `current` is what they saved."""

    def __init__(self, current: Customer) -> None:
        super().__init__(
            f"{current.code} was changed by someone else (now version {current.version})"
        )
        self.current = current


@dataclass(frozen=True)
class UserInfo:
    id: int | None
    username: str
    role: Role
    display_name: str = ""


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    failed_attempts: int
    locked_until: str | None
    last_login_at: str | None
    created_at: str


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


@dataclass(frozen=True)
class FilterChoices:
    """What the list's owner and tag filters can be set to."""

    owners: tuple[UserInfo, ...]
    tags: tuple[Tag, ...]


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


def hash_password(password: str) -> str:
    kdf = Argon2id(salt=os.urandom(16), length=32, iterations=2, lanes=1, memory_cost=19456)
    return kdf.derive_phc_encoded(password.encode())


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown users, so a wrong name costs what a wrong password does."""
    return hash_password(os.urandom(16).hex())


def check_password(password: str, encoded: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode(), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def check_password_policy(password: str, *, demo: bool) -> None:
    if demo:
        if not password:
            raise v.ValidationError("password", "must not be empty")
        return
    if len(password) < 10:
        raise v.ValidationError("password", "must be at least 10 characters long")
    if password.lower() in WEAK_PASSWORDS or len(set(password)) < 5:
        raise v.ValidationError("password", "is too easy to guess; choose another")


def os_identity() -> str:
    """Who runs this process, from the kernel's uid rather than variables the caller sets.

    Under `sudo -u crm` (the SSH deployment) the invoking user is added from SUDO_USER,
    which sudo itself sets when it switches to the service account.
    """
    name = pwd.getpwuid(os.getuid()).pw_name
    invoker = os.environ.get("SUDO_USER")
    return f"{name}(sudo:{invoker})" if invoker and invoker != name else name


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class Service:
    """One signed-in user's session on a database."""

    def __init__(self, db: Database, user: UserInfo, *, actor: str | None = None) -> None:
        self.db = db
        self.user = user
        self.actor = actor or user.username

    # --- identity -----------------------------------------------------------------------

    @classmethod
    def login(
        cls, db: Database, username: str, password: str, *, failure_delay: float = 1.0
    ) -> Service:
        """Check a password; throttle and lock out repeated failures; audit every attempt."""
        username = v.clean_text(username)
        now = _now()
        with db.write() as tx:
            row = tx.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
            if row is None:
                check_password(password, _dummy_hash())
                failure, reason = "Wrong username or password.", "unknown user"
            elif not row["active"]:
                failure, reason = "This account is disabled; ask an administrator.", "disabled"
            elif row["locked_until"] and row["locked_until"] > now:
                failure, reason = (
                    "Too many failed attempts: this account is locked. "
                    "Try again later or ask an administrator to unlock it.",
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
                failure = "Wrong username or password."
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
                user = UserInfo(row["id"], row["username"], Role(row["role"]), row["display_name"])
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

    def can(self, action: Action, customer: Customer | None = None) -> bool:
        owns = customer is None or customer.owner_id == self.user.id
        return allows(self.user.role, action, owns=owns)

    def _require(self, action: Action, owner_id: Any = _UNSET) -> Scope:
        scope = scope_of(self.user.role, action)
        if scope is None:
            raise PermissionDenied(f"A {self.user.role} may not {_describe(action)}.")
        if scope is Scope.OWN and owner_id is not _UNSET and owner_id != self.user.id:
            raise PermissionDenied(f"You may {_describe(action)} only for your own customers.")
        return scope

    def _audit(self, tx: Any, action: str, **kwargs: Any) -> None:
        sealed = bool(kwargs.get("customer_code"))
        audit.append(
            tx, self.db.keys, at=_now(), actor=self.actor, action=action, sealed=sealed, **kwargs
        )

    # --- customers: reading ---------------------------------------------------------------

    def _row(self, conn: Any, customer_id: int) -> Any:
        row = conn.execute("SELECT * FROM customers WHERE id=?", (customer_id,)).fetchone()
        if row is None:
            raise NotFound(f"No customer with id {customer_id}.")
        return row

    def _decrypt(self, row: Any, name: str) -> str:
        return self.db.keys.decrypt(row[f"{name}_enc"], "customers", f"{name}_enc", row["id"]) or ""

    def _to_customer(self, conn: Any, row: Any, reveal: tuple[str, ...] = ()) -> Customer:
        sensitive = {}
        for name in SENSITIVE_FIELDS:
            plain = self._decrypt(row, name)
            sensitive[name] = plain if name in reveal else MASKERS[name](plain)
        owner = conn.execute("SELECT username FROM users WHERE id=?", (row["owner_id"],)).fetchone()
        tags = tuple(
            Tag(t["id"], t["tag_type"], t["name"])
            for t in conn.execute(
                "SELECT tags.* FROM customer_tags JOIN tags ON tags.id = customer_tags.tag_id"
                " WHERE customer_id=? ORDER BY tag_type, name",
                (row["id"],),
            )
        )
        return Customer(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            customer_type=row["customer_type"],
            contact_name=row["contact_name"],
            contact_title=row["contact_title"],
            credit_code=row["credit_code"] or "",
            province=row["province"],
            city=row["city"],
            industry=row["industry"],
            company_size=row["company_size"],
            source=row["source"],
            notes=row["notes"],
            owner_id=row["owner_id"],
            owner=owner[0] if owner else "",
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_interaction_at=row["last_interaction_at"],
            next_followup_at=row["next_followup_at"],
            legal_hold=bool(row["legal_hold"]),
            version=row["version"],
            tags=tags,
            **sensitive,
        )

    def get_customer(self, key: int | str) -> Customer:
        """By id or by code; sales reps get only their own."""
        self._require(Action.CUSTOMER_READ)
        with self.db.read() as conn:
            if isinstance(key, str):
                row = conn.execute(
                    "SELECT * FROM customers WHERE code=?", (key.strip().upper(),)
                ).fetchone()
                if row is None:
                    raise NotFound(f"No customer with code {key}.")
            else:
                row = self._row(conn, key)
            self._require(Action.CUSTOMER_READ, row["owner_id"])
            return self._to_customer(conn, row)

    def find_customers(self, text: str, limit: int = 20) -> list[Customer]:
        """Exact phone / email / ID number through the blind index, else code, name, contact.

        The same search as the customer list, scoped in SQL, with each match in full.
        """
        scope = self._list_scope()
        with self.db.read() as conn:
            found = listing.page(
                conn, self.db.keys, listing.CustomerQuery(text=text), scope, limit=limit
            )
            return [self._to_customer(conn, self._row(conn, row["id"])) for _, row in found]

    def reveal(self, customer_id: int, field_name: str) -> str:
        """Plaintext of one sensitive field, for those allowed; the reveal is audited."""
        if field_name not in SENSITIVE_FIELDS:
            raise ServiceError(f"{field_name} is not a masked field.")
        with self.db.write() as tx:
            row = self._row(tx, customer_id)
            self._require(Action.CUSTOMER_READ, row["owner_id"])
            self._require(Action.REVEAL, row["owner_id"])
            self._audit(
                tx,
                "reveal",
                entity="customer",
                entity_id=customer_id,
                customer_code=row["code"],
                details={"field": field_name},
            )
            return self._decrypt(row, field_name)

    def timeline(
        self,
        customer_id: int,
        *,
        before: str | None = None,
        limit: int = 50,
        kinds: tuple[str, ...] = (),
        after: tuple[str, str, int] | None = None,
    ) -> list[TimelineEntry]:
        """Newest first, a page at a time, so thousands of entries cost what three do.

        Page on with `after=(at, source, id)` of the last entry shown: unlike `before`, it
        loses nothing when several entries share one timestamp. `kinds` holds sources
        ("followup", "interaction") or channels / interaction kinds.
        """
        with self.db.read() as conn:
            row = self._row(conn, customer_id)
            self._require(Action.CUSTOMER_READ, row["owner_id"])
            params: dict[str, Any] = {
                "c": customer_id,
                "before": before or "9999",
                "limit": limit,
                "a_at": after[0] if after else "9999",
                "a_source": after[1] if after else "~",
                "a_id": after[2] if after else 0,
            }
            kind_names = ""
            if kinds:
                params.update({f"k{i}": kind for i, kind in enumerate(kinds)})
                kind_names = ", ".join(f":k{i}" for i in range(len(kinds)))

            def newest(source: str, table: str, kind: str, columns: str) -> str:
                """One source's newest page, read backwards along its (customer_id, at) index.

                A filter none of this source's kinds can match skips it without a scan.
                """
                conditions = ["t.customer_id = :c", "t.at < :before", "t.at <= :a_at"]
                if after:
                    conditions.append(f"(t.at, '{source}', t.id) < (:a_at, :a_source, :a_id)")
                if kinds and source not in kinds:
                    possible = v.Channel if source == "followup" else v.InteractionKind
                    matchable = any(k in set(possible) for k in kinds)
                    conditions.append(f"t.{kind} IN ({kind_names})" if matchable else "0")
                return (
                    f"SELECT * FROM (SELECT '{source}' AS source, t.id, t.at, t.{kind} AS kind,"
                    f" {columns}, u.username AS staff FROM {table} t"
                    " LEFT JOIN users u ON u.id = t.staff_id"
                    f" WHERE {' AND '.join(conditions)} ORDER BY t.at DESC, t.id DESC LIMIT :limit)"
                )

            sql = (
                newest(
                    "followup",
                    "followups",
                    "channel",
                    "t.content, t.result, NULL AS amount_cents, t.next_followup_date",
                )
                + " UNION ALL "
                + newest(
                    "interaction",
                    "interactions",
                    "kind",
                    "t.detail AS content, '' AS result, t.amount_cents, NULL AS next_followup_date",
                )
                + " ORDER BY at DESC, source DESC, id DESC LIMIT :limit"
            )
            rows = conn.execute(sql, params).fetchall()
        return [
            TimelineEntry(
                source=r["source"],
                id=r["id"],
                at=r["at"],
                kind=r["kind"],
                staff=r["staff"] or "",
                content=r["content"],
                result=r["result"],
                amount_cents=r["amount_cents"],
                next_followup_date=r["next_followup_date"],
            )
            for r in rows
        ]

    # --- customers: writing ---------------------------------------------------------------

    def create_customer(self, data: Mapping[str, Any]) -> Customer:
        self._require(Action.CUSTOMER_CREATE)
        clean = v.validate_customer(data)
        owner_id = self._owner_for_new(data.get("owner"))
        now = _now()
        with self.db.write() as tx:
            row_id = next_row_id(tx, "customers")
            code = next_customer_codes(tx, dt.date.today().year)[0]
            values = {name: clean.get(name, "") for name in BASE_FIELDS}
            values.update(self._sensitive_columns(row_id, clean))
            values.update(
                id=row_id,
                code=code,
                owner_id=owner_id,
                created_at=now,
                updated_at=now,
                credit_code=clean.get("credit_code") or None,
                legal_hold=0,
                version=1,
            )
            columns = ", ".join(values)
            tx.execute(
                f"INSERT INTO customers({columns}) VALUES ({', '.join(':' + c for c in values)})",
                values,
            )
            self._index(tx, row_id, code, values["name"], values["contact_name"])
            self._audit(
                tx,
                "customer.create",
                entity="customer",
                entity_id=row_id,
                customer_code=code,
                details={"fields": _diff({}, self._audit_view(clean))},
            )
            return self._to_customer(tx, self._row(tx, row_id))

    def _owner_for_new(self, owner: Any) -> int | None:
        if self.user.role is Role.SALES:
            if owner and owner not in (self.user.username, self.user.id):
                raise PermissionDenied("A sales rep creates customers for themselves only.")
            return self.user.id
        if owner in (None, ""):
            return self.user.id if self.user.role is Role.MANAGER else None
        return self._user_id(owner)

    def _user_id(self, owner: Any) -> int:
        column = "id" if isinstance(owner, int) else "username"
        row = self.db.conn.execute(
            f"SELECT id, active FROM users WHERE {column}=?", (owner,)
        ).fetchone()
        if row is None or not row["active"]:
            raise v.ValidationError("owner", f"{owner} is not an active user")
        return int(row["id"])

    def _sensitive_columns(self, row_id: int, clean: Mapping[str, Any]) -> dict[str, Any]:
        keys = self.db.keys
        out: dict[str, Any] = {}
        for name in SENSITIVE_FIELDS:
            if name not in clean:
                continue
            value = clean[name] or None
            out[f"{name}_enc"] = keys.encrypt(value, "customers", f"{name}_enc", row_id)
            if name in BLIND_INDEXED:
                out[f"{name}_bidx"] = keys.blind_index(name, value)
            if name == "phone":
                out["phone_last4"] = value[-4:] if value else None
        return out

    @staticmethod
    def _audit_view(values: Mapping[str, Any]) -> dict[str, Any]:
        """Field values as the audit log may hold them: sensitive ones masked."""
        return {
            k: (MASKERS[k](val) if k in MASKERS else val)
            for k, val in values.items()
            if val not in ("", None)
        }

    def _index(self, tx: Any, row_id: int, code: str, name: str, contact: str) -> None:
        tx.execute("DELETE FROM customer_search WHERE rowid=?", (row_id,))
        tx.execute(
            "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
            (row_id, search_document(code, name, contact)),
        )

    def update_customer(
        self, customer_id: int, changes: Mapping[str, Any], expected_version: int
    ) -> Customer:
        """Save changed fields only if nobody saved since `expected_version` was read."""
        changes = dict(changes)
        owner = changes.pop("owner", _UNSET)
        legal_hold = changes.pop("legal_hold", _UNSET)
        if changes:
            self._require(Action.CUSTOMER_UPDATE)
        if owner is not _UNSET:
            self._require(Action.CUSTOMER_REASSIGN)
        if legal_hold is not _UNSET:
            self._require(Action.LEGAL_HOLD)
        clean = v.validate_customer(changes, partial=True) if changes else {}
        new_owner = _UNSET if owner is _UNSET else (self._user_id(owner) if owner else None)
        with self.db.write() as tx:
            row = self._row(tx, customer_id)
            if changes:
                self._require(Action.CUSTOMER_UPDATE, row["owner_id"])
            if row["version"] != expected_version:
                raise ConflictError(self._to_customer(tx, row))
            before = {name: row[name] for name in BASE_FIELDS}
            before["credit_code"] = before["credit_code"] or ""
            before.update({name: self._decrypt(row, name) for name in SENSITIVE_FIELDS})
            after = {**before, **clean}
            _check_contact(after)
            updates: dict[str, Any] = {
                name: after[name] for name in BASE_FIELDS if name in clean and name in before
            }
            if "credit_code" in updates:
                updates["credit_code"] = updates["credit_code"] or None
            changed_sensitive = {
                n: clean[n] for n in SENSITIVE_FIELDS if n in clean and clean[n] != before[n]
            }
            updates.update(self._sensitive_columns(customer_id, changed_sensitive))
            fields = _diff(self._audit_view(before), self._audit_view(after))
            for name in changed_sensitive:
                if name not in fields:
                    fields[name] = [
                        MASKERS[name](before[name]),
                        MASKERS[name](after[name]) + " (changed)",
                    ]
            if new_owner is not _UNSET and new_owner != row["owner_id"]:
                updates["owner_id"] = new_owner
                fields["owner"] = [
                    self._username(tx, row["owner_id"]),
                    self._username(tx, new_owner),
                ]
            if legal_hold is not _UNSET and bool(legal_hold) != bool(row["legal_hold"]):
                updates["legal_hold"] = int(bool(legal_hold))
                fields["legal_hold"] = [bool(row["legal_hold"]), bool(legal_hold)]
            if not fields:
                return self._to_customer(tx, row)
            updates.update(updated_at=_now(), version=row["version"] + 1)
            assignments = ", ".join(f"{name} = :{name}" for name in updates)
            tx.execute(
                f"UPDATE customers SET {assignments} WHERE id = :id AND version = :expected",
                {**updates, "id": customer_id, "expected": expected_version},
            )
            if "name" in updates or "contact_name" in updates:
                self._index(tx, customer_id, row["code"], after["name"], after["contact_name"])
            self._audit(
                tx,
                "customer.update",
                entity="customer",
                entity_id=customer_id,
                customer_code=row["code"],
                details={"fields": fields},
            )
            return self._to_customer(tx, self._row(tx, customer_id))

    @staticmethod
    def _username(conn: Any, user_id: int | None) -> str:
        row = conn.execute("SELECT username FROM users WHERE id=?", (user_id,)).fetchone()
        return row[0] if row else ""

    def add_followup(
        self,
        customer_id: int,
        *,
        channel: str,
        content: str,
        result: str = "",
        next_followup_date: str = "",
        at: str | None = None,
    ) -> int:
        errors: dict[str, str] = {}
        values = _collect(
            errors,
            {
                "channel": lambda: v.choice(channel, "channel", v.Channel),
                "content": lambda: _required_text(content, "content", 4000),
                "result": lambda: v.choice(result, "result", v.FollowUpResult, required=False),
                "next_followup_date": lambda: v.parse_date(
                    next_followup_date, "next_followup_date"
                ),
            },
        )
        if values.get("next_followup_date") and values["next_followup_date"] < v.today():
            errors["next_followup_date"] = "must be today or later"
        if errors:
            raise v.FormErrors(errors)
        return self._add_child(
            customer_id,
            Action.FOLLOWUP_ADD,
            "followups",
            {**values, "next_followup_date": values["next_followup_date"] or None},
            at,
            next_followup_at=values["next_followup_date"] or None,
        )

    def add_interaction(
        self,
        customer_id: int,
        *,
        kind: str,
        detail: str,
        amount: str | int | None = None,
        at: str | None = None,
    ) -> int:
        errors: dict[str, str] = {}
        values = _collect(
            errors,
            {
                "kind": lambda: v.choice(kind, "kind", v.InteractionKind),
                "detail": lambda: _required_text(detail, "detail", 4000),
                "amount_cents": lambda: (
                    amount if isinstance(amount, int) else v.amount_cents(amount)
                ),
            },
        )
        if values.get("kind") == v.InteractionKind.ORDER and values.get("amount_cents") is None:
            errors.setdefault("amount", "an order needs an amount")
        if errors:
            raise v.FormErrors(
                {("amount" if k == "amount_cents" else k): m for k, m in errors.items()}
            )
        return self._add_child(customer_id, Action.INTERACTION_ADD, "interactions", values, at)

    def _add_child(
        self,
        customer_id: int,
        action: Action,
        table: str,
        values: Mapping[str, Any],
        at: str | None,
        **customer_updates: Any,
    ) -> int:
        """Insert a follow-up or interaction, bring the customer's dates up to date, audit."""
        when = at or _now()
        row_values = {**values, "customer_id": customer_id, "at": when, "staff_id": self.user.id}
        with self.db.write() as tx:
            row = self._row(tx, customer_id)
            self._require(action, row["owner_id"])
            cursor = tx.execute(
                f"INSERT INTO {table}({', '.join(row_values)})"
                f" VALUES ({', '.join(':' + name for name in row_values)})",
                row_values,
            )
            assignments = "".join(f", {name} = :{name}" for name in customer_updates)
            tx.execute(
                "UPDATE customers SET last_interaction_at ="
                f" max(COALESCE(last_interaction_at, ''), :when){assignments} WHERE id = :id",
                {**customer_updates, "when": when, "id": customer_id},
            )
            self._audit(
                tx,
                action.value,
                entity=table.removesuffix("s"),
                entity_id=cursor.lastrowid,
                customer_code=row["code"],
                details={"fields": _diff({}, values)},
            )
            return int(cursor.lastrowid or 0)

    def tags(self, prefix: str = "", tag_type: str | None = None, limit: int = 50) -> list[Tag]:
        """Existing tags for completion."""
        sql = "SELECT * FROM tags WHERE name LIKE ? || '%'"
        params: list[Any] = [v.clean_text(prefix)]
        if tag_type:
            sql += " AND tag_type = ?"
            params.append(tag_type)
        rows = self.db.conn.execute(sql + " ORDER BY tag_type, name LIMIT ?", [*params, limit])
        return [Tag(r["id"], r["tag_type"], r["name"]) for r in rows.fetchall()]

    def add_tag(self, customer_id: int, tag_type: str, name: str) -> Tag:
        errors: dict[str, str] = {}
        values = _collect(
            errors,
            {
                "tag_type": lambda: v.choice(tag_type, "tag_type", v.TagType),
                "tag_name": lambda: _required_text(name, "tag_name", 50),
            },
        )
        if errors:
            raise v.FormErrors(errors)
        with self.db.write() as tx:
            row = self._row(tx, customer_id)
            self._require(Action.TAG_EDIT, row["owner_id"])
            tx.execute(
                "INSERT OR IGNORE INTO tags(tag_type, name) VALUES (?, ?)",
                (values["tag_type"], values["tag_name"]),
            )
            tag = tx.execute(
                "SELECT * FROM tags WHERE tag_type=? AND name=?",
                (values["tag_type"], values["tag_name"]),
            ).fetchone()
            added = tx.execute(
                "INSERT OR IGNORE INTO customer_tags(customer_id, tag_id, set_at, set_by)"
                " VALUES (?, ?, ?, ?)",
                (customer_id, tag["id"], _now(), self.user.id),
            ).rowcount
            if added:
                self._audit(
                    tx,
                    "tag.add",
                    entity="customer",
                    entity_id=customer_id,
                    customer_code=row["code"],
                    details={"tag": f"{tag['tag_type']}:{tag['name']}"},
                )
            return Tag(tag["id"], tag["tag_type"], tag["name"])

    def remove_tag(self, customer_id: int, tag_id: int) -> None:
        with self.db.write() as tx:
            row = self._row(tx, customer_id)
            self._require(Action.TAG_EDIT, row["owner_id"])
            tag = tx.execute("SELECT * FROM tags WHERE id=?", (tag_id,)).fetchone()
            removed = tx.execute(
                "DELETE FROM customer_tags WHERE customer_id=? AND tag_id=?", (customer_id, tag_id)
            ).rowcount
            if removed and tag:
                self._audit(
                    tx,
                    "tag.remove",
                    entity="customer",
                    entity_id=customer_id,
                    customer_code=row["code"],
                    details={"tag": f"{tag['tag_type']}:{tag['name']}"},
                )

    # --- users ----------------------------------------------------------------------------

    def list_users(self) -> list[UserRecord]:
        self._require(Action.USERS)
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

    def active_users(self) -> list[UserInfo]:
        """Who a customer can be assigned to (names only, for any signed-in user)."""
        rows = self.db.conn.execute(
            "SELECT id, username, role, display_name FROM users WHERE active=1 ORDER BY username"
        ).fetchall()
        return [UserInfo(r["id"], r["username"], Role(r["role"]), r["display_name"]) for r in rows]

    def add_user(self, username: str, role: str, password: str, display_name: str = "") -> int:
        self._require(Action.USERS)
        name = v.clean_text(username)
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise v.ValidationError("username", "use letters, digits, '.', '-' or '_'")
        role_value = v.choice(role, "role", Role)
        check_password_policy(password, demo=self.db.meta("demo") == "1")
        with self.db.write() as tx:
            if tx.execute("SELECT 1 FROM users WHERE username=?", (name,)).fetchone():
                raise v.ValidationError("username", f"{name} already exists")
            cursor = tx.execute(
                "INSERT INTO users(username, display_name, role, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, v.clean_text(display_name), role_value, hash_password(password), _now()),
            )
            self._audit(
                tx,
                "user.add",
                entity="user",
                entity_id=cursor.lastrowid,
                details={"username": name, "role": role_value},
            )
            return int(cursor.lastrowid or 0)

    def _user_row(self, tx: Any, username: str) -> Any:
        row = tx.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
        if row is None:
            raise NotFound(f"No user named {username}.")
        return row

    def _guard_last_admin(self, tx: Any, row: Any) -> None:
        if row["role"] == Role.ADMIN and row["active"]:
            others = tx.execute(
                "SELECT COUNT(*) FROM users WHERE role='admin' AND active=1 AND id<>?",
                (row["id"],),
            ).fetchone()[0]
            if not others:
                raise ServiceError("That would leave no active admin; add another admin first.")

    def set_user_active(self, username: str, active: bool) -> None:
        self._require(Action.USERS)
        with self.db.write() as tx:
            row = self._user_row(tx, username)
            if not active:
                self._guard_last_admin(tx, row)
            tx.execute("UPDATE users SET active=? WHERE id=?", (int(active), row["id"]))
            self._audit(
                tx,
                "user.enable" if active else "user.disable",
                entity="user",
                entity_id=row["id"],
                details={"username": row["username"]},
            )

    def set_user_role(self, username: str, role: str) -> None:
        self._require(Action.USERS)
        role_value = v.choice(role, "role", Role)
        with self.db.write() as tx:
            row = self._user_row(tx, username)
            if role_value != Role.ADMIN:
                self._guard_last_admin(tx, row)
            tx.execute("UPDATE users SET role=? WHERE id=?", (role_value, row["id"]))
            self._audit(
                tx,
                "user.role",
                entity="user",
                entity_id=row["id"],
                details={
                    "username": row["username"],
                    "fields": {"role": [row["role"], role_value]},
                },
            )

    def unlock_user(self, username: str) -> None:
        self._require(Action.USERS)
        with self.db.write() as tx:
            row = self._user_row(tx, username)
            tx.execute(
                "UPDATE users SET failed_attempts=0, locked_until=NULL WHERE id=?", (row["id"],)
            )
            self._audit(
                tx,
                "user.unlock",
                entity="user",
                entity_id=row["id"],
                details={"username": row["username"]},
            )

    def set_password(self, username: str, password: str) -> None:
        self._require(Action.USERS)
        check_password_policy(password, demo=self.db.meta("demo") == "1")
        with self.db.write() as tx:
            row = self._user_row(tx, username)
            tx.execute(
                "UPDATE users SET password_hash=?, failed_attempts=0, locked_until=NULL WHERE id=?",
                (hash_password(password), row["id"]),
            )
            self._audit(
                tx,
                "user.password",
                entity="user",
                entity_id=row["id"],
                details={"username": row["username"]},
            )

    # --- audit ----------------------------------------------------------------------------

    def audit_entries(
        self, flt: audit.AuditFilter, *, before_id: int | None = None, limit: int = 100
    ) -> list[audit.AuditEntry]:
        self._require(Action.AUDIT)
        return audit.query(self.db.conn, self.db.keys, flt, before_id=before_id, limit=limit)

    def verify_audit(self) -> audit.VerifyResult:
        self._require(Action.AUDIT)
        return audit.verify(self.db.conn, self.db.keys)

    def record(self, action: str, details: dict[str, Any] | None = None) -> None:
        """Audit an event that changes no row (an export, a backup, a restore drill)."""
        with self.db.write() as tx:
            self._audit(tx, action, details=details or {})

    # --- listing (issue 3) ------------------------------------------------------------------

    def _list_scope(self) -> int | None:
        """The owner every listed row must have, or None when the role sees all customers."""
        scope = self._require(Action.CUSTOMER_READ)
        return self.user.id if scope is Scope.OWN else None

    def customer_page(
        self,
        query: listing.CustomerQuery,
        after: listing.SortKey | None = None,
        limit: int = 50,
        backward: bool = False,
    ) -> list[CustomerRow]:
        """One keyset page of the customer list, scoped by role, phones masked."""
        scope = self._list_scope()
        with self.db.read() as conn:
            rows = listing.page(conn, self.db.keys, query, scope, after, limit, backward)
        return [self._to_row(key, row) for key, row in rows]

    def count_customers(self, query: listing.CustomerQuery, cap: int = 10_000) -> tuple[int, bool]:
        """How many customers the list holds, up to `cap`: (n, whether there are more)."""
        scope = self._list_scope()
        with self.db.read() as conn:
            return listing.count(conn, self.db.keys, query, scope, cap)

    def list_filter_choices(self) -> FilterChoices:
        """Owners and tags the list can be filtered by, as far as the role may see them."""
        scope = self._list_scope()
        users = [u for u in self.active_users() if scope is None or u.id == scope]
        return FilterChoices(owners=tuple(users), tags=tuple(self.tags(limit=500)))

    def _to_row(self, key: listing.SortKey, row: Any) -> CustomerRow:
        phone = self.db.keys.decrypt(row["phone_enc"], "customers", "phone_enc", row["id"])
        return CustomerRow(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            contact_name=row["contact_name"],
            phone=MASKERS["phone"](phone),
            customer_type=row["customer_type"],
            industry=row["industry"],
            owner=row["owner"] or "",
            last_interaction_at=row["last_interaction_at"],
            next_followup_at=row["next_followup_at"],
            created_at=row["created_at"],
            key=key,
        )

    # --- detail & due (issue 4) -----------------------------------------------------------

    def _duplicate_matches(
        self, conn: Any, data: Mapping[str, Any], exclude_id: int | None
    ) -> dict[int, list[str]]:
        """Ids of customers sharing a valid phone, email or credit code with `data`, each
        with the names of the fields that matched (blind indexes: no plaintext compared)."""
        probes: list[tuple[str, str, Any]] = []
        for kind, normalise in (("phone", v.normalise_phone), ("email", v.normalise_email)):
            try:
                value = normalise(data.get(kind))
            except v.ValidationError:
                continue
            if value:
                probes.append((kind, f"{kind}_bidx", self.db.keys.blind_index(kind, value)))
        try:
            credit_code = v.normalise_credit_code(data.get("credit_code"))
        except v.ValidationError:
            credit_code = ""
        if credit_code:
            probes.append(("credit code", "credit_code", credit_code))
        matches: dict[int, list[str]] = {}
        for label, column, value in probes:
            for r in conn.execute(f"SELECT id FROM customers WHERE {column}=? LIMIT 20", (value,)):
                if r[0] != exclude_id:
                    matches.setdefault(r[0], []).append(label)
        return matches

    def find_duplicates(
        self, data: Mapping[str, Any], exclude_id: int | None = None
    ) -> list[Customer]:
        """Customers sharing the phone, email or credit code of `data` (invalid values ignored).

        Only customers the caller may read are returned, masked as usual; the others are
        reported by `duplicate_hints`.
        """
        scope = self._require(Action.CUSTOMER_READ)
        with self.db.read() as conn:
            matches = self._duplicate_matches(conn, data, exclude_id)
            rows = [self._row(conn, i) for i in sorted(matches)]
            return [
                self._to_customer(conn, r)
                for r in rows
                if scope is Scope.ALL or r["owner_id"] == self.user.id
            ]

    def duplicate_hints(
        self, data: Mapping[str, Any], exclude_id: int | None = None
    ) -> list[DuplicateHint]:
        """Likely duplicates the caller may NOT read (a colleague's customer), so a sales
        rep is warned before creating a second record for someone a colleague already has.

        What is disclosed, and why it is safe: the customer code (system-made, nothing
        personal), the owner's username (whom to talk to) and the names of the fields that
        matched ("phone", "email", "credit code"), which only confirm a value the caller
        typed themself. Nothing else: no name, no contact data (not even masked), no dates,
        no history. Because this still tells that a number belongs to some customer, it
        needs the right to create customers, and every answer that names someone else's
        customer is audited ("duplicate.hint", with codes and field names, never the typed
        value), so probing the form to enumerate customers shows in the audit log.
        """
        self._require(Action.CUSTOMER_CREATE)
        scope = self._require(Action.CUSTOMER_READ)
        if scope is Scope.ALL:
            return []
        with self.db.write() as tx:
            matches = self._duplicate_matches(tx, data, exclude_id)
            hints = []
            for customer_id in sorted(matches):
                row = tx.execute(
                    "SELECT c.code, c.owner_id, COALESCE(u.username, '') AS owner FROM customers c"
                    " LEFT JOIN users u ON u.id = c.owner_id WHERE c.id=?",
                    (customer_id,),
                ).fetchone()
                if row["owner_id"] != self.user.id:
                    hints.append(
                        DuplicateHint(row["code"], row["owner"], tuple(matches[customer_id]))
                    )
            if hints:
                self._audit(
                    tx,
                    "duplicate.hint",
                    entity="customer",
                    details={"shown": {h.code: list(h.matched) for h in hints}},
                )
            return hints

    def _due_scope(self, scope_all: bool | None) -> tuple[bool, list[str]]:
        """Whether the caller sees everyone's plans, and the SQL conditions of a due plan.

        Customer service's own plans are found from their follow-ups first (the
        `followups_staff_due` index), then checked against each customer's current plan.
        """
        self._require(Action.CUSTOMER_READ)
        may_see_all = self.user.role in (Role.MANAGER, Role.ADMIN)
        if scope_all and not may_see_all:
            raise PermissionDenied("Only managers and admins see everyone's follow-ups.")
        see_all = may_see_all if scope_all is None else scope_all
        conditions = ["c.next_followup_at IS NOT NULL", "c.next_followup_at < :tomorrow"]
        if not see_all and self.user.role is Role.SERVICE:
            conditions += [
                "c.id IN (SELECT f.customer_id FROM followups f WHERE f.staff_id = :me"
                " AND f.next_followup_date < :tomorrow)",
                "EXISTS (SELECT 1 FROM followups f WHERE f.staff_id = :me"
                " AND f.next_followup_date = substr(c.next_followup_at, 1, 10)"
                " AND f.customer_id = c.id)",
            ]
        elif not see_all:
            conditions.append("c.owner_id = :me")
        return see_all, conditions

    def due_followups(
        self,
        scope_all: bool | None = None,
        limit: int | None = 500,
        today: dt.date | None = None,
        *,
        per_rep: int | None = None,
        owner_id: int | None = _UNSET,
    ) -> list[DueFollowup]:
        """Planned follow-ups due today or overdue, oldest first.

        Sales reps see the plans on the customers they own; customer service the plans
        they made themselves (the customer's pending plan came from their follow-up);
        managers and admins see everyone's, grouped by owning rep (`scope_all=False`
        narrows them to their own customers). `per_rep` keeps only each rep's most
        urgent plans, so one busy rep cannot push the others off a capped list;
        `owner_id` (None: unassigned) narrows everyone's list to one rep.
        """
        see_all, conditions = self._due_scope(scope_all)
        today = today or dt.date.today()
        params: dict[str, Any] = {
            "tomorrow": (today + dt.timedelta(days=1)).isoformat(),
            "me": self.user.id,
            "limit": -1 if limit is None else limit,
            "per_rep": per_rep,
        }
        if owner_id is not _UNSET:
            if not see_all:
                raise PermissionDenied("Only managers and admins see another rep's follow-ups.")
            conditions.append("c.owner_id IS :owner")
            params["owner"] = owner_id
        where = " AND ".join(conditions)
        if per_rep is None:
            source, where = "customers c", f" WHERE {where}"
        else:  # each rep's first few from the `customers_owner_due` index, rep by rep
            source = (
                "(SELECT id FROM users UNION ALL SELECT NULL) AS rep JOIN customers c"
                f" ON c.id IN (SELECT c.id FROM customers c WHERE {where}"
                " AND c.owner_id IS rep.id ORDER BY c.next_followup_at, c.id LIMIT :per_rep)"
            )
            where = ""
        sql = (
            "SELECT c.id, c.code, c.name, c.next_followup_at, c.owner_id,"
            f" COALESCE(u.username, '') AS owner FROM {source}"
            f" LEFT JOIN users u ON u.id = c.owner_id{where}"
            f" ORDER BY {'owner, ' if see_all else ''}c.next_followup_at, c.id LIMIT :limit"
        )
        with self.db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [
            DueFollowup(
                customer_id=r["id"],
                code=r["code"],
                name=r["name"],
                owner=r["owner"],
                due=r["next_followup_at"][:10],
                days_overdue=(today - dt.date.fromisoformat(r["next_followup_at"][:10])).days,
                owner_id=r["owner_id"],
            )
            for r in rows
        ]

    def due_by_rep(
        self, scope_all: bool | None = None, today: dt.date | None = None
    ) -> list[DueCount]:
        """How many plans each rep has overdue and due today, every rep with any, by name.

        (Counted on the `customers_owner_due` index alone; the names are joined after.)
        """
        _, conditions = self._due_scope(scope_all)
        today = today or dt.date.today()
        sql = (
            "SELECT d.owner_id, COALESCE(u.username, '') AS owner, d.overdue, d.due_today"
            " FROM (SELECT c.owner_id, SUM(c.next_followup_at < :today) AS overdue,"
            " SUM(c.next_followup_at >= :today) AS due_today FROM customers c"
            f" WHERE {' AND '.join(conditions)} GROUP BY c.owner_id) AS d"
            " LEFT JOIN users u ON u.id = d.owner_id ORDER BY owner"
        )
        params = {
            "today": today.isoformat(),
            "tomorrow": (today + dt.timedelta(days=1)).isoformat(),
            "me": self.user.id,
        }
        with self.db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [DueCount(r["owner_id"], r["owner"], r["overdue"], r["due_today"]) for r in rows]

    # --- admin (issue 5) ------------------------------------------------------------------

    def backup_store(self, settings: Settings | None = None) -> BackupStore:
        """The configured backup directory (default `<db dir>/backups`), admins only."""
        self._require(Action.BACKUP)
        return BackupStore(default_dir(self.db.path, settings or Settings.load()), self.db.keys)

    def list_backups(self, settings: Settings | None = None) -> list[Manifest]:
        return self.backup_store(settings).list()

    def create_backup(
        self, *, full: bool, settings: Settings | None = None, progress: Progress | None = None
    ) -> Manifest:
        manifest = self.backup_store(settings).create(self.db, full=full, progress=progress)
        self.record("backup.create", _backup_details(manifest))
        return manifest

    def scheduled_backup(self, settings: Settings | None = None) -> tuple[Manifest, list[str]]:
        settings = settings or Settings.load()
        manifest, pruned = self.backup_store(settings).scheduled(self.db, settings)
        self.record("backup.scheduled", {**_backup_details(manifest), "pruned": pruned})
        return manifest, pruned

    def verify_backups(
        self,
        backup_id: str | None = None,
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> list[CheckResult]:
        """One backup, or every backup when `backup_id` is None."""
        store = self.backup_store(settings)
        results = (
            store.verify_all(progress) if backup_id is None else [store.verify(backup_id, progress)]
        )
        self.record(
            "backup.verify",
            {"checked": [r.id for r in results], "failed": [r.id for r in results if not r.ok]},
        )
        return results

    def restore_backup(
        self,
        backup_id: str,
        to_path: Path,
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> Manifest:
        manifest = self.backup_store(settings).restore(backup_id, to_path, progress)
        self.record("backup.restore", {"backup": backup_id, "to": str(to_path)})
        return manifest

    def restore_backup_live(
        self, backup_id: str, settings: Settings | None = None, progress: Progress | None = None
    ) -> tuple[Manifest, Manifest]:
        """Over the live database, after a safety backup; audited after the restore."""
        restored, safety = self.backup_store(settings).restore_live(backup_id, self.db, progress)
        self.record("backup.restore", {"backup": backup_id, "to": "live", "safety": safety.id})
        return restored, safety

    def backup_drill(
        self, settings: Settings | None = None, progress: Progress | None = None
    ) -> DrillResult:
        result = self.backup_store(settings).drill(progress)
        self.record(
            "backup.drill",
            {"backup": result.backup_id, "ok": result.ok, "problems": list(result.problems)},
        )
        return result

    def prune_backups(self, settings: Settings | None = None) -> list[str]:
        settings = settings or Settings.load()
        pruned = self.backup_store(settings).prune(
            settings.backup_keep_daily, settings.backup_keep_weekly
        )
        self.record("backup.prune", {"deleted": pruned})
        return pruned

    def retention_policy(self, settings: Settings | None = None) -> Policy:
        return Policy(years=(settings or Settings.load()).retention_years)

    def retention_preview(self, settings: Settings | None = None) -> list[Candidate]:
        """Who the retention policy would purge now, and why."""
        self._require(Action.PURGE)
        return retention.preview(self.db, self.retention_policy(settings))

    def purge_customers(
        self,
        confirm_count: int,
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Purge exactly the previewed customers; each delete is audited with code and reason."""
        self._require(Action.PURGE)
        return retention.purge(
            self.db,
            self.retention_policy(settings),
            confirm_count,
            actor=self.actor,
            progress=progress,
        )

    def export_audit(self, flt: audit.AuditFilter, out: Path) -> int:
        """Write the filtered audit entries, newest first, as CSV readable by its owner only;
        the export itself is audited."""
        self._require(Action.AUDIT)
        self._require(Action.EXPORT)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        written = 0
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["id", "at", "actor", "action", "entity", "entity_id", "customer_code", "details"]
            )
            before: int | None = None
            while page := audit.query(
                self.db.conn, self.db.keys, flt, before_id=before, limit=1000
            ):
                for e in page:
                    writer.writerow(
                        [
                            e.id,
                            e.at,
                            e.actor,
                            e.action,
                            e.entity,
                            e.entity_id,
                            e.customer_code,
                            json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                        ]
                    )
                written += len(page)
                before = page[-1].id
        filters = {k: val for k, val in dataclasses.asdict(flt).items() if val}
        self.record("audit.export", {"entries": written, "filters": filters, "to": str(out)})
        return written


# --- detail & due (issue 4): what `due_followups` returns ---------------------------------


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


# --- admin (issue 5): what a backup's audit entry records ---------------------------------


def _backup_details(manifest: Manifest) -> dict[str, Any]:
    return {
        "backup": manifest.id,
        "kind": manifest.kind,
        "parent": manifest.parent,
        "size": manifest.size,
        "customers": manifest.row_counts.get("customers"),
    }


def _describe(action: Action) -> str:
    return {
        Action.CUSTOMER_READ: "see this customer",
        Action.CUSTOMER_CREATE: "create customers",
        Action.CUSTOMER_UPDATE: "edit a customer's base information",
        Action.CUSTOMER_REASSIGN: "change a customer's owner",
        Action.LEGAL_HOLD: "set or clear a legal hold",
        Action.FOLLOWUP_ADD: "log follow-ups",
        Action.INTERACTION_ADD: "log interactions",
        Action.TAG_EDIT: "change tags",
        Action.REVEAL: "reveal masked contact data",
    }.get(action, action.value.replace(".", " "))


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _collect(errors: dict[str, str], checks: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            values[name] = check()
        except v.ValidationError as exc:
            errors[exc.field] = exc.message
    return values


def _required_text(value: Any, field_name: str, limit: int) -> str:
    text = v.optional_text(value, field_name, max_length=limit, multiline=True)
    if not text:
        raise v.ValidationError(field_name, "is required")
    return text


def _check_contact(values: Mapping[str, Any]) -> None:
    if not values.get("phone") and not values.get("email"):
        raise v.FormErrors({"phone": "a phone or an email is required"})


__all__ = [
    "AuthError",
    "ConflictError",
    "Customer",
    "DueCount",
    "DueFollowup",
    "DuplicateHint",
    "NotFound",
    "PermissionDenied",
    "Service",
    "ServiceError",
    "Tag",
    "TimelineEntry",
    "UserInfo",
]
