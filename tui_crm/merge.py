"""Merging two customers into one: the survivor keeps its id and code and takes, field by
field, the value a person chose; the other's life-cycle moves over and it goes.

- Sensitive values are ciphertexts bound to their row id, so a value taken from the
  merged-away record is decrypted there and encrypted again for the survivor's row.
- Follow-ups and interactions move; tags are united (a tag both had is linked once).
- The merged-away code keeps naming the survivor (`customer_aliases`, `db.resolve_code`);
  codes that named the merged-away record name the survivor from now on.
- Its audit entries stay readable under its own log key, which is marked to be destroyed
  with the survivor's (`customer_keys.shred_with`, honoured by `audit.forget_subject`), so
  a later purge of the survivor forgets both.
- Import runs that made or changed the merged-away record name the survivor from now on
  (`import_rows`): an undo of such a run keeps the survivor and lists it.
- Both codes get an audit entry, in the caller's transaction; the survivor's version
  goes up, so an edit begun before the merge is refused as a conflict.

Who may merge is the service's rule (managers and admins; a sales rep two of their own).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import audit
from . import validation as v
from .bulk import BASE_FIELDS
from .crypto import MASKERS, SENSITIVE_FIELDS, KeyRing, customer_columns
from .i18n import _
from .search_text import search_document

Side = Literal["survivor", "merged"]
SIDES: tuple[Side, ...] = ("survivor", "merged")
PLAIN_FIELDS = BASE_FIELDS
MERGE_FIELDS = (*PLAIN_FIELDS, *SENSITIVE_FIELDS, "owner_id")
MERGE_ACTION = "customer.merge"
MERGED_AWAY_ACTION = "customer.merged"


class MergeError(Exception):
    """A merge refused before anything changed; the message is fit to show as it is."""


class MergeConflict(MergeError):
    """One of the two records was saved by someone else after it was read."""


@dataclass(frozen=True)
class FieldChoice:
    """One field of the side-by-side view: both values (plaintext: the caller masks) and
    the side chosen unless the person picks the other."""

    field: str
    survivor: Any
    merged: Any
    default: Side


@dataclass(frozen=True)
class MergeResult:
    survivor_id: int
    survivor_code: str
    merged_id: int
    merged_code: str
    version: int
    followups: int
    interactions: int
    tags: int  # links moved; a tag both had stays linked once
    fields: dict[str, list[Any]]  # what changed on the survivor, as the audit log holds it


def side_by_side(
    conn: sqlite3.Connection, keys: KeyRing, survivor_id: int, merged_id: int
) -> list[FieldChoice]:
    """Each mergeable field of both records with its default side: the survivor's value,
    or the other's where the survivor has none and it fits the survivor's kind."""
    survivor, merged = _pair(conn, survivor_id, merged_id)
    first, second = _values(keys, survivor), _values(keys, merged)
    defaults = default_choices(first, second)
    return [FieldChoice(f, first[f], second[f], defaults[f]) for f in MERGE_FIELDS]


def default_choices(survivor: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, Side]:
    """Keep the survivor's values; fill its blanks from the other record, except an ID
    number onto a company or a credit code onto a person (which validation refuses)."""
    misfit = {"company": "id_number", "person": "credit_code"}.get(survivor["kind"])
    return {
        f: "merged"
        if survivor[f] in ("", None) and merged[f] not in ("", None) and f != misfit
        else "survivor"
        for f in MERGE_FIELDS
    }


def merge_customers(
    tx: sqlite3.Connection,
    keys: KeyRing,
    survivor_id: int,
    merged_id: int,
    *,
    actor: str,
    choices: Mapping[str, Side] | None = None,
    expected_versions: tuple[int, int] | None = None,
) -> MergeResult:
    """Merge `merged_id` into `survivor_id`; call inside `Database.write()`.

    `choices` names the side of any field that should not take its default
    (`default_choices`); `expected_versions` (survivor's, merged's) are the versions the
    person saw. The merged record must be valid as a whole (`validation.FormErrors`
    names the fields otherwise); on any error nothing is changed once the caller's
    transaction rolls back.
    """
    unknown = set(choices or {}) - set(MERGE_FIELDS)
    bad_sides = {f for f, side in (choices or {}).items() if side not in SIDES}
    if unknown or bad_sides:
        raise MergeError(
            _("cannot merge by field(s) {fields}").format(
                fields=", ".join(sorted(unknown | bad_sides))
            )
        )
    survivor, merged = _pair(tx, survivor_id, merged_id)
    if expected_versions and expected_versions != (survivor["version"], merged["version"]):
        raise MergeConflict(
            _("{survivor} or {merged} was changed by someone else; reload both").format(
                survivor=survivor["code"], merged=merged["code"]
            )
        )
    before, other = _values(keys, survivor), _values(keys, merged)
    sides = {**default_choices(before, other), **(choices or {})}
    picked = {f: (before if sides[f] == "survivor" else other)[f] for f in MERGE_FIELDS}
    clean = v.validate_customer({**picked, "credit_code": picked["credit_code"] or ""})
    after = {**{f: clean.get(f, "") for f in MERGE_FIELDS}, "owner_id": picked["owner_id"]}
    now = v.now()
    updates: dict[str, Any] = {f: after[f] for f in PLAIN_FIELDS}
    updates["credit_code"] = after["credit_code"] or None
    updates.update(
        customer_columns(
            keys, survivor_id, {f: after[f] for f in SENSITIVE_FIELDS if after[f] != before[f]}
        )
    )
    followups = tx.execute(
        "UPDATE followups SET customer_id=? WHERE customer_id=?", (survivor_id, merged_id)
    ).rowcount
    interactions = tx.execute(
        "UPDATE interactions SET customer_id=? WHERE customer_id=?", (survivor_id, merged_id)
    ).rowcount
    tags = tx.execute(
        "UPDATE OR IGNORE customer_tags SET customer_id=? WHERE customer_id=?",
        (survivor_id, merged_id),
    ).rowcount
    updates.update(
        owner_id=after["owner_id"],
        legal_hold=int(bool(survivor["legal_hold"] or merged["legal_hold"])),
        created_at=min(survivor["created_at"], merged["created_at"]),
        last_interaction_at=_latest_activity(tx, survivor, merged),
        next_followup_at=min(
            (d for d in (survivor["next_followup_at"], merged["next_followup_at"]) if d),
            default=None,
        ),
        updated_at=now,
        version=survivor["version"] + 1,
    )
    _keep_code(tx, survivor_id, merged, now)
    # An import run that made or changed the merged-away record now names the survivor,
    # whose values are partly the run's: undoing that run keeps it and says so (version 0,
    # which no customer has, so the undo never takes the survivor for the run's own).
    tx.execute(
        "UPDATE import_rows SET customer_id=?, version_after=0 WHERE customer_id=?",
        (survivor_id, merged_id),
    )
    tx.execute("DELETE FROM customer_search WHERE rowid=?", (merged_id,))
    tx.execute("DELETE FROM customers WHERE id=?", (merged_id,))
    tx.execute(
        f"UPDATE customers SET {', '.join(f'{c} = :{c}' for c in updates)} WHERE id = :id",
        {**updates, "id": survivor_id},
    )
    tx.execute("DELETE FROM customer_search WHERE rowid=?", (survivor_id,))
    tx.execute(
        "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
        (
            survivor_id,
            search_document(survivor["code"], after["name"], after["contact_name"], after["kind"]),
        ),
    )
    fields = _changes(tx, before, after)
    moved = {"followups": followups, "interactions": interactions, "tags": tags}

    def record(action: str, customer: Any, details: dict[str, Any]) -> None:
        """An audit entry sealed under that customer's own log key."""
        audit.append(
            tx,
            keys,
            at=now,
            actor=actor,
            action=action,
            entity="customer",
            entity_id=customer["id"],
            customer_code=customer["code"],
            details=details,
            sealed=True,
        )

    record(MERGED_AWAY_ACTION, merged, {"into": survivor["code"], "fields": _audit_view(tx, other)})
    tx.execute(
        "UPDATE customer_keys SET shred_with=? WHERE customer_code=? OR shred_with=?",
        (survivor["code"], merged["code"], merged["code"]),
    )
    record(MERGE_ACTION, survivor, {"merged": merged["code"], "fields": fields, "moved": moved})
    return MergeResult(
        survivor_id,
        survivor["code"],
        merged_id,
        merged["code"],
        updates["version"],
        followups,
        interactions,
        tags,
        fields,
    )


def _pair(conn: sqlite3.Connection, survivor_id: int, merged_id: int) -> tuple[Any, Any]:
    if survivor_id == merged_id:
        raise MergeError(_("a customer cannot be merged with itself"))
    rows = {
        r["id"]: r
        for r in conn.execute(
            "SELECT * FROM customers WHERE id IN (?, ?)", (survivor_id, merged_id)
        )
    }
    missing = [str(i) for i in (survivor_id, merged_id) if i not in rows]
    if missing:
        raise MergeError(_("no customer with id {ids}").format(ids=", ".join(missing)))
    return rows[survivor_id], rows[merged_id]


def _values(keys: KeyRing, row: sqlite3.Row) -> dict[str, Any]:
    """A record's mergeable fields in plaintext."""
    values: dict[str, Any] = {f: row[f] for f in PLAIN_FIELDS}
    values["credit_code"] = values["credit_code"] or ""
    for name in SENSITIVE_FIELDS:
        values[name] = keys.decrypt(row[f"{name}_enc"], "customers", f"{name}_enc", row["id"]) or ""
    values["owner_id"] = row["owner_id"]
    return values


def _latest_activity(tx: sqlite3.Connection, survivor: Any, merged: Any) -> str | None:
    """The later of both records' last interaction and of every moved follow-up or
    interaction (they belong to the survivor by now)."""
    row = tx.execute(
        "SELECT max(COALESCE((SELECT max(at) FROM followups WHERE customer_id = :id), ''),"
        " COALESCE((SELECT max(at) FROM interactions WHERE customer_id = :id), ''))",
        {"id": survivor["id"]},
    ).fetchone()
    dates = (row[0], survivor["last_interaction_at"], merged["last_interaction_at"])
    return max((d for d in dates if d), default=None)


def _keep_code(tx: sqlite3.Connection, survivor_id: int, merged: Any, now: str) -> None:
    """The merged-away code, and every code that named it, name the survivor from now on."""
    tx.execute(
        "UPDATE customer_aliases SET customer_id=? WHERE customer_id=?", (survivor_id, merged["id"])
    )
    tx.execute(
        "INSERT INTO customer_aliases(code, customer_id, merged_id, merged_at) VALUES (?, ?, ?, ?)",
        (merged["code"], survivor_id, merged["id"], now),
    )


def _audit_view(conn: sqlite3.Connection, values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values as the audit log may hold them: sensitive ones masked, the owner by
    name, empty ones left out."""
    out = {}
    for name, value in values.items():
        if value in ("", None):
            continue
        if name == "owner_id":
            row = conn.execute("SELECT username FROM users WHERE id=?", (value,)).fetchone()
            name, value = "owner", row[0] if row else str(value)
        out[name] = MASKERS[name](value) if name in MASKERS else value
    return out


def _changes(
    conn: sqlite3.Connection, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """The survivor's changed fields as [before, after], masked; a sensitive value whose
    mask did not change is still marked as changed."""
    old, new = _audit_view(conn, before), _audit_view(conn, after)
    fields = {
        k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }
    for name in SENSITIVE_FIELDS:
        if before[name] != after[name] and name not in fields:
            fields[name] = [old.get(name), f"{new.get(name)} (changed)"]
    return fields
