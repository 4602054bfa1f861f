"""Customers, follow-ups, interactions and tags written as the app writes them (validated,
encrypted for their row, indexed for search, audited and sealed), without going through a
signed-in session, for tests of the engines below the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tui_crm import audit
from tui_crm import validation as v
from tui_crm.crypto import customer_columns
from tui_crm.db import Database, next_customer_codes, next_row_id, search_document
from tui_crm.merge import PLAIN_FIELDS


def user_id(db: Database, username: str) -> int:
    return int(db.conn.execute("SELECT id FROM users WHERE username=?", (username,)).fetchone()[0])


def add_customer(db: Database, owner: str | None = "sales1", **data: Any) -> int:
    """A new customer from form-like `data` (name, customer_type, phone, ... as typed)."""
    data.setdefault("customer_type", "customer")
    clean = v.validate_customer(data)
    now = data.get("created_at", "2025-01-02T09:00:00")
    with db.write() as tx:
        row_id = next_row_id(tx, "customers")
        code = next_customer_codes(tx, 2026)[0]
        values = {name: clean.get(name, "") for name in PLAIN_FIELDS}
        values.update(customer_columns(db.keys, row_id, clean))
        values.update(
            id=row_id,
            code=code,
            credit_code=clean.get("credit_code") or None,
            owner_id=user_id(db, owner) if owner else None,
            created_at=now,
            updated_at=now,
            last_interaction_at=data.get("last_interaction_at"),
            next_followup_at=data.get("next_followup_at"),
        )
        tx.execute(
            f"INSERT INTO customers({', '.join(values)})"
            f" VALUES ({', '.join(':' + c for c in values)})",
            values,
        )
        tx.execute(
            "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
            (row_id, search_document(code, values["name"], values["contact_name"])),
        )
        audit.append(
            tx,
            db.keys,
            at=now,
            actor="test",
            action="customer.create",
            entity="customer",
            entity_id=row_id,
            customer_code=code,
            details={"name": values["name"]},
            sealed=True,
        )
    return row_id


def add_followup(db: Database, customer_id: int, at: str, next_date: str | None = None) -> int:
    return _add_child(
        db,
        customer_id,
        "INSERT INTO followups(customer_id, at, channel, content, result, next_followup_date)"
        " VALUES (:c, :at, 'phone', 'Called about the quote', 'interest', :value)",
        at,
        next_date,
        ", next_followup_at = :value",
    )


def add_order(db: Database, customer_id: int, at: str, amount_cents: int | None) -> int:
    return _add_child(
        db,
        customer_id,
        "INSERT INTO interactions(customer_id, at, kind, detail, amount_cents)"
        " VALUES (:c, :at, 'order', 'Purchase order', :value)",
        at,
        amount_cents,
    )


def _add_child(
    db: Database, customer_id: int, insert: str, at: str, value: Any, also: str = ""
) -> int:
    """A follow-up or interaction, with the customer's dates brought up to date."""
    params = {"c": customer_id, "at": at, "value": value}
    with db.write() as tx:
        cursor = tx.execute(insert, params)
        tx.execute(
            "UPDATE customers SET last_interaction_at = max(COALESCE(last_interaction_at, ''),"
            f" :at){also} WHERE id = :c",
            params,
        )
        return int(cursor.lastrowid or 0)


def add_tag(db: Database, customer_id: int, tag_type: str, name: str) -> int:
    with db.write() as tx:
        tx.execute("INSERT OR IGNORE INTO tags(tag_type, name) VALUES (?, ?)", (tag_type, name))
        tag_id = tx.execute(
            "SELECT id FROM tags WHERE tag_type=? AND name=?", (tag_type, name)
        ).fetchone()[0]
        tx.execute(
            "INSERT INTO customer_tags(customer_id, tag_id, set_at) VALUES (?, ?, ?)",
            (customer_id, tag_id, dt.datetime(2025, 3, 1).isoformat()),
        )
        return int(tag_id)
