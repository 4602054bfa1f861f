"""Tags on customers: completion from existing tags, adding and removing, audited."""

from __future__ import annotations

from typing import Any

from .. import validation as v
from ..roles import Action
from .context import Context
from .models import Tag
from .records import customer_row


def suggest_tags(
    conn: Any, prefix: str = "", tag_type: str | None = None, limit: int = 50
) -> list[Tag]:
    sql = "SELECT * FROM tags WHERE name LIKE ? || '%'"
    params: list[Any] = [v.clean_text(prefix)]
    if tag_type:
        sql += " AND tag_type = ?"
        params.append(tag_type)
    rows = conn.execute(sql + " ORDER BY tag_type, name LIMIT ?", [*params, limit])
    return [Tag(r["id"], r["tag_type"], r["name"]) for r in rows.fetchall()]


class Tags:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def suggest(self, prefix: str = "", tag_type: str | None = None, limit: int = 50) -> list[Tag]:
        """Existing tags for completion."""
        return suggest_tags(self.db.conn, prefix, tag_type, limit)

    def add(self, customer_id: int, tag_type: str, name: str) -> Tag:
        errors: dict[str, str] = {}
        values = v.collect(
            errors,
            {
                "tag_type": lambda: v.choice(tag_type, "tag_type", v.TagType),
                "tag_name": lambda: v.required_text(name, "tag_name", 50),
            },
        )
        if errors:
            raise v.FormErrors(errors)
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            self.context.require(Action.TAG_EDIT, row["owner_id"])
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
                (customer_id, tag["id"], v.now(), self.context.user.id),
            ).rowcount
            if added:
                self._audit(tx, "tag.add", row, tag)
            return Tag(tag["id"], tag["tag_type"], tag["name"])

    def remove(self, customer_id: int, tag_id: int) -> None:
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            self.context.require(Action.TAG_EDIT, row["owner_id"])
            tag = tx.execute("SELECT * FROM tags WHERE id=?", (tag_id,)).fetchone()
            removed = tx.execute(
                "DELETE FROM customer_tags WHERE customer_id=? AND tag_id=?", (customer_id, tag_id)
            ).rowcount
            if removed and tag:
                self._audit(tx, "tag.remove", row, tag)

    def _audit(self, tx: Any, action: str, row: Any, tag: Any) -> None:
        self.context.audit(
            tx,
            action,
            entity="customer",
            entity_id=row["id"],
            customer_code=row["code"],
            details={"tag": f"{tag['tag_type']}:{tag['name']}"},
        )
