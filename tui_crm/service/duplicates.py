"""Likely duplicates of a customer being typed: by phone, email or credit code.

Matching goes through the blind indexes, so no plaintext is compared. A caller sees the
duplicates they may read in full (masked as usual); a sales rep is told of a colleague's
customer by `hints` only (code, owner, which field matched).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import validation as v
from ..roles import Action, Scope
from .context import Context
from .models import Customer, DuplicateHint
from .records import customer_row, to_customer


class Duplicates:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def _matches(
        self, conn: Any, data: Mapping[str, Any], exclude_id: int | None
    ) -> dict[int, list[str]]:
        """Ids of customers sharing a valid phone, email or credit code with `data`, each
        with the names of the fields that matched."""
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

    def find(self, data: Mapping[str, Any], exclude_id: int | None = None) -> list[Customer]:
        """Customers sharing the phone, email or credit code of `data` (invalid values ignored).

        Only customers the caller may read are returned, masked as usual; the others are
        reported by `hints`.
        """
        scope = self.context.require(Action.CUSTOMER_READ)
        me = self.context.user.id
        with self.db.read() as conn:
            matches = self._matches(conn, data, exclude_id)
            rows = [customer_row(conn, i) for i in sorted(matches)]
            return [
                to_customer(conn, self.db.keys, r)
                for r in rows
                if scope is Scope.ALL or r["owner_id"] == me
            ]

    def described(
        self, data: Mapping[str, Any], exclude_id: int | None = None
    ) -> list[DuplicateHint]:
        """Every likely duplicate the caller may be told of, as code, owner and the fields
        that matched: the ones they may read, then (for a rep) a colleague's, as `hints`
        tells them. What the command line names when it refuses a duplicate; like `hints`,
        for those who may create customers."""
        self.context.require(Action.CUSTOMER_CREATE)
        scope = self.context.require(Action.CUSTOMER_READ)
        me = self.context.user.id
        with self.db.read() as conn:
            matches = self._matches(conn, data, exclude_id)
            readable = []
            for customer_id in sorted(matches):
                row = conn.execute(
                    "SELECT c.code, c.owner_id, COALESCE(u.username, '') AS owner FROM customers c"
                    " LEFT JOIN users u ON u.id = c.owner_id WHERE c.id=?",
                    (customer_id,),
                ).fetchone()
                if scope is Scope.ALL or row["owner_id"] == me:
                    readable.append(
                        DuplicateHint(row["code"], row["owner"], tuple(matches[customer_id]))
                    )
        return readable if scope is Scope.ALL else readable + self.hints(data, exclude_id)

    def hints(self, data: Mapping[str, Any], exclude_id: int | None = None) -> list[DuplicateHint]:
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
        self.context.require(Action.CUSTOMER_CREATE)
        scope = self.context.require(Action.CUSTOMER_READ)
        if scope is Scope.ALL:
            return []
        with self.db.write() as tx:
            matches = self._matches(tx, data, exclude_id)
            hints = []
            for customer_id in sorted(matches):
                row = tx.execute(
                    "SELECT c.code, c.owner_id, COALESCE(u.username, '') AS owner FROM customers c"
                    " LEFT JOIN users u ON u.id = c.owner_id WHERE c.id=?",
                    (customer_id,),
                ).fetchone()
                if row["owner_id"] != self.context.user.id:
                    hints.append(
                        DuplicateHint(row["code"], row["owner"], tuple(matches[customer_id]))
                    )
            if hints:
                self.context.audit(
                    tx,
                    "duplicate.hint",
                    entity="customer",
                    details={"shown": {h.code: list(h.matched) for h in hints}},
                )
            return hints
