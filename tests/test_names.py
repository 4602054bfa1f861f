"""Names are stored as typed: every string is kept exactly, kept with only the documented
changes (outer whitespace, runs of whitespace, control and format characters), or refused
with a reason. One rule for every writer: the service, the importer, merge."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import customer_data, hostile_strings
from tests.records import add_customer
from tui_crm import importer, merge
from tui_crm import validation as v
from tui_crm.db import Database
from tui_crm.importer import ImportOptions

KEPT_EXACTLY = [
    "Acme Co.",
    "Yahoo!",
    "Shop C++",
    "(株)ソニー",
    '"Quoted" Ltd',
    "Café ☕",
    "北京科技（集团）",
    "-",
    "🐉🐉🐉",
    "★彡",
    "👨\u200d👩\u200d👧 Family Shop",  # ZWJ inside an emoji sequence
    "❤\ufe0f\u200d🔥 Bakery",  # emoji with variation selector, then ZWJ
    "मित्र\u200dक",  # ZWJ inside a Devanagari word
    "می\u200cخواهم",  # ZWNJ inside a Persian word
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Pub",  # flag tags
    "Z͑͠͡a͟lgo",
    "ＡＢＣ有限公司",
    "O'Brien & Sons",
    "100% _real_ Co",
    "[bold]Mallory[/bold]",
    "1️⃣ Keycap Ltd",
]

CHANGED = [
    ("  Padded Co  ", "Padded Co"),
    ("Line one\nLine two\tTabbed", "Line one Line two Tabbed"),
    ("Acme \t\r\n  Trading", "Acme Trading"),
    ("Good Co\rEvil", "Good Co Evil"),
    ("A\u00a0\u3000B", "A B"),
    ("Invoice \u202egnp.exe", "Invoice gnp.exe"),
    ("\u2067Isolated\u2069 Co", "Isolated Co"),
    ("\u200eMarked\u200f", "Marked"),
    ("Zero\u200bWidth\u200dCo", "ZeroWidthCo"),
    ("\u200dEdge Joiners\u200c", "Edge Joiners"),
    ("\ufeffBOM Ltd", "BOM Ltd"),
    ("Evil\x1b[2JCo", "EvilCo"),
    ("A\x1b]0;PWNED\x07B", "AB"),
    ("Nul\x00Byte Co", "NulByte Co"),
    ("X\x9b31mY", "X31mY"),
    ("Lone\ud800Surrogate", "LoneSurrogate"),
    ("Soft\u00adHyphen", "SoftHyphen"),
]

REFUSED = [
    ("", "is required"),
    ("     ", "is required"),
    ("\t\n", "is required"),
    ("\u202e", "is required"),
    ("\x1b[2J", "is required"),
    ("\u200b\u200d", "is required"),
    ("长" * 201, "is longer than 200 characters"),
]

_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_LINE_BREAKS = "\t\n\x0b\x0c\r\x85"


def documented(text: str) -> str:
    """The documented rule, written out independently of validation.py: escape sequences
    out; line breaks, tabs and any whitespace one space; other control, surrogate and format
    characters out, but a joiner between two visible non-ASCII characters and an emoji tag
    sequence; outer whitespace trimmed."""
    text = _ESCAPE.sub("", text)
    kept: list[str] = []
    for index, ch in enumerate(text):
        category = unicodedata.category(ch)
        if ch in _LINE_BREAKS or (ch.isspace() and category != "Cc"):
            kept.append(" ")
        elif category in ("Cc", "Cs"):
            continue
        elif ch in "\u200c\u200d":
            kept.append(ch)
        elif category == "Cf":
            if 0xE0020 <= ord(ch) <= 0xE007F and "\U0001f3f4" in text[:index]:
                kept.append(ch)
        else:
            kept.append(ch)
    joined = "".join(kept)

    def visible_non_ascii(ch: str) -> bool:
        return not ch.isascii() and not ch.isspace() and ch not in "\u200c\u200d"

    def joins(i: int) -> bool:
        inside = 0 < i < len(joined) - 1
        return inside and visible_non_ascii(joined[i - 1]) and visible_non_ascii(joined[i + 1])

    out = [ch for i, ch in enumerate(joined) if ch not in "\u200c\u200d" or joins(i)]
    return " ".join("".join(out).split())


def outcome(text: str) -> tuple[str, str]:
    try:
        return "stored", v.clean_name(text)
    except v.ValidationError as exc:
        return "refused", exc.message


@pytest.mark.parametrize("text", KEPT_EXACTLY)
def test_names_are_kept_exactly(text: str) -> None:
    assert outcome(text) == ("stored", text)


@pytest.mark.parametrize(("text", "stored"), CHANGED)
def test_names_change_only_as_documented(text: str, stored: str) -> None:
    assert outcome(text) == ("stored", stored)
    assert documented(text) == stored


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_names_refused_with_a_reason(text: str, reason: str) -> None:
    assert outcome(text) == ("refused", reason)


@pytest.mark.parametrize("case", hostile_strings(), ids=lambda c: c["why"])
def test_every_hostile_string_is_kept_changed_as_documented_or_refused(
    case: dict[str, str],
) -> None:
    text = case["text"]
    expected = documented(text)
    result = outcome(text)
    if not expected:
        assert result == ("refused", "is required")
    elif len(expected) > 200:
        assert result == ("refused", "is longer than 200 characters")
    else:
        assert result == ("stored", expected)
        stored = result[1]
        assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in stored)
        assert not any(ord(ch) in range(0x202A, 0x202F) for ch in stored)


def test_the_format_character_list_covers_this_pythons_unicode() -> None:
    """validation.py lists the format characters (category Cf) it removes; a newer Unicode
    must not bring one it does not know."""
    format_chars = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and chr(c) not in "\u200c\u200d"
    ]
    assert all(v.clean_text(f"a{ch}b") == "ab" for ch in format_chars)


def test_other_one_line_fields_follow_the_same_rule() -> None:
    clean = v.validate_customer(
        customer_data(
            name="Shop C++",
            contact_name="  Zed\tO'Neil. ",
            city="\u202eGuangzhou",
            contact_title="Head\nof buying",
        )
    )
    assert clean["name"] == "Shop C++"
    assert clean["contact_name"] == "Zed O'Neil."
    assert clean["city"] == "Guangzhou"
    assert clean["contact_title"] == "Head of buying"


def test_notes_keep_their_lines_and_lose_bidi_overrides() -> None:
    clean = v.validate_customer(customer_data(notes="one\r\ntwo\u202e\tthree\x1b[2J"))
    assert clean["notes"] == "one\ntwo\tthree"


# --- every writer -------------------------------------------------------------------------


NAMES = ["Acme Co.", "Shop C++", "Café ☕", "(株)ソニー", "Tab\tbed\nName", "Invoice \u202egnp.exe"]


def test_service_create_and_update_store_the_same_name(session) -> None:
    manager = session("manager")
    for index, name in enumerate(NAMES):
        created = manager.customers.create(
            customer_data(name=name, phone=f"1380013{8000 + index}", email="")
        )
        assert created.name == v.clean_name(name)
        renamed = manager.customers.update(created.id, {"name": f"{name}!"}, created.version)
        assert renamed.name == v.clean_name(f"{name}!")


def test_importer_stores_the_same_name(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    lines = ["name,phone,customer_type"]
    for index, name in enumerate(NAMES):
        quoted = '"' + name.replace('"', '""') + '"'
        lines.append(f"{quoted},1390013{9000 + index},prospect")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    importer.run_import(
        db, path, ImportOptions(legal_basis="contract", source="test"), actor="cli:tester"
    )
    stored = [r[0] for r in db.conn.execute("SELECT name FROM customers ORDER BY id")]
    assert stored == [v.clean_name(name) for name in NAMES]


def test_merge_keeps_the_chosen_name_as_typed(db: Database) -> None:
    survivor = add_customer(db, name="Yahoo", phone="13800138000")
    merged = add_customer(db, name="Yahoo!", phone="13900139000")
    with db.write() as tx:
        merge.merge_customers(
            tx, db.keys, survivor, merged, actor="test", choices={"name": "merged"}
        )
    name = db.conn.execute("SELECT name FROM customers WHERE id=?", (survivor,)).fetchone()[0]
    assert name == "Yahoo!"
