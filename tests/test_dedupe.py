"""Duplicate candidates on a real database: shared identifiers through the blind indexes,
near-identical names after normalisation, ranking, owner scope and single-record checks."""

from __future__ import annotations

import pytest
from stdnum.cn import ric, uscc

from tests.conftest import hostile_strings
from tests.records import add_customer, user_id
from tui_crm import dedupe
from tui_crm.db import Database
from tui_crm.dedupe import ScanOptions


def credit_code(body: str) -> str:
    return body + uscc.calc_check_digit(body + "0")


def id_number(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def typo_similarity(result: dedupe.ScanResult) -> float:
    return result.candidates[-1].matches[0].similarity


def pairs(result: dedupe.ScanResult) -> dict[tuple[str, str], tuple[str, ...]]:
    return {(c.first.name, c.second.name): c.fields for c in result.candidates}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("北京星辰科技有限公司", "北京星辰科技"),
        ("北京星辰科技股份有限公司", " 北京星辰科技集团有限公司 "),
        ("ＡＣＭＥ　Ｔｒａｄｉｎｇ Co., Ltd.", "acme trading"),
        ("Acme Trading Co., Ltd.", "ACME-Trading Inc"),
        ("Müller Maschinenbau GmbH", "müller maschinenbau"),
        ("Blue Sky LLC", "Blue  Sky, L.L.C."),
    ],
)
def test_names_that_differ_only_in_form_share_a_key(first: str, second: str) -> None:
    assert dedupe.name_key(first) == dedupe.name_key(second)


def test_a_suffix_that_is_the_whole_name_is_kept() -> None:
    assert dedupe.name_key("有限公司") == "有限公司"
    assert dedupe.name_key("Inc.") == "inc"
    assert dedupe.name_key("星辰 有限公司") == "星辰"


def test_person_names_meet_in_either_order() -> None:
    assert dedupe.name_key("Wei Zhang", "person") == dedupe.name_key("zhang wei", "person")
    assert dedupe.name_key("Wei Zhang") != dedupe.name_key("zhang wei")


def test_hostile_names_normalise_to_text() -> None:
    for item in hostile_strings():
        assert isinstance(dedupe.name_key(item["text"]), str)


def test_scan_finds_shared_identifiers_and_similar_names(db: Database) -> None:
    a = add_customer(db, name="北京星辰科技有限公司", phone="138 0013 8000", email="li@xc.cn")
    b = add_customer(db, name="北京星辰科技", phone="+86 13800138000")
    add_customer(db, name="Acme Trading Co., Ltd.", email="Sales@Acme.example")
    add_customer(db, name="Zenith Works", email="sales@acme.example")
    add_customer(
        db,
        name="上海明珠餐饮管理有限公司",
        phone="13900139000",
        credit_code=credit_code("91310101MA1FL0000"),
    )
    add_customer(
        db, name="明珠餐饮", phone="13700137000", credit_code=credit_code("91310101MA1FL0000")
    )
    add_customer(db, name="Hangzhou Westlake Tea Trading", phone="13600136000")
    add_customer(db, name="Hangzhou Westlake Tea Tradng Co", phone="13500135000")
    add_customer(db, name="Unrelated Widgets", phone="13400134000")

    result = dedupe.scan(db.conn)
    found = pairs(result)
    assert found[("北京星辰科技有限公司", "北京星辰科技")] == ("phone", "name")
    assert found[("Acme Trading Co., Ltd.", "Zenith Works")] == ("email",)  # name as typed
    assert found[("上海明珠餐饮管理有限公司", "明珠餐饮")] == ("credit_code",)
    assert found[("Hangzhou Westlake Tea Trading", "Hangzhou Westlake Tea Tradng Co")] == ("name",)
    assert not any("Unrelated Widgets" in pair for pair in found)
    assert result.total == 4
    assert result.by_reason == {"phone+name": 1, "email": 1, "credit_code": 1, "name": 1}
    # strongest first: a credit code, then phone and name together, an email, a name
    assert [(c.fields, c.score) for c in result.candidates] == [
        (("credit_code",), 99.0),
        (("phone", "name"), 98.0),
        (("email",), 95.0),
        (("name",), pytest.approx(0.8 * typo_similarity(result), abs=0.1)),
    ]
    assert (result.candidates[1].first.id, result.candidates[1].second.id) == (a, b)
    typo = next(c for c in result.candidates if c.fields == ("name",))
    assert 90 <= typo.matches[0].similarity < 100
    assert typo.first.code.startswith("C2026")


def test_id_numbers_match_through_the_blind_index(db: Database) -> None:
    number = id_number("11010119900307123")
    add_customer(db, name="王芳", kind="person", phone="13800138001", id_number=number)
    add_customer(db, name="王 芳", kind="person", email="wf@example.com", id_number=number.lower())
    add_customer(db, name="王芳", kind="person", phone="13800138002")
    found = pairs(dedupe.scan(db.conn))
    assert found == {("王芳", "王 芳"): ("id_number", "name")}


def test_person_names_alone_only_when_asked(db: Database) -> None:
    add_customer(db, name="张伟", kind="person", phone="13800138001")
    add_customer(db, name="张伟", kind="person", phone="13800138002")
    add_customer(db, name="张伟", kind="company", phone="13800138003")
    assert dedupe.scan(db.conn).total == 0
    found = dedupe.scan(db.conn, options=ScanOptions(person_names=True))
    assert [(c.first.kind, c.second.kind, c.fields) for c in found.candidates] == [
        ("person", "person", ("name",))
    ]
    assert found.candidates[0].score == 50.0


def test_a_sales_rep_sees_pairs_among_their_own_only(db: Database) -> None:
    add_customer(db, owner="sales1", name="Own A", phone="13800138000")
    add_customer(db, owner="sales1", name="Own B", phone="13800138000")
    add_customer(db, owner="sales2", name="Theirs", phone="13800138000")
    mine = dedupe.scan(db.conn, owner_id=user_id(db, "sales1"))
    assert pairs(mine) == {("Own A", "Own B"): ("phone",)}
    assert dedupe.scan(db.conn).total == 3
    theirs = dedupe.candidates_for(
        db.conn, [3], owner_id=user_id(db, "sales2"), options=ScanOptions()
    )
    assert theirs.total == 0


def test_a_big_group_pairs_each_member_with_the_first(db: Database) -> None:
    for i in range(6):
        add_customer(db, name=f"Branch {i}", phone="010-62345678")
    result = dedupe.scan(db.conn, options=ScanOptions(max_group=4))
    assert [(c.first.name, c.second.name) for c in result.candidates] == [
        ("Branch 0", f"Branch {i}") for i in range(1, 6)
    ]
    assert len(dedupe.scan(db.conn).candidates) == 15


def test_limit_and_min_score(db: Database) -> None:
    add_customer(db, name="Acme Trading", phone="13800138000")
    add_customer(db, name="Acme Trading Ltd", phone="13800138000")
    add_customer(db, name="Acme Trading Inc", phone="13900139000")
    full = dedupe.scan(db.conn)
    assert full.total == 3
    top = dedupe.scan(db.conn, options=ScanOptions(limit=1))
    assert top.total == 3 and len(top.candidates) == 1
    assert top.candidates[0] == full.candidates[0]
    strong = dedupe.scan(db.conn, options=ScanOptions(min_score=90))
    assert strong.total == 1 and strong.candidates[0].fields == ("phone", "name")


def test_hostile_names_are_compared_like_any_other(db: Database) -> None:
    texts = [item["text"] for item in hostile_strings()][:12]
    for i, text in enumerate(texts):
        for copy in range(2):
            add_customer(
                db, name=f"{text} 有限公司" if copy else text, phone=f"1380013{i:02d}{copy:02d}"
            )
    result = dedupe.scan(db.conn)
    stored = [r[0] for r in db.conn.execute("SELECT name FROM customers ORDER BY id")]
    expected = {(stored[2 * i], stored[2 * i + 1]) for i in range(len(texts))}
    assert expected <= {(c.first.name, c.second.name) for c in result.candidates}


def test_candidates_for_one_record_after_an_import(db: Database) -> None:
    old = add_customer(db, name="深圳市腾达电子有限公司", email="info@tenda.example")
    add_customer(db, name="Unrelated", email="x@y.example")
    new = add_customer(db, name="深圳市腾达电子", phone="13800138000")
    again = add_customer(db, name="Other", email="INFO@tenda.example")
    result = dedupe.candidates_for(db.conn, [new])
    assert pairs(result) == {("深圳市腾达电子有限公司", "深圳市腾达电子"): ("name",)}
    both = dedupe.candidates_for(db.conn, [new, again])
    assert {(c.first.id, c.second.id) for c in both.candidates} == {(old, new), (old, again)}
    assert dedupe.candidates_for(db.conn, []).total == 0


def test_many_ids_take_the_full_pass_and_find_typos_too(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = add_customer(db, name="Hangzhou Westlake Tea Trading", phone="13600136000")
    new = add_customer(db, name="Hangzhou Westlake Tea Tradng", phone="13500135000")
    other = add_customer(db, name="Hangzhou Westlake Tea Tradin", phone="13400134000")
    assert dedupe.candidates_for(db.conn, [new]).total == 0  # the index path misses typos
    monkeypatch.setattr(dedupe, "SMALL_CHECK", 0)
    result = dedupe.candidates_for(db.conn, [new])
    assert {(c.first.id, c.second.id) for c in result.candidates} == {(old, new), (new, other)}
