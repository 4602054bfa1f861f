"""The customer list: keyset pages and counts, scoped to what the role may see, with
phones masked before a row leaves (the search plans themselves are in `listing.py`)."""

from __future__ import annotations

from typing import Any

from .. import listing
from ..analytics import tier_name
from ..crypto import MASKERS
from .context import Context
from .models import CustomerRow, FilterChoices
from .tags import suggest_tags
from .users import active_users


class CustomerList:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def page(
        self,
        query: listing.CustomerQuery,
        after: listing.SortKey | None = None,
        limit: int = 50,
        backward: bool = False,
    ) -> list[CustomerRow]:
        """One keyset page of the customer list, scoped by role, phones masked."""
        scope = self.context.owner_scope()
        with self.db.read() as conn:
            rows = listing.page(conn, self.db.keys, query, scope, after, limit, backward)
        return [self._to_row(key, row) for key, row in rows]

    def count(self, query: listing.CustomerQuery, cap: int = 10_000) -> tuple[int, bool]:
        """How many customers the list holds, up to `cap`: (n, whether there are more)."""
        scope = self.context.owner_scope()
        with self.db.read() as conn:
            return listing.count(conn, self.db.keys, query, scope, cap)

    def filter_choices(self) -> FilterChoices:
        """Owners and tags the list can be filtered by, as far as the role may see them;
        "unassigned" only for a role that sees customers without an owner. A disabled
        account still owning customers is among the owners: its customers are the ones a
        manager must hand over to someone else."""
        scope = self.context.owner_scope()
        owners = active_users(self.db.conn, or_owning=True)
        users = [u for u in owners if scope is None or u.id == scope]
        return FilterChoices(
            owners=tuple(users),
            tags=tuple(suggest_tags(self.db.conn, limit=500)),
            unassigned=scope is None,
        )

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
            value_tier=tier_name(row["value_tier"]),
            churn_risk=bool(row["churn_risk"]),
        )
