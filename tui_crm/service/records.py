"""Customer rows in and out: decrypting and masking on the way out, encrypting and
indexing on the way in. Shared by every domain that reads or writes customers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import validation as v
from ..analytics import tier_name
from ..crypto import MASKERS, SENSITIVE_FIELDS, KeyRing
from ..i18n import _
from ..importer import provenance
from .errors import NotFound
from .models import Customer, Tag


def customer_row(conn: Any, customer_id: int) -> Any:
    row = conn.execute("SELECT * FROM customers WHERE id=?", (customer_id,)).fetchone()
    if row is None:
        raise NotFound(_("No customer with id {id}.").format(id=customer_id))
    return row


def decrypt(keys: KeyRing, row: Any, name: str) -> str:
    return keys.decrypt(row[f"{name}_enc"], "customers", f"{name}_enc", row["id"]) or ""


def to_customer(conn: Any, keys: KeyRing, row: Any, reveal: tuple[str, ...] = ()) -> Customer:
    """The customer as the caller may see it: every sensitive field masked unless revealed."""
    sensitive = {}
    for name in SENSITIVE_FIELDS:
        plain = decrypt(keys, row, name)
        sensitive[name] = plain if name in reveal else MASKERS[name](plain)
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
        owner=username_of(conn, row["owner_id"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_interaction_at=row["last_interaction_at"],
        next_followup_at=row["next_followup_at"],
        legal_hold=bool(row["legal_hold"]),
        version=row["version"],
        value_tier=tier_name(row["value_tier"]),
        churn_risk=bool(row["churn_risk"]),
        tags=tags,
        imported=provenance(conn, row["id"]) if row["import_run_id"] else None,
        **sensitive,
    )


def username_of(conn: Any, user_id: int | None) -> str:
    row = conn.execute("SELECT username FROM users WHERE id=?", (user_id,)).fetchone()
    return row[0] if row else ""


def active_user_id(conn: Any, user: Any) -> int:
    """The id of an active user named by id or username, else a field error on `owner`."""
    column = "id" if isinstance(user, int) else "username"
    row = conn.execute(f"SELECT id, active FROM users WHERE {column}=?", (user,)).fetchone()
    if row is None or not row["active"]:
        raise v.ValidationError("owner", _("{user} is not an active user").format(user=user))
    return int(row["id"])


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each changed field as [before, after]."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
