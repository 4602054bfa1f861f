"""Customers: read one, find, reveal a masked field, create, update.

Who may do what is the matrix in `roles.py`; here every entry point asks the context
for it with the row's owner (`require(action, row["owner_id"])`), so a sales rep is
refused another rep's customer before anything of it is read or returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .. import listing
from .. import validation as v
from ..bulk import BASE_FIELDS, audit_fields, audit_view
from ..bulk import reindex as index_for_search
from ..crypto import customer_columns
from ..db import next_customer_codes, next_row_id, resolve_code
from ..i18n import _
from ..roles import Action, Role
from .context import UNSET, Context
from .errors import ConflictError, NotFound, PermissionDenied, ServiceError
from .models import Customer
from .records import (
    SENSITIVE_FIELDS,
    active_user_id,
    customer_row,
    decrypt,
    diff,
    to_customer,
    username_of,
)


class Customers:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def get(self, key: int | str) -> Customer:
        """By id or by code (a merged-away code names its survivor); sales reps get only
        their own."""
        self.context.require(Action.CUSTOMER_READ)
        with self.db.read() as conn:
            if isinstance(key, str):
                found = resolve_code(conn, key)
                if found is None:
                    raise NotFound(_("No customer with code {code}.").format(code=key))
                key = found
            row = customer_row(conn, key)
            self.context.require(Action.CUSTOMER_READ, row["owner_id"])
            return to_customer(conn, self.db.keys, row)

    def find(self, text: str, limit: int = 20) -> list[Customer]:
        """Exact phone / email / ID number through the blind index, else code, name, contact.

        The same search as the customer list, scoped in SQL, with each match in full.
        """
        scope = self.context.owner_scope()
        with self.db.read() as conn:
            found = listing.page(
                conn, self.db.keys, listing.CustomerQuery(text=text), scope, limit=limit
            )
            return [
                to_customer(conn, self.db.keys, customer_row(conn, row["id"]))
                for _key, row in found
            ]

    def reveal(self, customer_id: int, field_name: str) -> str:
        """Plaintext of one sensitive field, for those allowed; the reveal is audited."""
        if field_name not in SENSITIVE_FIELDS:
            raise ServiceError(_("{field} is not a masked field.").format(field=field_name))
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            self.context.require(Action.CUSTOMER_READ, row["owner_id"])
            self.context.require(Action.REVEAL, row["owner_id"])
            self.context.audit(
                tx,
                "reveal",
                entity="customer",
                entity_id=customer_id,
                customer_code=row["code"],
                details={"field": field_name},
            )
            return decrypt(self.db.keys, row, field_name)

    def create(self, data: Mapping[str, Any]) -> Customer:
        self.context.require(Action.CUSTOMER_CREATE)
        clean = v.validate_customer(data)
        owner_id = self._owner_for_new(data.get("owner"))
        now = v.now()
        with self.db.write() as tx:
            row_id = next_row_id(tx, "customers")
            code = next_customer_codes(tx, dt.date.today().year)[0]
            values = {name: clean.get(name, "") for name in BASE_FIELDS}
            values.update(customer_columns(self.db.keys, row_id, clean))
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
            index_for_search(
                tx, row_id, code, values["name"], values["contact_name"], values["kind"]
            )
            self.context.audit(
                tx,
                "customer.create",
                entity="customer",
                entity_id=row_id,
                customer_code=code,
                details={"fields": diff({}, audit_view(clean))},
            )
            return to_customer(tx, self.db.keys, customer_row(tx, row_id))

    def _owner_for_new(self, owner: Any) -> int | None:
        user = self.context.user
        if user.role is Role.SALES:
            if owner and owner not in (user.username, user.id):
                raise PermissionDenied(_("A sales rep creates customers for themselves only."))
            return user.id
        if owner in (None, ""):
            return user.id if user.role is Role.MANAGER else None
        return active_user_id(self.db.conn, owner)

    def set_legal_hold(self, customer_id: int, on: bool, reason: str) -> Customer:
        """Put a customer under legal hold (never purged) or lift it; admins only. The
        reason is required and audited with the change."""
        self.context.require(Action.LEGAL_HOLD)
        why = v.clean_name(reason, "reason")
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            if bool(row["legal_hold"]) == on:
                return to_customer(tx, self.db.keys, row)
            tx.execute(
                "UPDATE customers SET legal_hold = ?, updated_at = ?, version = version + 1"
                " WHERE id = ?",
                (int(on), v.now(), customer_id),
            )
            self.context.audit(
                tx,
                "customer.legal_hold",
                entity="customer",
                entity_id=customer_id,
                customer_code=row["code"],
                details={"fields": {"legal_hold": [not on, on]}, "reason": why},
            )
            return to_customer(tx, self.db.keys, customer_row(tx, customer_id))

    def update(
        self, customer_id: int, changes: Mapping[str, Any], expected_version: int
    ) -> Customer:
        """Save changed fields only if nobody saved since `expected_version` was read."""
        require = self.context.require
        changes = dict(changes)
        owner = changes.pop("owner", UNSET)
        legal_hold = changes.pop("legal_hold", UNSET)
        if changes or (owner is UNSET and legal_hold is UNSET):
            require(Action.CUSTOMER_UPDATE)
        if owner is not UNSET:
            require(Action.CUSTOMER_REASSIGN)
        if legal_hold is not UNSET:
            require(Action.LEGAL_HOLD)
        clean = v.validate_customer(changes, partial=True) if changes else {}
        new_owner = (
            UNSET if owner is UNSET else (active_user_id(self.db.conn, owner) if owner else None)
        )
        keys = self.db.keys
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            require(Action.CUSTOMER_READ, row["owner_id"])
            if changes or (owner is UNSET and legal_hold is UNSET):
                require(Action.CUSTOMER_UPDATE, row["owner_id"])
            if row["version"] != expected_version:
                raise ConflictError(to_customer(tx, keys, row))
            before = {name: row[name] for name in BASE_FIELDS}
            before["credit_code"] = before["credit_code"] or ""
            before.update({name: decrypt(keys, row, name) for name in SENSITIVE_FIELDS})
            after = {**before, **clean}
            if not after.get("phone") and not after.get("email"):
                raise v.FormErrors({"phone": v.contact_required()})
            updates: dict[str, Any] = {
                name: after[name] for name in BASE_FIELDS if name in clean and name in before
            }
            if "credit_code" in updates:
                updates["credit_code"] = updates["credit_code"] or None
            changed_sensitive = {
                n: clean[n] for n in SENSITIVE_FIELDS if n in clean and clean[n] != before[n]
            }
            updates.update(customer_columns(keys, customer_id, changed_sensitive))
            fields = audit_fields(before, after)
            if new_owner is not UNSET and new_owner != row["owner_id"]:
                updates["owner_id"] = new_owner
                fields["owner"] = [
                    username_of(tx, row["owner_id"]),
                    username_of(tx, new_owner),
                ]
            if legal_hold is not UNSET and bool(legal_hold) != bool(row["legal_hold"]):
                updates["legal_hold"] = int(bool(legal_hold))
                fields["legal_hold"] = [bool(row["legal_hold"]), bool(legal_hold)]
            if not fields:
                return to_customer(tx, keys, row)
            updates.update(updated_at=v.now(), version=row["version"] + 1)
            assignments = ", ".join(f"{name} = :{name}" for name in updates)
            tx.execute(
                f"UPDATE customers SET {assignments} WHERE id = :id AND version = :expected",
                {**updates, "id": customer_id, "expected": expected_version},
            )
            if {"name", "contact_name", "kind"} & set(updates):
                index_for_search(
                    tx,
                    customer_id,
                    row["code"],
                    after["name"],
                    after["contact_name"],
                    after["kind"],
                )
            self.context.audit(
                tx,
                "customer.update",
                entity="customer",
                entity_id=customer_id,
                customer_code=row["code"],
                details={"fields": fields},
            )
            return to_customer(tx, keys, customer_row(tx, customer_id))
