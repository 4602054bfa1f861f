"""A customer's life cycle: follow-ups, interactions, and the timeline that merges them.

Logging either brings the customer's last-interaction date up to date in the same
transaction as the insert and its audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import validation as v
from ..i18n import _
from ..roles import Action
from .context import Context
from .models import TimelineEntry
from .records import customer_row, diff


class Activity:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def add_followup(
        self,
        customer_id: int,
        *,
        channel: str,
        content: str,
        result: str = "",
        next_followup_date: str = "",
        clear_plan: bool = False,
        at: str | None = None,
    ) -> int:
        """Log a follow-up. The customer's planned follow-up moves to `next_followup_date`
        when one is given and is dropped only with `clear_plan`: logging an inbound call
        without a date keeps the plan a colleague made."""
        errors: dict[str, str] = {}
        values = v.collect(
            errors,
            {
                "channel": lambda: v.choice(channel, "channel", v.Channel),
                "content": lambda: v.required_text(content, "content", 4000),
                "result": lambda: v.choice(result, "result", v.FollowUpResult, required=False),
                "next_followup_date": lambda: v.parse_date(
                    next_followup_date, "next_followup_date"
                ),
            },
        )
        if values.get("next_followup_date") and values["next_followup_date"] < v.today():
            errors["next_followup_date"] = _("must be today or later")
        if clear_plan and values.get("next_followup_date"):
            errors["next_followup_date"] = _("give a next date or clear the plan, not both")
        if errors:
            raise v.FormErrors(errors)
        plan: dict[str, str | None] = {}
        if values["next_followup_date"] or clear_plan:
            plan["next_followup_at"] = values["next_followup_date"] or None
        return self._add_child(
            customer_id,
            Action.FOLLOWUP_ADD,
            "followups",
            {**values, "next_followup_date": values["next_followup_date"] or None},
            at,
            **plan,
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
        values = v.collect(
            errors,
            {
                "kind": lambda: v.choice(kind, "kind", v.InteractionKind),
                "detail": lambda: v.required_text(detail, "detail", 4000),
                "amount_cents": lambda: (
                    amount if isinstance(amount, int) else v.amount_cents(amount)
                ),
            },
        )
        if values.get("kind") == v.InteractionKind.ORDER and values.get("amount_cents") is None:
            errors.setdefault("amount", _("an order needs an amount"))
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
        when = at or v.now()
        row_values = {
            **values,
            "customer_id": customer_id,
            "at": when,
            "staff_id": self.context.user.id,
        }
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            self.context.require(action, row["owner_id"])
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
            self.context.audit(
                tx,
                action.value,
                entity=table.removesuffix("s"),
                entity_id=cursor.lastrowid,
                customer_code=row["code"],
                details={
                    "fields": diff({}, values),
                    **(
                        {"customer": diff({k: row[k] for k in customer_updates}, customer_updates)}
                        if customer_updates
                        else {}
                    ),
                },
            )
            return int(cursor.lastrowid or 0)

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
            row = customer_row(conn, customer_id)
            self.context.require(Action.CUSTOMER_READ, row["owner_id"])
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
