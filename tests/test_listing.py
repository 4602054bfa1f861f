"""The customer list below the UI: search kinds, role scope, filters, sorts, keyset paging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import customer_data, drop_import_schema, hostile_strings
from tui_crm import listing
from tui_crm.db import SCHEMA_VERSION, Database, search_document, search_query
from tui_crm.listing import CustomerQuery
from tui_crm.service import Service
from tui_crm.validation import FormErrors, ValidationError

Session = Callable[[str], Service]
TODAY = dt.date.today()


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def people(db: Database, session: Session) -> dict[str, int]:
    """A few named customers plus 60 fillers with varied dates, owners, types and tags."""
    admin = session("admin")
    named = {
        "zhang": customer_data(
            name="张伟科技有限公司",
            contact_name="李娜",
            phone="13800131111",
            owner="sales1",
            email="li.na@example.com",
            customer_type="customer",
            industry="C",
        ),
        "beijing": customer_data(
            name="北京科技发展有限公司",
            contact_name="王强",
            phone="13800132222",
            owner="sales2",
            email="wq@example.com",
            industry="I",
        ),
        "anderson": customer_data(
            name="Anderson Thousand Inc",
            contact_name="Christopher Warren",
            phone="13900001234",
            owner="sales1",
            email="ander@example.com",
            industry="F",
        ),
        "wang": customer_data(
            name="王芳餐饮",
            contact_name="张伟",
            phone="13700005678",
            owner="sales2",
            email="wf@example.com",
            customer_type="churned",
            industry="H",
        ),
    }
    ids = {key: admin.customers.create(data).id for key, data in named.items()}
    for i in range(60):
        created = admin.customers.create(
            customer_data(
                name=f"Filler {i % 7} {i:02d}",
                contact_name=f"Contact {i}",
                phone=f"1350000{i:04d}",
                email=f"f{i}@example.com",
                owner="sales1" if i % 3 else "sales2",
                customer_type=("prospect", "customer", "churned")[i % 3],
                industry="ABC"[i % 4 % 3],
            )
        )
        if i % 5 == 0:
            admin.tags.add(created.id, "value", "high value")
        ids[f"filler{i}"] = created.id
    with db.write() as tx:
        tx.execute(
            "UPDATE customers SET"
            " last_interaction_at = CASE WHEN id % 4 = 0 THEN NULL"
            "   ELSE printf('2025-%02d-%02dT10:00:00', id % 12 + 1, id % 5 + 1) END,"
            " next_followup_at = CASE WHEN id % 3 = 0 THEN NULL"
            "   WHEN id % 3 = 1 THEN date('now', 'localtime', printf('%+d days', id % 9 - 4))"
            "   ELSE date('now', 'localtime') END,"
            " created_at = printf('2024-01-%02dT08:00:00', id % 28 + 1)"
        )
    return ids


def _ids(service: Service, query: CustomerQuery, limit: int = 100) -> list[int]:
    return [row.id for row in service.customer_list.page(query, limit=limit)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张", {"zhang", "wang"}),
        ("张伟", {"zhang", "wang"}),
        ("北京科技", {"beijing"}),
        ("科技", {"zhang", "beijing"}),
        ("ander", {"anderson"}),
        ("ANDERSON thou", {"anderson"}),
        ("chris", {"anderson"}),
        ("13800132222", {"beijing"}),
        ("138 0013 2222", {"beijing"}),
        ("ander@example.com", {"anderson"}),
        ("1234", {"anderson"}),
        ("5678", {"wang"}),
        ("zzzqx", set()),
        ("13911112222", set()),
        ('NEAR("a" "b") OR title:* AND ^x', set()),
        ("[/]", set()),
    ],
)
def test_search_finds_by_name_contact_phone_email_and_tail(
    people: dict[str, int], session: Session, text: str, expected: set[str]
) -> None:
    found = set(_ids(session("admin"), CustomerQuery(text=text)))
    assert found == {people[key] for key in expected}


def test_code_prefix_finds_codes_in_code_order(people: dict[str, int], session: Session) -> None:
    admin = session("admin")
    code = admin.customers.get(people["beijing"]).code
    rows = admin.customer_list.page(CustomerQuery(text=code.lower()))
    assert [r.id for r in rows] == [people["beijing"]]
    prefix = admin.customer_list.page(CustomerQuery(text=code[:5]), limit=500)
    assert len(prefix) == len(people)
    assert [r.code for r in prefix] == sorted(r.code for r in prefix)


def test_phone_is_masked_in_rows(people: dict[str, int], session: Session) -> None:
    row = session("admin").customer_list.page(CustomerQuery(text="13800131111"))[0]
    assert row.phone == "138****1111"
    assert row.owner == "sales1"


def test_sales_rep_sees_only_own_customers_in_list_count_and_search(
    people: dict[str, int], session: Session, db: Database
) -> None:
    sales1 = session("sales1")
    own = {r[0] for r in db.conn.execute("SELECT id FROM customers WHERE owner_id=4")}
    assert set(_ids(sales1, CustomerQuery(), limit=500)) == own
    assert sales1.customer_list.count(CustomerQuery()) == (len(own), False)
    assert set(_ids(sales1, CustomerQuery(text="张"))) == {people["zhang"]}
    assert _ids(sales1, CustomerQuery(text="13800132222")) == []
    assert _ids(sales1, CustomerQuery(text="5678")) == []
    assert [u.username for u in sales1.customer_list.filter_choices().owners] == ["sales1"]
    everyone = session("service")
    assert everyone.customer_list.count(CustomerQuery()) == (len(people), False)


def test_filters(people: dict[str, int], session: Session, db: Database) -> None:
    admin = session("admin")

    def expect(where: str, *params: object) -> set[int]:
        return {r[0] for r in db.conn.execute(f"SELECT id FROM customers WHERE {where}", params)}

    assert set(_ids(admin, CustomerQuery(customer_type="churned"))) == expect(
        "customer_type='churned'"
    )
    assert set(_ids(admin, CustomerQuery(industry="B"))) == expect("industry='B'")
    assert set(_ids(admin, CustomerQuery(owner_id=5))) == expect("owner_id=5")
    tag = admin.tags.suggest("high")[0]
    assert set(_ids(admin, CustomerQuery(tag_id=tag.id))) == expect(
        "id IN (SELECT customer_id FROM customer_tags WHERE tag_id=?)", tag.id
    )
    today = TODAY.isoformat()
    assert set(_ids(admin, CustomerQuery(due="today"))) == expect("next_followup_at=?", today)
    assert set(_ids(admin, CustomerQuery(due="overdue"))) == expect("next_followup_at<?", today)
    both = CustomerQuery(customer_type="prospect", industry="A", due="today", text="filler")
    assert set(_ids(admin, both)) == expect(
        "customer_type='prospect' AND industry='A' AND next_followup_at=? AND name LIKE 'Filler%'",
        today,
    )
    assert admin.customer_list.count(CustomerQuery(text="filler"), cap=10) == (10, True)


def _expected_order(db: Database, column: str, descending: bool, owner: int | None) -> list[int]:
    rows = db.conn.execute(
        "SELECT id, " + column + " FROM customers WHERE ? IS NULL OR owner_id = ?", (owner, owner)
    ).fetchall()
    present = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]))
    missing = sorted((r for r in rows if r[1] is None), key=lambda r: r[0])
    if descending:
        present.reverse()
        missing.reverse()
    return [r[0] for r in present + missing]


@pytest.mark.parametrize("sort", list(listing.SORTS))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("user", ["admin", "sales1"])
def test_keyset_pages_walk_the_whole_order_both_ways(
    people: dict[str, int],
    session: Session,
    db: Database,
    sort: str,
    descending: bool,
    user: str,
) -> None:
    service = session(user)
    query = CustomerQuery(sort=sort, descending=descending)
    column = listing.SORTS[sort].removeprefix("c.")
    expected = _expected_order(db, column, descending, service.user.id if user != "admin" else None)

    forward: list[int] = []
    after = None
    while page := service.customer_list.page(query, after=after, limit=7):
        forward.extend(r.id for r in page)
        after = page[-1].key
    assert forward == expected

    backward: list[int] = []
    before = None
    while page := service.customer_list.page(query, after=before, limit=7, backward=True):
        backward[:0] = [r.id for r in page]
        before = page[0].key
    assert backward == expected


def test_search_pages_in_match_order(people: dict[str, int], session: Session) -> None:
    admin = session("admin")
    query = CustomerQuery(text="filler")
    first = admin.customer_list.page(query, limit=25)
    rest = admin.customer_list.page(query, after=first[-1].key, limit=100)
    ids = [r.id for r in first + rest]
    assert ids == sorted(ids) and len(ids) == 60
    last = admin.customer_list.page(query, limit=10, backward=True)
    assert [r.id for r in last] == ids[-10:]


@pytest.mark.parametrize(
    "query",
    [
        CustomerQuery(),
        CustomerQuery(sort="last_interaction", customer_type="churned"),
        CustomerQuery(sort="next_followup", industry="C"),
        CustomerQuery(sort="created", owner_id=4),
    ],
)
def test_unsearched_pages_are_driven_by_the_sort_index(
    people: dict[str, int], db: Database, query: CustomerQuery
) -> None:
    plan = " ".join(listing.explain(db.conn, db.keys, query, 4))
    assert "TEMP B-TREE" not in plan
    assert "customers_" in plan


def test_hostile_names_are_stored_and_found(people: dict[str, int], session: Session) -> None:
    hostile = hostile_strings()
    admin = session("admin")
    for i, entry in enumerate(hostile):
        try:
            admin.customers.create(customer_data(name=entry["text"], phone=f"1360000{i:04d}"))
        except (ValidationError, FormErrors):
            continue  # a name of only spaces is rightly refused
    for entry in hostile:
        admin.customer_list.page(CustomerQuery(text=entry["text"][:30]))
    assert admin.customer_list.page(CustomerQuery(text="Mallory"))


def _names(session: Session, text: str) -> set[str]:
    rows = session("admin").customer_list.page(CustomerQuery(text=text), limit=100)
    return {row.name for row in rows}


def test_chinese_queries_of_two_or_more_characters_are_bigram_phrases() -> None:
    assert search_query("北京科技") == '"北京 京科 科技"'
    assert search_query("张") == '"张"'
    assert search_query("张伟 ander") == '"张伟" AND "ander" *'
    assert search_query("abc北京") == '"abc 北 京"'
    unigrams, bigrams = search_document("C1", "北京云帆 科技", "Bob 张伟").split("\ue000", 1)
    assert unigrams.split() == ["C1", "北", "京", "云", "帆", "科", "技", "Bob", "张", "伟"]
    assert bigrams.split() == ["北京", "京云", "云帆", "帆科", "科技", "\ue000", "张伟"]


def test_chinese_search_matches_adjacent_characters_only(db: Database, session: Session) -> None:
    admin = session("admin")
    for i, name in enumerate(("北京科技有限公司", "北京云帆科技", "北京ABC科技", "北京·科技")):
        admin.customers.create(customer_data(name=name, phone=f"1380013{i:04d}"))
    assert _names(session, "北京科技") == {"北京科技有限公司", "北京·科技"}
    assert _names(session, "京科") == {"北京科技有限公司", "北京·科技"}
    assert _names(session, "云帆科技") == {"北京云帆科技"}
    assert _names(session, "科") == {"北京科技有限公司", "北京云帆科技", "北京ABC科技", "北京·科技"}
    assert _names(session, "技北") == set()


def test_migration_rebuilds_an_index_without_bigrams(tmp_path: Path, session: Session) -> None:
    """A schema-2 database (unigram documents only) finds 2+ character queries once opened."""
    db = session("admin").db
    session("admin").customers.create(customer_data(name="上海明珠餐饮", contact_name="李娜"))
    with db.write() as tx:
        tx.execute("UPDATE customer_search SET doc = ?", ("上 海 明 珠 餐 饮 李 娜",))
        tx.execute("DROP TABLE customer_keys")  # created by later migrations
        tx.execute("DROP TABLE login_throttle")
        tx.execute("DROP INDEX customers_owner_due")
        tx.execute("DROP INDEX followups_staff_due")
        drop_import_schema(tx)
        tx.execute("PRAGMA user_version = 2")
    assert _names(session, "明珠") == set()
    reopened = Database.open(db.path, db.keys)
    assert reopened.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    rows = listing.page(reopened.conn, reopened.keys, CustomerQuery(text="明珠"), None)
    assert [row["name"] for _, row in rows] == ["上海明珠餐饮"]
    reopened.close()
