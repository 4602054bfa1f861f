"""Follow-ups due today or overdue: each rep's own, customer service's own plans, and
everyone's for managers and admins, grouped by rep."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..roles import Action, Role
from .context import UNSET, Context
from .errors import PermissionDenied
from .models import DueCount, DueFollowup


class DueLists:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def _due_scope(self, scope_all: bool | None) -> tuple[bool, list[str]]:
        """Whether the caller sees everyone's plans, and the SQL conditions of a due plan.

        Customer service's own plans are found from their follow-ups first (the
        `followups_staff_due` index), then checked against each customer's current plan.
        """
        self.context.require(Action.CUSTOMER_READ)
        may_see_all = self.context.user.role in (Role.MANAGER, Role.ADMIN)
        if scope_all and not may_see_all:
            raise PermissionDenied("Only managers and admins see everyone's follow-ups.")
        see_all = may_see_all if scope_all is None else scope_all
        conditions = ["c.next_followup_at IS NOT NULL", "c.next_followup_at < :tomorrow"]
        if not see_all and self.context.user.role is Role.SERVICE:
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

    def followups(
        self,
        scope_all: bool | None = None,
        limit: int | None = 500,
        today: dt.date | None = None,
        *,
        per_rep: int | None = None,
        owner_id: int | None = UNSET,
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
            "me": self.context.user.id,
            "limit": -1 if limit is None else limit,
            "per_rep": per_rep,
        }
        if owner_id is not UNSET:
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

    def by_rep(self, scope_all: bool | None = None, today: dt.date | None = None) -> list[DueCount]:
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
            "me": self.context.user.id,
        }
        with self.db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [DueCount(r["owner_id"], r["owner"], r["overdue"], r["due_today"]) for r in rows]
