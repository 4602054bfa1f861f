"""Connection factory, schema and migrations.

Every connection runs in autocommit mode so that each write transaction is opened
explicitly with `BEGIN IMMEDIATE` by `Database.write()`: a deferred transaction that later
upgrades to a write can fail with SQLITE_BUSY however long the busy timeout is.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from . import staging
from .crypto import DecryptionError, KeyFileError, KeyRing
from .files import create_private_empty
from .i18n import _
from .search_text import search_document
from .validation import tag_key

BUSY_TIMEOUT_MS = 15_000

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA secure_delete=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
)

AUDIT_HEAD_KEY = "audit_head"
AUDIT_GENESIS = "0" * 64
# The tables of rows that audit entries name and ciphertexts are bound to by id: their ids
# are never reused (AUTOINCREMENT), and incremental backups track their changes.
DATA_TABLES = (
    "users",
    "customers",
    "followups",
    "interactions",
    "tags",
    "customer_tags",
    "customer_keys",
    "customer_aliases",
    "import_runs",
    "import_rows",
    "import_mappings",
)


def _ids_never_reused(conn: sqlite3.Connection, keys: KeyRing) -> None:
    """Rebuild each table with AUTOINCREMENT (SQLite's own 12-step table change: new table
    from the stored definition, copy, drop, rename, then its indexes and triggers again), so
    an id freed by a purge is never handed out again, whoever inserts."""
    for table in DATA_TABLES:
        stored = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        if stored is None or "AUTOINCREMENT" in stored[0].upper():
            continue
        definition, replaced = re.subn(
            r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b",
            "id INTEGER PRIMARY KEY AUTOINCREMENT",
            stored[0],
            count=1,
            flags=re.IGNORECASE,
        )
        head = re.match(rf"\s*CREATE\s+TABLE\s+\"?{table}\"?", definition, re.IGNORECASE)
        if not replaced or head is None:
            raise DatabaseError(
                _("cannot rebuild table {table}: unexpected definition").format(table=table)
            )
        dependents = [
            row[0]
            for row in conn.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name=? AND type IN ('index', 'trigger')"
                " AND sql IS NOT NULL ORDER BY type, name",
                (table,),
            )
        ]
        conn.execute(f"CREATE TABLE {table}__rebuilt" + definition[head.end() :])
        conn.execute(f"INSERT INTO {table}__rebuilt SELECT * FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}__rebuilt RENAME TO {table}")
        for statement in dependents:
            conn.execute(statement)


def _authenticate_audit_head(conn: sqlite3.Connection, keys: KeyRing) -> None:
    """Sign the audit head (until now a plain `id:hash`) and bind every customer's log key to
    their code, so truncating the log or swapping keys between customers is detected.

    The head signed is the one recorded before this step, not the log's current end, so a
    log already cut short stays detectably short.
    """
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    recorded = conn.execute("SELECT value FROM meta WHERE key=?", (AUDIT_HEAD_KEY,)).fetchone()
    last_id, last_hash = (last[0], last[1]) if last else (0, AUDIT_GENESIS)
    if recorded is not None and keys.open_audit_head(recorded[0]) is None:
        legacy_id, _colon, legacy_hash = recorded[0].partition(":")
        if legacy_id.isdigit() and len(legacy_hash) == len(AUDIT_GENESIS):
            last_id, last_hash = int(legacy_id), legacy_hash
    if recorded is None or keys.open_audit_head(recorded[0]) is None:
        set_meta(conn, AUDIT_HEAD_KEY, keys.sign_audit_head(last_id, last_id, last_hash))
    for row_id, code, wrapped in conn.execute(
        "SELECT id, customer_code, wrapped FROM customer_keys"
    ).fetchall():
        try:
            key = keys.decrypt(wrapped, "customer_keys", "wrapped", row_id)
        except DecryptionError:
            continue  # already tampered with: left for `audit verify` to report
        conn.execute(
            "UPDATE customer_keys SET wrapped=? WHERE id=?",
            (keys.encrypt(key, "customer_keys", "wrapped", row_id, bound_to=code), row_id),
        )


def _one_tag_per_name_in_any_case(conn: sqlite3.Connection, keys: KeyRing) -> None:
    """Merge tags of one type whose names differ only in case or width (`vip`, `VIP`),
    as the service now matches them: the most used one (the oldest on a tie) keeps its
    name and takes the others' customers. (Not audited: the audit module builds on this
    one; the README's upgrade note says what this step does.)"""
    groups: dict[tuple[str, str], list[sqlite3.Row]] = {}
    for row in conn.execute(
        "SELECT t.id, t.tag_type, t.name,"
        " (SELECT COUNT(*) FROM customer_tags ct WHERE ct.tag_id = t.id) AS used"
        " FROM tags t ORDER BY t.id"
    ).fetchall():
        groups.setdefault((row["tag_type"], tag_key(row["name"])), []).append(row)
    for members in groups.values():
        kept = max(members, key=lambda r: (r["used"], -r["id"]))
        for other in members:
            if other["id"] == kept["id"]:
                continue
            conn.execute(
                "UPDATE OR IGNORE customer_tags SET tag_id = ? WHERE tag_id = ?",
                (kept["id"], other["id"]),
            )
            conn.execute("DELETE FROM customer_tags WHERE tag_id = ?", (other["id"],))
            conn.execute("DELETE FROM tags WHERE id = ?", (other["id"],))


def _change_triggers(*tables: str) -> str:
    """Triggers logging `(table, id)` of every write once change tracking is on (backups)."""
    return "".join(
        f"CREATE TRIGGER change_{table}_{event.lower()} AFTER {event} ON {table}\n"
        "    WHEN (SELECT value FROM meta WHERE key = 'change_tracking') = '1'\n"
        f"    BEGIN INSERT INTO change_log(tbl, row_id) VALUES ('{table}', {ref}.id); END;\n"
        for table in tables
        for event, ref in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    )


# Issue 11: the order figures of one customer (`customers.id` in an UPDATE of customers),
# recounted from its orders through `interactions_customer_kind`; an order is an interaction
# of kind 'order' with an amount.
_ORDERS_OF_CUSTOMER = (
    "FROM interactions i WHERE i.customer_id = customers.id AND i.kind = 'order'"
    " AND i.amount_cents IS NOT NULL"
)
_RECOUNT_ORDERS = (
    "(order_total_cents, order_count, first_order_at, last_order_at) ="
    f" (SELECT COALESCE(SUM(i.amount_cents), 0), COUNT(*), MIN(i.at), MAX(i.at)"
    f" {_ORDERS_OF_CUSTOMER}),"
    f" second_order_at = (SELECT i.at {_ORDERS_OF_CUSTOMER} ORDER BY i.at LIMIT 1 OFFSET 1)"
)
_RETIER = "value_tier = (SELECT v.tier FROM customer_value v WHERE v.id = customers.id)"
_INTERESTED = "('interest', 'need confirmed')"  # validation.FollowUpResult, tested
_RECOUNT_INTEREST = (
    "first_interest_at = (SELECT f.at FROM followups f WHERE f.customer_id = customers.id"
    f" AND f.result IN {_INTERESTED} ORDER BY f.at LIMIT 1)"
)
_IS_ORDER = "{row}.kind = 'order' AND {row}.amount_cents IS NOT NULL"
# Every customer's figures recounted at once (the triggers' migration, a new demo's build).
_RECOUNT_ALL_ORDERS = (
    f"UPDATE customers SET {_RECOUNT_ORDERS} WHERE id IN"
    f" (SELECT customer_id FROM interactions i WHERE {_IS_ORDER.format(row='i')})"
)
_RECOUNT_ALL_INTEREST = (
    f"UPDATE customers SET {_RECOUNT_INTEREST} WHERE id IN"
    f" (SELECT customer_id FROM followups WHERE result IN {_INTERESTED})"
)


Migration = str | Callable[[sqlite3.Connection, KeyRing], None]

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the whole first schema.
    """
    CREATE TABLE meta (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        value TEXT NOT NULL
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'sales', 'service')),
        password_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        last_login_at TEXT,
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('company', 'person')),
        contact_name TEXT NOT NULL DEFAULT '',
        contact_title TEXT NOT NULL DEFAULT '',
        phone_enc BLOB,
        phone_bidx BLOB,
        phone_last4 TEXT,
        email_enc BLOB,
        email_bidx BLOB,
        id_number_enc BLOB,
        id_number_bidx BLOB,
        credit_code TEXT,
        address_enc BLOB,
        province TEXT NOT NULL DEFAULT '',
        city TEXT NOT NULL DEFAULT '',
        industry TEXT NOT NULL DEFAULT '',
        customer_type TEXT NOT NULL CHECK (customer_type IN ('prospect', 'customer', 'churned')),
        company_size TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        owner_id INTEGER REFERENCES users(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_interaction_at TEXT,
        next_followup_at TEXT,
        legal_hold INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX customers_name ON customers(name, id);
    CREATE INDEX customers_last_interaction ON customers(last_interaction_at, id);
    CREATE INDEX customers_next_followup ON customers(next_followup_at, id);
    CREATE INDEX customers_created ON customers(created_at, id);
    CREATE INDEX customers_owner ON customers(owner_id, id);
    CREATE INDEX customers_type ON customers(customer_type, id);
    CREATE INDEX customers_industry ON customers(industry, id);
    CREATE INDEX customers_phone_bidx ON customers(phone_bidx) WHERE phone_bidx IS NOT NULL;
    CREATE INDEX customers_email_bidx ON customers(email_bidx) WHERE email_bidx IS NOT NULL;
    CREATE INDEX customers_id_number_bidx ON customers(id_number_bidx)
        WHERE id_number_bidx IS NOT NULL;
    CREATE INDEX customers_phone_last4 ON customers(phone_last4, id);
    CREATE INDEX customers_credit_code ON customers(credit_code) WHERE credit_code IS NOT NULL;

    CREATE TABLE followups (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('phone', 'visit', 'email', 'other')),
        content TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL DEFAULT '',
        staff_id INTEGER REFERENCES users(id),
        next_followup_date TEXT
    );
    CREATE INDEX followups_customer ON followups(customer_id, at);
    CREATE INDEX followups_due ON followups(next_followup_date);

    CREATE TABLE interactions (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('event', 'complaint', 'enquiry', 'order', 'other')),
        detail TEXT NOT NULL DEFAULT '',
        amount_cents INTEGER,
        staff_id INTEGER REFERENCES users(id)
    );
    CREATE INDEX interactions_customer ON interactions(customer_id, at);

    CREATE TABLE tags (
        id INTEGER PRIMARY KEY,
        tag_type TEXT NOT NULL CHECK (tag_type IN ('industry', 'need', 'value', 'custom')),
        name TEXT NOT NULL,
        UNIQUE (tag_type, name)
    );
    CREATE TABLE customer_tags (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags(id),
        set_at TEXT NOT NULL,
        set_by INTEGER REFERENCES users(id),
        UNIQUE (customer_id, tag_id)
    );
    CREATE INDEX customer_tags_tag ON customer_tags(tag_id, customer_id);

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity TEXT NOT NULL DEFAULT '',
        entity_id INTEGER,
        customer_code TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit_log(at);
    CREATE INDEX audit_actor ON audit_log(actor, id);
    CREATE INDEX audit_customer ON audit_log(customer_code, id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    CREATE VIRTUAL TABLE customer_search USING fts5(
        doc, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
    );
    """,
    # 2 (issue 5): row-level change log for incremental backups. Only (table, id) is kept,
    # and only once the first full backup has set meta change_tracking=1.
    "CREATE TABLE change_log (\n"
    "    seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    tbl TEXT NOT NULL,\n"
    "    row_id INTEGER NOT NULL\n"
    ");\n"
    + _change_triggers(
        "meta", "users", "customers", "followups", "interactions", "tags", "customer_tags"
    ),
    # 3 (issue 3): CJK bigram tokens in every search document (see `search_document`),
    # so that Chinese queries of 2+ characters are phrases of short bigram doclists.
    # The index is rebuilt from the customers table by the connection's SQL function.
    """
    DROP TABLE customer_search;
    CREATE VIRTUAL TABLE customer_search USING fts5(
        doc, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
    );
    INSERT INTO customer_search(rowid, doc)
        SELECT id, crm_search_document(code, name, contact_name) FROM customers;
    INSERT INTO customer_search(customer_search) VALUES ('optimize');
    """,
    # 4: each customer's own key for sealing their details in the audit log; a purge
    # deletes it (see audit.py). Tracked for incremental backups like the data tables.
    """
    CREATE TABLE customer_keys (
        id INTEGER PRIMARY KEY,
        customer_code TEXT NOT NULL UNIQUE,
        wrapped BLOB NOT NULL
    );
    """
    + _change_triggers("customer_keys"),
    # 5 (issue 4): the due list. Each rep's plans in date order (the rowid, last in every
    # index, breaks ties), covering the per-rep counts and "most urgent 5" without reading
    # customer rows; and each staff member's planned dates, so customer service's list
    # starts from their own follow-ups. Partial: only rows with a plan are indexed.
    """
    CREATE INDEX customers_owner_due ON customers(owner_id, next_followup_at)
        WHERE next_followup_at IS NOT NULL;
    CREATE INDEX followups_staff_due ON followups(staff_id, next_followup_date, customer_id)
        WHERE next_followup_date IS NOT NULL;
    """,
    # (issue 9) row ids are never reused after a purge: AUTOINCREMENT on every data table.
    _ids_never_reused,
    # (issue 9) the audit head is MAC'd; customer log keys are bound to their customer code.
    _authenticate_audit_head,
    # (issue 9) failed sign-ins per (who, where) for back-off; `subject` is a keyed hash of
    # the typed name, never the name (it may be a password typed into the wrong box).
    """
    CREATE TABLE login_throttle (
        id INTEGER PRIMARY KEY,
        subject BLOB NOT NULL,
        source TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        last_failure_at TEXT NOT NULL,
        blocked_until TEXT NOT NULL,
        UNIQUE (subject, source)
    );
    CREATE INDEX login_throttle_last ON login_throttle(last_failure_at);
    """,
    # (issue 10) merging duplicates: a merged-away customer's code keeps naming the
    # survivor, and its audit key is destroyed when the survivor's is (see audit.py).
    """
    CREATE TABLE customer_aliases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        code TEXT NOT NULL UNIQUE,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        merged_id INTEGER NOT NULL,
        merged_at TEXT NOT NULL
    );
    CREATE INDEX customer_aliases_customer ON customer_aliases(customer_id);
    ALTER TABLE customer_keys ADD COLUMN shred_with TEXT;
    CREATE INDEX customer_keys_shred_with ON customer_keys(shred_with)
        WHERE shred_with IS NOT NULL;
    """
    + _change_triggers("customer_aliases"),
    # (issue 12): pinyin of names and contact names in every search document (full syllables
    # and initials, see search_text.py), read by each customer's kind. Prefix indexes up to
    # 5 characters, so typing `zhan`, `zhang`, `chen` walks one doclist instead of merging
    # thousands. The rebuild merges segments once at the end rather than as it goes.
    """
    DROP TABLE customer_search;
    CREATE VIRTUAL TABLE customer_search USING fts5(
        doc, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5'
    );
    INSERT INTO customer_search(customer_search, rank) VALUES ('automerge', 0);
    INSERT INTO customer_search(rowid, doc)
        SELECT id, crm_search_document(code, name, contact_name, kind) FROM customers;
    INSERT INTO customer_search(customer_search, rank) VALUES ('automerge', 4);
    INSERT INTO customer_search(customer_search) VALUES ('optimize');
    """,
    # (issue 12): each user's remembered interface language, a code such as `zh_CN`; NULL
    # follows config.toml and the locale. Set by `service.users.set_language`.
    """
    ALTER TABLE users ADD COLUMN language TEXT;
    """,
    # issue 11: per-customer order figures, kept by triggers on `interactions` in the same
    # transaction as every insert, delete or move of an order (form, import, merge, purge);
    # the first "interested" follow-up, kept by triggers on `followups` (the funnel); the
    # value tier (1 high, 2 medium, 3 low, 4 no orders), scored by the `customer_value` view
    # against the one row of `value_tier_rules` that `analytics.recompute_tiers` writes (NULL
    # for customers with orders until it first runs); churn warnings and their flag, written
    # by `analytics.refresh_churn`. Complaints in the last 90 days are counted when read, on
    # `interactions_customer_kind` (one customer) and `interactions_kind_at` (everyone).
    # `customers_funnel` holds every column the funnel reads, so it never visits the rows.
    """
    ALTER TABLE customers ADD COLUMN order_total_cents INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE customers ADD COLUMN order_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE customers ADD COLUMN first_order_at TEXT;
    ALTER TABLE customers ADD COLUMN second_order_at TEXT;
    ALTER TABLE customers ADD COLUMN last_order_at TEXT;
    ALTER TABLE customers ADD COLUMN first_interest_at TEXT;
    ALTER TABLE customers ADD COLUMN value_tier INTEGER DEFAULT 4;
    ALTER TABLE customers ADD COLUMN churn_risk INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE value_tier_rules (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        spend_high_cents INTEGER,
        spend_medium_cents INTEGER,
        orders_high INTEGER,
        orders_medium INTEGER,
        recency_high_days INTEGER,
        recency_medium_days INTEGER,
        high_score INTEGER NOT NULL DEFAULT 8,
        medium_score INTEGER NOT NULL DEFAULT 6,
        as_of TEXT,
        sources TEXT NOT NULL DEFAULT '{{}}'
    );
    INSERT INTO value_tier_rules(id) VALUES (1);

    CREATE VIEW customer_value AS
    SELECT s.*,
        CASE WHEN s.order_count = 0 THEN 4
             WHEN s.as_of IS NULL THEN NULL
             WHEN s.spend_score + s.orders_score + s.recency_score >= s.high_score THEN 1
             WHEN s.spend_score + s.orders_score + s.recency_score >= s.medium_score THEN 2
             ELSE 3 END AS tier
    FROM (
        SELECT c.id, c.order_count, c.order_total_cents, c.last_order_at, r.as_of,
            r.high_score, r.medium_score,
            CASE WHEN c.order_total_cents >= r.spend_high_cents THEN 3
                 WHEN c.order_total_cents >= r.spend_medium_cents THEN 2 ELSE 1 END
                AS spend_score,
            CASE WHEN c.order_count >= r.orders_high THEN 3
                 WHEN c.order_count >= r.orders_medium THEN 2 ELSE 1 END AS orders_score,
            CAST(julianday(r.as_of) - julianday(substr(c.last_order_at, 1, 10)) AS INTEGER)
                AS recency_days,
            CASE WHEN julianday(r.as_of) - julianday(substr(c.last_order_at, 1, 10))
                      <= r.recency_high_days THEN 3
                 WHEN julianday(r.as_of) - julianday(substr(c.last_order_at, 1, 10))
                      <= r.recency_medium_days THEN 2 ELSE 1 END AS recency_score
        FROM customers c JOIN value_tier_rules r ON r.id = 1
    ) AS s;

    CREATE INDEX interactions_customer_kind ON interactions(customer_id, kind, at, amount_cents);
    CREATE INDEX interactions_kind_at ON interactions(kind, at, customer_id, amount_cents);
    CREATE INDEX followups_at ON followups(at, customer_id);

    {recount_all_orders};
    UPDATE customers SET value_tier = NULL WHERE order_count > 0;
    {recount_all_interest};

    CREATE INDEX customers_tier ON customers(value_tier, id);
    CREATE INDEX customers_orders
        ON customers(value_tier, order_total_cents, order_count, last_order_at)
        WHERE order_count > 0;
    CREATE INDEX customers_churn ON customers(owner_id, value_tier, id) WHERE churn_risk = 1;
    CREATE INDEX customers_churn_tier ON customers(value_tier, id) WHERE churn_risk = 1;
    CREATE INDEX customers_funnel ON customers(created_at, first_interest_at, first_order_at,
        second_order_at, customer_type, owner_id, source, industry, province);

    CREATE TRIGGER interactions_order_insert AFTER INSERT ON interactions
        WHEN {new_order}
    BEGIN
        UPDATE customers SET
            order_total_cents = order_total_cents + NEW.amount_cents,
            order_count = order_count + 1,
            second_order_at = CASE WHEN first_order_at IS NULL THEN NULL
                WHEN NEW.at < first_order_at THEN first_order_at
                ELSE min(COALESCE(second_order_at, NEW.at), NEW.at) END,
            first_order_at = min(COALESCE(first_order_at, NEW.at), NEW.at),
            last_order_at = max(COALESCE(last_order_at, NEW.at), NEW.at)
            WHERE id = NEW.customer_id;
        UPDATE customers SET {retier} WHERE id = NEW.customer_id;
    END;
    CREATE TRIGGER interactions_order_delete AFTER DELETE ON interactions
        WHEN {old_order}
    BEGIN
        UPDATE customers SET {recount_orders} WHERE id = OLD.customer_id;
        UPDATE customers SET {retier} WHERE id = OLD.customer_id;
    END;
    CREATE TRIGGER interactions_order_update
        AFTER UPDATE OF customer_id, kind, at, amount_cents ON interactions
        WHEN ({old_order}) OR ({new_order})
    BEGIN
        UPDATE customers SET {recount_orders} WHERE id IN (OLD.customer_id, NEW.customer_id);
        UPDATE customers SET {retier} WHERE id IN (OLD.customer_id, NEW.customer_id);
    END;
    CREATE TRIGGER followups_interest_insert AFTER INSERT ON followups
        WHEN NEW.result IN {interested}
    BEGIN
        UPDATE customers SET first_interest_at = min(COALESCE(first_interest_at, NEW.at), NEW.at)
            WHERE id = NEW.customer_id;
    END;
    CREATE TRIGGER followups_interest_delete AFTER DELETE ON followups
        WHEN OLD.result IN {interested}
    BEGIN
        UPDATE customers SET {recount_interest} WHERE id = OLD.customer_id;
    END;
    CREATE TRIGGER followups_interest_update AFTER UPDATE OF customer_id, result, at ON followups
        WHEN OLD.result IN {interested} OR NEW.result IN {interested}
    BEGIN
        UPDATE customers SET {recount_interest} WHERE id IN (OLD.customer_id, NEW.customer_id);
    END;

    CREATE TABLE churn_warnings (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        rule TEXT NOT NULL,
        figures TEXT NOT NULL DEFAULT '{{}}',
        since TEXT NOT NULL,
        reminder_on TEXT,
        UNIQUE (customer_id, rule)
    );
    """.format(
        recount_orders=_RECOUNT_ORDERS,
        recount_interest=_RECOUNT_INTEREST,
        recount_all_orders=_RECOUNT_ALL_ORDERS,
        recount_all_interest=_RECOUNT_ALL_INTEREST,
        retier=_RETIER,
        interested=_INTERESTED,
        new_order=_IS_ORDER.format(row="NEW"),
        old_order=_IS_ORDER.format(row="OLD"),
    )
    + _change_triggers("value_tier_rules")
    + _change_triggers("churn_warnings"),
    # issue 11: the monthly verification sample. One sample a month (drawing twice is
    # refused by the UNIQUE month); its seed and population cut make the draw reproducible.
    # Items keep the owner at draw time (the spread) and the assignee; a correction links
    # the `customer.update` audit entry and the version it produced, and names the fields.
    """
    CREATE TABLE verification_samples (
        id INTEGER PRIMARY KEY,
        month TEXT NOT NULL UNIQUE,
        percent REAL NOT NULL,
        seed INTEGER NOT NULL,
        population INTEGER NOT NULL,
        max_customer_id INTEGER NOT NULL,
        population_digest TEXT NOT NULL,
        drawn_at TEXT NOT NULL,
        drawn_by TEXT NOT NULL,
        due_on TEXT NOT NULL
    );
    CREATE TABLE verification_items (
        id INTEGER PRIMARY KEY,
        sample_id INTEGER NOT NULL REFERENCES verification_samples(id) ON DELETE CASCADE,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        owner_id INTEGER REFERENCES users(id),
        assignee_id INTEGER REFERENCES users(id),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
            ('pending', 'verified', 'corrected', 'unreachable', 'wrong_person')),
        checked_at TEXT,
        checked_by INTEGER REFERENCES users(id),
        audit_id INTEGER,
        customer_version INTEGER,
        fields TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX verification_items_assignee
        ON verification_items(sample_id, assignee_id, status, id);
    CREATE INDEX verification_items_customer ON verification_items(customer_id);
    """
    + _change_triggers("verification_samples")
    + _change_triggers("verification_items"),
    # (issue 10): imports. A run is a thing: who, which file (name, SHA-256), the mapping,
    # the source and legal basis the importer states, counts and status; `heartbeat_at`
    # and `pid` tell a run cut short from one still going. Each customer a run created or
    # updated has one row record (for updates the values it replaced, encrypted, and the
    # version it left) so the run can be undone. Mappings are saved by name for everyone.
    # Customers remember the run that created them; extra phones and emails from a file
    # are kept encrypted like the other contact values. Change-tracked for backups.
    """
    CREATE TABLE import_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        actor TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        heartbeat_at TEXT NOT NULL,
        pid INTEGER NOT NULL,
        file_name TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        mapping TEXT NOT NULL,
        options TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        legal_basis TEXT NOT NULL CHECK (legal_basis IN
            ('consent', 'contract', 'legal_obligation', 'public_interest', 'publicly_available',
             'other_law')),
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'undone')),
        total_rows INTEGER,
        last_line INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        review INTEGER NOT NULL DEFAULT 0,
        report_path TEXT NOT NULL DEFAULT '',
        report_bytes INTEGER NOT NULL DEFAULT 0,
        undone_at TEXT,
        undone_by TEXT
    );
    CREATE INDEX import_runs_status ON import_runs(status, id);
    CREATE TABLE import_rows (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES import_runs(id),
        line INTEGER NOT NULL,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        action TEXT NOT NULL CHECK (action IN ('created', 'updated')),
        version_after INTEGER NOT NULL,
        previous_enc BLOB,
        review TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX import_rows_run ON import_rows(run_id, id);
    CREATE INDEX import_rows_customer ON import_rows(customer_id, run_id);
    CREATE TABLE import_mappings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        mapping TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        saved_at TEXT NOT NULL
    );
    ALTER TABLE customers ADD COLUMN import_run_id INTEGER;
    ALTER TABLE customers ADD COLUMN extra_contacts_enc BLOB;
    """
    + _change_triggers("import_runs", "import_rows", "import_mappings"),
    # (issue 14): a tag is the same tag in any case or width; tags stored twice merge.
    _one_tag_per_name_in_any_case,
)

SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseError(Exception):
    """A database that is missing, foreign, too new, or does not match the key file."""


def not_found(path: Path) -> str:
    return _("database {path} not found (run `tui-crm init` first)").format(path=path)


def connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        conn.execute(pragma).close()
    # The index text as SQL, so migrations can rebuild the search index: (code, name,
    # contact_name[, kind]).
    for arity in (3, 4):
        conn.create_function("crm_search_document", arity, search_document, deterministic=True)
    return conn


def migrate(conn: sqlite3.Connection, keys: KeyRing) -> None:
    """Bring the schema up to date, each migration in its own transaction.

    Foreign keys are off meanwhile (a table rebuild drops and renames tables, which with
    them on would cascade) and checked before each commit, as SQLite's guide prescribes.
    """
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise DatabaseError(
            _("database schema {found} is newer than this tui-crm ({known}); upgrade").format(
                found=current, known=SCHEMA_VERSION
            )
        )
    if current == SCHEMA_VERSION:
        return
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        for number in range(current + 1, SCHEMA_VERSION + 1):
            step = MIGRATIONS[number - 1]
            conn.execute("BEGIN IMMEDIATE")
            try:
                if callable(step):
                    step(conn, keys)
                else:
                    for statement in _statements(step):
                        conn.execute(statement)
                if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise DatabaseError(
                        _("migration {number} left dangling references").format(number=number)
                    )
                conn.execute(f"PRAGMA user_version={number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements, keeping trigger bodies whole."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""


class Database:
    """One open database with its key ring; thread-safe for one writer at a time."""

    def __init__(self, path: Path, keys: KeyRing, conn: sqlite3.Connection) -> None:
        self.path = path
        self.keys = keys
        self.conn = conn
        self._lock = threading.RLock()

    @classmethod
    def create(cls, path: Path, keys: KeyRing) -> Database:
        if path.exists() and path.stat().st_size > 0:
            raise DatabaseError(
                _("{path} already exists; refusing to overwrite it").format(path=path)
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            create_private_empty(path)  # 0600; SQLite gives its -wal and -shm the same mode
        conn = connect(path)
        migrate(conn, keys)
        db = cls(path, keys, conn)
        with db.write() as tx:
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('key_check', ?), ('key_id', ?)",
                (keys.check_value(), str(keys.key_id)),
            )
        return db

    @classmethod
    def open(cls, path: Path, keys: KeyRing) -> Database:
        """Open an existing database, refusing a key that is not its own before any write."""
        if not path.exists():
            raise DatabaseError(not_found(path))
        conn = connect(path)
        try:
            stored = conn.execute("SELECT value FROM meta WHERE key='key_check'").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise DatabaseError(
                _("{path} is not a tui-crm database ({reason})").format(path=path, reason=exc)
            ) from None
        if stored is None or stored[0] != keys.check_value():
            conn.close()
            raise KeyFileError(
                _("the key file does not belong to database {path}").format(path=path)
            )
        staging.sweep(path.parent, staging.LEGACY_RESIDUE)
        migrate(conn, keys)
        return cls(path, keys, conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, begun IMMEDIATE; rolled back whole on any error."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several queries."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    @contextmanager
    def exclusive(self) -> Iterator[sqlite3.Connection]:
        """The connection to itself, for work (a restore) no other thread may interleave with."""
        with self._lock:
            yield self.conn

    def utils(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.conn)

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.conn.close()


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (key, value),
    )


def recount_customer_figures(conn: sqlite3.Connection) -> None:
    """Recount the order figures and first interest of every customer that has any, as
    the triggers' own migration did (see `bulk.deferred_indexes`)."""
    conn.execute(_RECOUNT_ALL_ORDERS).close()
    conn.execute(_RECOUNT_ALL_INTEREST).close()


def next_customer_codes(conn: sqlite3.Connection, year: int, count: int = 1) -> list[str]:
    """Reserve `count` new codes `C<year><6 digits>`; a code is never handed out twice."""
    start = reserve_customer_codes(conn, year, count)
    return [f"C{year}{n:06d}" for n in range(start + 1, start + count + 1)]


def reserve_customer_codes(conn: sqlite3.Connection, year: int, count: int) -> int:
    """Reserve `count` new codes of `year`; returns the sequence number before the first."""
    key = f"code_seq_{year}"
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    start = int(row[0]) if row else 0
    set_meta(conn, key, str(start + count))
    return start


def next_row_id(conn: sqlite3.Connection, table: str) -> int:
    """The id the next insert will get, so ciphertexts can be bound to it before inserting:
    past every id the table ever held (AUTOINCREMENT's high-water mark), never a reused one.

    Safe only inside a write transaction, which holds the database's write lock.
    """
    row = conn.execute(
        f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name=?), 0),"
        f" COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1",
        (table,),
    ).fetchone()
    return int(row[0])


def resolve_code(conn: sqlite3.Connection, code: str) -> int | None:
    """The id of the customer a code names: its own code, or the code of a customer that
    was merged into it (codes are never reused, so the two never clash)."""
    code = code.strip().upper()
    row = conn.execute("SELECT id FROM customers WHERE code=?", (code,)).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT customer_id FROM customer_aliases WHERE code=?", (code,)
        ).fetchone()
    return int(row[0]) if row else None
