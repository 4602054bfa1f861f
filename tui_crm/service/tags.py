"""Tags on customers: completion from existing tags, adding and removing, audited.

A tag is the same tag whatever the case (or width) it is typed in (`validation.tag_key`):
adding `vip` where `VIP` exists adds `VIP`, so one customer base never holds both.
"""

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
    """Existing tags whose name starts with `prefix` in any case, an exact match first."""
    key = v.tag_key(prefix)
    sql = "SELECT * FROM tags"
    params: list[Any] = []
    if tag_type:
        sql += " WHERE tag_type = ?"
        params.append(tag_type)
    rows = conn.execute(sql + " ORDER BY tag_type, name", params).fetchall()
    found = [r for r in rows if v.tag_key(r["name"]).startswith(key)]
    found.sort(key=lambda r: v.tag_key(r["name"]) != key)
    return [Tag(r["id"], r["tag_type"], r["name"]) for r in found[:limit]]


def same_tag(conn: Any, tag_type: str, name: str) -> Any:
    """The stored tag of this type that `name` is (case and width aside), or None."""
    key = v.tag_key(name)
    for row in conn.execute("SELECT * FROM tags WHERE tag_type = ? ORDER BY id", (tag_type,)):
        if v.tag_key(row["name"]) == key:
            return row
    return None


class Tags:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def suggest(self, prefix: str = "", tag_type: str | None = None, limit: int = 50) -> list[Tag]:
        """Existing tags for completion."""
        return suggest_tags(self.db.conn, prefix, tag_type, limit)

    def add(self, customer_id: int, tag_type: str, name: str) -> Tag:
        """Put the tag on the customer: the existing one when its name differs only in
        case or width, else a new tag; returns the tag as stored."""
        errors: dict[str, str] = {}
        values = v.collect(
            errors,
            {
                "tag_type": lambda: v.choice(tag_type, "tag_type", v.TagType),
                "tag_name": lambda: v.clean_name(name, "tag_name", 50),
            },
        )
        if errors:
            raise v.FormErrors(errors)
        with self.db.write() as tx:
            row = customer_row(tx, customer_id)
            self.context.require(Action.TAG_EDIT, row["owner_id"])
            tag = same_tag(tx, values["tag_type"], values["tag_name"])
            if tag is None:
                tag = tx.execute(
                    "INSERT INTO tags(tag_type, name) VALUES (?, ?) RETURNING *",
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
