"""Pinyin search: index documents, query tiers, ranking and paging on a real database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from tests.conftest import customer_data, hostile_strings
from tui_crm import listing, search_text
from tui_crm.db import MIGRATIONS, Database, _statements
from tui_crm.listing import CustomerQuery
from tui_crm.search_text import TIERS, search_document, search_match, search_tiers
from tui_crm.service import Service
from tui_crm.validation import FormErrors, ValidationError

Session = Callable[[str], Service]


def _pinyin(document: str) -> set[str]:
    """The pinyin tokens of a document, spelled back in a-z (initials in upper case)."""
    out = set()
    for token in document.split():
        first = ord(token[0])
        if 0xE100 <= first < 0xE11A:
            out.add(chr(first - 0xE100 + ord("a")) + token[1:])
        elif 0xE200 <= first < 0xE21A:
            out.add((chr(first - 0xE200 + ord("a")) + token[1:]).upper())
    return out


def _found(session: Session, text: str, limit: int = 100) -> list[str]:
    return [
        row.name
        for row in session("admin").customer_list.page(CustomerQuery(text=text), limit=limit)
    ]


def test_document_holds_full_pinyin_and_initials_from_each_syllable() -> None:
    tokens = _pinyin(search_document("C1", "张伟", "", "person"))
    assert tokens == {"zhangwei", "wei", "ZW", "W"}


def test_company_names_read_in_words_without_their_legal_form() -> None:
    tokens = _pinyin(search_document("C1", "重庆银行股份有限公司", "", "company"))
    assert "chongqingyinhang" in tokens and "yinhang" in tokens and "CQYH" in tokens
    assert not any("gongsi" in t or "youxian" in t for t in tokens)


@pytest.mark.parametrize(
    ("name", "reading"),
    [
        ("单伟明", "shanweiming"),
        ("曾小贤", "zengxiaoxian"),
        ("区志强", "ouzhiqiang"),
        ("仇建国", "qiujianguo"),
        ("解晓东", "xiexiaodong"),
        ("查良镛", "zhaliangyong"),
        ("朴志勇", "piaozhiyong"),
        ("尉迟恭", "yuchigong"),
        ("单于伟", "chanyuwei"),
        ("万俟卨", "moqixie"),
        ("乐正华", "yuezhenghua"),
        ("吕娜", "lvna"),
    ],
)
def test_person_names_read_surnames_as_surnames(name: str, reading: str) -> None:
    assert reading in _pinyin(search_document("C1", "Acme Ltd", name, "company"))
    assert reading in _pinyin(search_document("C1", name, "", "person"))


def test_a_name_of_unknown_kind_is_read_both_ways_only_when_short() -> None:
    short = _pinyin(search_document("C1", "单伟", ""))
    assert {"shanwei", "danwei"} <= short
    assert "danwei" not in _pinyin(search_document("C1", "单伟", "", "person"))
    assert "shanwei" not in _pinyin(search_document("C1", "单伟", "", "company"))
    long = _pinyin(search_document("C1", "单县华宇贸易有限公司", ""))
    assert "danxianhuayumaoyi" in long and not any(t.startswith("shanxian") for t in long)


def test_unreadable_characters_end_a_token() -> None:
    tokens = _pinyin(search_document("C1", "张\U0002fffd伟", "", "person"))
    assert "zhang" in tokens and "wei" in tokens
    assert not any(t.startswith("zhangw") for t in tokens)


def test_long_names_make_bounded_tokens_and_long_queries_still_match(
    db: Database, session: Session
) -> None:
    name = "北京云帆信息技术发展咨询服务中心"
    session("admin").customers.create(customer_data(name=name))
    assert _found(session, "beijingyunfanxinxijishufazhan") == [name]
    assert _found(session, "yunfanxinxijishufazhanzixun") == [name]
    longest = "".join(chr(0x4E00 + i * 37) for i in range(200))
    tokens = _pinyin(search_document("C1", longest, longest))
    assert len(tokens) <= 4 * 200
    assert max(len(t) for t in tokens) == search_text.MAX_TOKEN_LETTERS


def test_only_name_and_contact_reach_the_index(db: Database, session: Session) -> None:
    """The index holds exactly the tokens of code, name and contact: no phone, email, ID
    number or address, in characters or in pinyin."""
    admin = session("admin")
    created = admin.customers.create(
        customer_data(
            name="张伟",
            kind="person",
            contact_name="李娜",
            phone="13812345678",
            email="zhangwei.secret@example.com",
            id_number="11010519491231002X",
            address="北京市朝阳区机密路88号",
        )
    )
    index_terms = _terms(db.conn)
    expected = sqlite3.connect(":memory:")
    expected.execute(
        "CREATE VIRTUAL TABLE customer_search USING fts5(doc,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    expected.execute(
        "INSERT INTO customer_search(doc) VALUES (?)",
        (search_document(created.code, "张伟", "李娜"),),
    )
    assert index_terms == _terms(expected)
    for leaked in ("13812345678", "5678", "secret", "example", "110105", "jimi", "chaoyang"):
        assert not any(leaked in _spelled(term) for term in index_terms), leaked


def _terms(conn: sqlite3.Connection) -> set[str]:
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, customer_search, row)"
    )
    return {row[0] for row in conn.execute("SELECT term FROM temp.vocab")}


def _spelled(term: str) -> str:
    first = ord(term[0])
    if 0xE100 <= first < 0xE11A or 0xE200 <= first < 0xE21A:
        return chr((first & 0xFF) + ord("a")) + term[1:]
    return term


@pytest.fixture
def chinese(db: Database, session: Session) -> dict[str, int]:
    admin = session("admin")
    people = {
        "邹华": dict(kind="person"),
        "张伟": dict(kind="person", contact_name="张伟"),
        "Zhivago Trading": dict(contact_name="Ann Lee"),
        "北京云帆科技有限公司": dict(contact_name="单伟明"),
        "上海明珠餐饮": dict(contact_name="曾小贤"),
        "广州东方贸易": dict(contact_name="区志强"),
        "深圳前海物流": dict(contact_name="仇建国"),
        "张伟科技有限公司": dict(contact_name="王芳"),
        "章维": dict(kind="person"),
    }
    ids = {}
    for i, (name, extra) in enumerate(people.items()):
        data = customer_data(name=name, phone=f"1390000{i:04d}", email=f"p{i}@example.com")
        data.update({"contact_name": "", **extra})
        ids[name] = admin.customers.create(data).id
    return ids


@pytest.mark.parametrize(
    "text", ["zhangwei", "zhang wei", "zw", "zhangw", "张wei", "Zhang Wei", "ZHANGWEI", "zhāngwěi"]
)
def test_zhang_wei_is_found_by_pinyin(chinese: dict[str, int], session: Session, text: str) -> None:
    assert "张伟" in _found(session, text)


def test_mixed_characters_must_match_as_typed(chinese: dict[str, int], session: Session) -> None:
    assert "章维" in _found(session, "zhangwei")
    assert "章维" not in _found(session, "张wei")
    assert "章维" in _found(session, "章w")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("shanweiming", "北京云帆科技有限公司"),
        ("swm", "北京云帆科技有限公司"),
        ("zengxiaoxian", "上海明珠餐饮"),
        ("zxx", "上海明珠餐饮"),
        ("ouzhiqiang", "广州东方贸易"),
        ("qiujianguo", "深圳前海物流"),
        ("yunfan", "北京云帆科技有限公司"),
        ("beijingyunfankeji", "北京云帆科技有限公司"),
    ],
)
def test_contact_surnames_and_company_names_by_pinyin(
    chinese: dict[str, int], session: Session, text: str, name: str
) -> None:
    assert name in _found(session, text)


@pytest.mark.parametrize("text", ["danweiming", "cengxiaoxian", "quzhiqiang", "choujianguo"])
def test_common_readings_of_surnames_do_not_find_contacts(
    chinese: dict[str, int], session: Session, text: str
) -> None:
    assert _found(session, text) == []


def test_tiers_rank_typed_then_pinyin_then_initials(
    chinese: dict[str, int], session: Session
) -> None:
    """`zh`: Zhivago as typed, then everyone whose pinyin starts zh…, then 邹华 by initials,
    although 邹华 was created first."""
    rows = session("admin").customer_list.page(CustomerQuery(text="zh"), limit=100)
    tiers = [row.key[0] for row in rows]
    assert tiers == sorted(tiers)
    by_name = {row.name: TIERS[row.key[0]] for row in rows}
    assert by_name["Zhivago Trading"] == "typed"
    assert by_name["张伟"] == by_name["张伟科技有限公司"] == by_name["章维"] == "pinyin"
    assert by_name["邹华"] == "initials"
    assert rows[0].name == "Zhivago Trading" and rows[-1].name == "邹华"
    assert chinese["邹华"] < chinese["Zhivago Trading"]


def test_words_read_together_before_each_on_its_own(
    chinese: dict[str, int], session: Session
) -> None:
    """`wang zhang`: no name reads wangzhang, but 张伟科技 has the contact 王芳."""
    rows = session("admin").customer_list.page(CustomerQuery(text="zhang wei"), limit=100)
    assert [TIERS[r.key[0]] for r in rows if r.name == "张伟"] == ["pinyin"]
    loose = session("admin").customer_list.page(CustomerQuery(text="wang zhang"), limit=100)
    assert [(r.name, TIERS[r.key[0]]) for r in loose] == [("张伟科技有限公司", "words")]


@pytest.mark.parametrize("text", ["zh", "zw", "z", "zhang wei", "wei"])
def test_pages_cross_tiers_both_ways_at_any_size(
    chinese: dict[str, int], session: Session, text: str
) -> None:
    admin = session("admin")
    query = CustomerQuery(text=text)
    whole = [r.id for r in admin.customer_list.page(query, limit=500)]
    assert len(whole) == len(set(whole)), "a customer listed in two tiers"
    assert admin.customer_list.count(query) == (len(whole), False)
    for size in (1, 2, 3):
        forward: list[int] = []
        after = None
        while page := admin.customer_list.page(query, after=after, limit=size):
            forward += [r.id for r in page]
            after = page[-1].key
        assert forward == whole
        backward: list[int] = []
        before = None
        while page := admin.customer_list.page(query, after=before, limit=size, backward=True):
            backward[:0] = [r.id for r in page]
            before = page[0].key
        assert backward == whole


def test_sales_rep_scope_holds_in_every_tier(
    chinese: dict[str, int], session: Session, db: Database
) -> None:
    with db.write() as tx:
        tx.execute("UPDATE customers SET owner_id = NULL")
        tx.execute(
            "UPDATE customers SET owner_id = (SELECT id FROM users WHERE username='sales1')"
            " WHERE id = ?",
            (chinese["邹华"],),
        )
    assert [r.name for r in session("sales1").customer_list.page(CustomerQuery(text="zh"))] == [
        "邹华"
    ]


def test_chinese_queries_have_one_tier() -> None:
    assert search_tiers("张伟")[1:] == (None,) * (len(TIERS) - 1)
    assert search_tiers("北京科技")[0] == '"北京 京科 科技"'
    assert search_match("   ") is None


def test_hostile_queries_and_names(db: Database, session: Session) -> None:
    admin = session("admin")
    hostile = [entry["text"] for entry in hostile_strings()]
    for i, text in enumerate(hostile):
        document = search_document(f"C{i}", text, text)
        assert not any(0xE100 <= ord(c) < 0xE300 for c in document.split(" ")[0])
        try:
            admin.customers.create(
                customer_data(name=text, contact_name=text, phone=f"1360000{i:04d}")
            )
        except (ValidationError, FormErrors):
            continue  # a name of only spaces or controls is rightly refused
    injections = [
        '"zh" OR *',
        "zh NEAR(",
        "^zh",
        "zh*",
        "\ue119hangwei",
        '张"wei',
        "zhang:wei",
        "(zw)",
        "zw -",
        "zhang' OR 1=1 --",
    ]
    for text in [*injections, *(h[:40] for h in hostile)]:
        for tier in search_tiers(text):
            if tier:
                db.conn.execute(
                    "SELECT count(*) FROM customer_search WHERE customer_search MATCH ?", (tier,)
                ).fetchone()
        admin.customer_list.page(CustomerQuery(text=text))
        admin.customer_list.count(CustomerQuery(text=text))
    typed = search_tiers("\ue119hangwei")[0] or ""
    assert not any(0xE000 <= ord(c) < 0xF900 for c in typed)


def test_pinyin_migration_rebuilds_the_index(db: Database, session: Session) -> None:
    """The migration that added pinyin rebuilds an index of documents without it."""
    session("admin").customers.create(customer_data(name="欧阳娜娜", kind="person"))
    with db.write() as tx:
        doc = tx.execute("SELECT doc FROM customer_search").fetchone()[0]
        tx.execute("UPDATE customer_search SET doc = ?", (search_text.without_pinyin(doc),))
    assert _found(session, "ouyang") == []
    migration = next(m for m in MIGRATIONS if isinstance(m, str) and "contact_name, kind)" in m)
    with db.write() as tx:
        for statement in _statements(migration):
            tx.execute(statement)
    assert _found(session, "ouyang") == ["欧阳娜娜"] == _found(session, "oynn")
    assert "yangnana" not in _pinyin(search_document("C1", "欧阳娜娜", "", "person"))


def test_listing_plan_of_a_pinyin_search_is_driven_by_the_index(
    chinese: dict[str, int], db: Database
) -> None:
    plan = " ".join(listing.explain(db.conn, db.keys, CustomerQuery(text="zw"), None))
    assert "VIRTUAL TABLE INDEX" in plan and "TEMP B-TREE" not in plan


def test_readings_are_cached_per_run() -> None:
    search_text._pinyin_tokens.cache_clear()
    for _ in range(3):
        search_document("C1", "张伟", "张伟", "person")
    info = search_text._pinyin_tokens.cache_info()
    assert info.misses == 1 and info.hits == 5
