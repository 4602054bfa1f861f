"""Search-index text: the FTS5 documents of customers and the match expressions of queries.

A document holds the customer's code, name and contact name, every CJK character as its
own token, pairs of neighbouring CJK characters as bigram tokens, and the pinyin of the Han
characters in the name and contact name: never anything else, so no sensitive value can
reach the index through it.

Pinyin: from each word start of a name (each syllable of a person's given name) one token
runs to the end of that name, in full syllables and in initials: 张伟 gives `zhangwei`,
`wei`, `zw` and `w`, so `zhangw`, `wei` and `zw` are each one prefix term. The first letter
of a pinyin token is written in a private-use alphabet (full and initials one each), so
nothing typed as a word ever matches a pinyin token, while `zha` stays a 3-character
prefix that the index's `prefix=` tables serve.

A query is matched in tiers, best first, each excluding the ones before (`search_tiers`):
the words as typed, then full pinyin, then initials, then each word on its own.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable
from types import ModuleType
from typing import Final

_CJK = (
    "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002ffff"
)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")
_CJK_CHAR = re.compile(f"([{_CJK}])")
_QUERY_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+", re.UNICODE)
_BIGRAM_BREAK: Final = "\ue000"  # private use: a token to FTS5, never produced from a query
# Han characters separated by nothing but spaces or a middle dot read as one name.
_HAN_RUN = re.compile(f"[{_HAN}](?:[\\s·・]*[{_HAN}])*")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_PIECES = re.compile(f"[{_CJK}]+|[^{_CJK}]+")
_WORD = re.compile(f"[^\\W_{_CJK}]")
_PINYIN_WORD = re.compile(f"[a-z{_HAN}]+")

# The first letter of a full-pinyin token is written in a private-use alphabet of its own
# (a-z as U+E100…), and so is an initials token's (U+E200…): a pinyin token can never
# equal or extend a word someone typed, and `zha` is still a 3-character prefix.
_FULL = 0xE100 - ord("a")
_INITIALS = 0xE200 - ord("a")
_PINYIN_TOKEN = re.compile("[\ue100-\ue119\ue200-\ue219]")

TIERS: Final = ("typed", "pinyin", "initials", "words")
PERSON_NAME_MAX: Final = 4  # Han characters; longer names of unknown kind read as companies
MAX_READINGS: Final = 16  # spellings of one query word whose characters have several readings
# A pinyin token holds at most this many letters, so a 200-character name costs 400 short
# tokens, not 400 long ones; a longer query matches by its first letters.
MAX_TOKEN_LETTERS: Final = 20

# A person's name starts with a surname. Compound surnames are one word (the given name
# starts after them) and are looked for first: 单于 is chányú, 单 alone shàn. Single
# surnames are listed where the surname reading is not the character's common one.
COMPOUND_SURNAMES: Final = {
    "万俟": ("mo", "qi"),
    "尉迟": ("yu", "chi"),
    "单于": ("chan", "yu"),
    "长孙": ("zhang", "sun"),
    "澹台": ("tan", "tai"),
    "乐正": ("yue", "zheng"),
    "仉督": ("zhang", "du"),
    "子车": ("zi", "ju"),
    "令狐": ("ling", "hu"),
    "欧阳": ("ou", "yang"),
    "司马": ("si", "ma"),
    "上官": ("shang", "guan"),
    "诸葛": ("zhu", "ge"),
    "皇甫": ("huang", "fu"),
    "东方": ("dong", "fang"),
    "夏侯": ("xia", "hou"),
    "公孙": ("gong", "sun"),
    "慕容": ("mu", "rong"),
    "宇文": ("yu", "wen"),
    "司徒": ("si", "tu"),
    "司空": ("si", "kong"),
    "轩辕": ("xuan", "yuan"),
    "端木": ("duan", "mu"),
    "南宫": ("nan", "gong"),
    "呼延": ("hu", "yan"),
    "闻人": ("wen", "ren"),
    "拓跋": ("tuo", "ba"),
}
SURNAMES: Final = {
    "单": "shan",
    "曾": "zeng",
    "区": "ou",
    "仇": "qiu",
    "解": "xie",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "乐": "yue",
    "重": "chong",
    "种": "chong",
    "秘": "bi",
    "繁": "po",
    "折": "she",
    "粘": "nian",
    "藏": "zang",
    "都": "du",
    "六": "lu",
    "薄": "bo",
    "召": "shao",
    "能": "nai",
    "长": "chang",
    "员": "yun",
    "句": "gou",
    "隗": "wei",
    "蕃": "pi",
    "祭": "zhai",
}
# Trailing words of a company's legal form: nobody looks a company up by them, so they
# get no pinyin (their characters still match).
LEGAL_FORMS: Final = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份有限公司",
    "有限公司",
    "分公司",
    "公司",
    "集团",
    "工作室",
    "事务所",
    "合作社",
)
_LEGAL_FORM_END = re.compile("(?:" + "|".join(sorted(LEGAL_FORMS, key=len, reverse=True)) + ")$")


def search_document(code: str, name: str, contact_name: str = "", kind: str | None = None) -> str:
    """The index text of one customer.

    `kind` ("person" or "company") says how to read the name: a person's surname by its
    surname reading, a company's characters by their readings in words. Unknown (None), a
    name as short as a person's is read both ways. The contact name is always a person's.
    """
    unigrams: list[str] = []
    bigrams: list[str] = []
    # A person is often their own contact: the same words again would only fill the index.
    for text in (code, name, "" if contact_name == name else contact_name):
        _cjk_tokens(_PRIVATE_USE.sub(" ", text), unigrams, bigrams)
    tokens: dict[str, None] = {}
    for run in _HAN_RUN.findall(contact_name):
        tokens.update(dict.fromkeys(_pinyin_tokens(run, True)))
    for run in _HAN_RUN.findall(name):
        if kind == "person" or (kind is None and len(run) <= PERSON_NAME_MAX):
            tokens.update(dict.fromkeys(_pinyin_tokens(run, True)))
        if kind != "person":
            tokens.update(dict.fromkeys(_pinyin_tokens(run, False)))
    return " ".join([*unigrams, *bigrams, *tokens])


def without_pinyin(document: str) -> str:
    """A document less its pinyin tokens, as the index held it before pinyin (for the bench)."""
    return " ".join(t for t in document.split() if not _PINYIN_TOKEN.match(t))


def _cjk_tokens(text: str, unigrams: list[str], bigrams: list[str]) -> None:
    """Add a field's text with every CJK character spaced apart, and its CJK bigrams.

    A query of 2+ Chinese characters is a phrase of bigrams ("北京 京科 科技"), whose
    doclists are far shorter than single characters', so it is decided in a few page reads
    even when every single character is common. Each run of bigrams (neighbouring CJK
    characters, not parted by a Latin word or a digit) follows a `_BIGRAM_BREAK`, a token no
    query can produce, so bigrams of two runs or two fields never form a phrase.
    """
    previous = ""
    for piece in _PIECES.findall(text):
        if not _CJK_CHAR.match(piece):
            unigrams.append(piece)
            if _WORD.search(piece):
                previous = ""
            continue
        unigrams.append(" ".join(piece))
        if previous or len(piece) > 1:
            if not previous:
                bigrams.append(_BIGRAM_BREAK)
            joined = previous + piece
            bigrams += [joined[i : i + 2] for i in range(len(joined) - 1)]
        previous = piece[-1]


# Contact names repeat (a surname and a given name); 8k runs are ~10 MB where 64k were ~75 MB
# of an import worker's memory, for no more speed.
@functools.lru_cache(maxsize=1 << 13)
def _pinyin_tokens(run: str, person: bool) -> tuple[str, ...]:
    """Full-pinyin and initials tokens of one run of Han characters, from each word start.

    Each token runs from its word to the end of the run, or to a character without a
    reading, for at most `MAX_TOKEN_LETTERS`; a company's legal form is left out.
    """
    chars = _HAN_CHAR.findall(run)
    if person:
        words = _person_words(chars)
    else:
        chars = chars[: len(chars) - _legal_form_length("".join(chars))] or chars
        words = _segments("".join(chars))
    syllables = [s for word in words for s in word]
    full = "".join(syllables)
    initials = "".join(s[:1] or "-" for s in syllables)  # one letter per syllable
    # offsets[i]: where syllable i starts in `full`; ends[i]: the unread syllable after it.
    offsets = list(itertools.accumulate((len(s) for s in syllables), initial=0))
    ends = [len(syllables)] * len(syllables)
    for i in range(len(syllables) - 2, -1, -1):
        ends[i] = i + 1 if not syllables[i + 1] else ends[i + 1]
    tokens = []
    start = 0
    for word in words:
        if word and word[0]:
            end = ends[start]
            tokens += [
                _pinyin_token(full[offsets[start] : offsets[end]][:MAX_TOKEN_LETTERS], _FULL),
                _pinyin_token(initials[start:end][:MAX_TOKEN_LETTERS], _INITIALS),
            ]
        start += len(word)
    return tuple(tokens)


def _pinyin_token(letters: str, alphabet: int) -> str:
    """Letters a-z as an index token of one alphabet: the first letter moved into it."""
    return chr(ord(letters[0]) + alphabet) + letters[1:]


def _legal_form_length(name: str) -> int:
    match = _LEGAL_FORM_END.search(name)
    return len(match.group()) if match else 0


def _person_words(chars: list[str]) -> list[tuple[str, ...]]:
    """A person's name as words: the surname, then each character of the given name."""
    if "".join(chars[:2]) in COMPOUND_SURNAMES:
        surname, rest = COMPOUND_SURNAMES["".join(chars[:2])], chars[2:]
    elif chars and chars[0] in SURNAMES:
        surname, rest = (SURNAMES[chars[0]],), chars[1:]
    else:
        surname, rest = _readings("".join(chars[:1])), chars[1:]
    given = _readings("".join(rest))
    return [surname, *((syllable,) for syllable in given)]


@functools.lru_cache(maxsize=1 << 15)
def _readings(text: str) -> tuple[str, ...]:
    """Toneless syllables of Han text as pypinyin reads it in words; "" for no reading."""
    out = []
    for syllable in _pypinyin().lazy_pinyin(text, style=_pypinyin().Style.NORMAL):
        out.append(syllable if syllable.isascii() and syllable.isalpha() else "")
    return tuple(out)


def _segments(text: str) -> list[tuple[str, ...]]:
    """Han text cut into the words of pypinyin's phrase dictionary, each with its syllables."""
    from pypinyin.seg.mmseg import seg

    return [_readings(word) for word in seg.cut(text)]


@functools.cache
def _pypinyin() -> ModuleType:
    """pypinyin, imported on first use: its dictionaries take ~150 ms and ~55 MB to load."""
    import pypinyin

    return pypinyin


# --- queries -------------------------------------------------------------------------------


def search_query(text: str) -> str | None:
    """The literal tier: each word a phrase of its tokens; Latin last tokens match by prefix.

    A word of 2+ CJK characters and nothing else is a phrase of its bigrams.
    """
    return _all(_literal(word) for word in _words(text))


def _words(text: str) -> list[str]:
    return _PRIVATE_USE.sub(" ", text).split()


def _literal(word: str) -> str | None:
    tokens = _QUERY_TOKEN.findall(word)
    if not tokens:
        return None
    if len(tokens) > 1 and all(_CJK_CHAR.fullmatch(t) for t in tokens):
        return '"' + " ".join(a + b for a, b in itertools.pairwise(tokens)) + '"'
    phrase = '"' + " ".join(tokens) + '"'
    if not _CJK_CHAR.fullmatch(tokens[-1]):
        phrase += " *"
    return phrase


def _pinyin_word(word: str) -> str | None:
    """A word as pinyin may spell it: lower-case a-z and Han characters, else None.

    Tone marks go (`zhāng`), ü is written v as input methods do (`lü` → `lv`), full-width
    letters are folded and apostrophes between syllables (`xi'an`) dropped.
    """
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", word).lower())
    folded = "".join(c for c in folded.replace("u\u0308", "v") if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFC", folded)
    folded = re.sub("['’‘-]", "", folded)
    if not _PINYIN_WORD.fullmatch(folded) or not re.search("[a-z]", folded):
        return None
    return folded


def _spellings(word: str) -> tuple[list[str], list[str]]:
    """Every full-pinyin and initials spelling of a word (Han characters in all readings)."""
    full = [""]
    initials = [""]
    for piece in re.findall(f"[a-z]+|[{_HAN}]", word):
        if piece.isascii():
            full = [f + piece for f in full]
            initials = [i + piece for i in initials]
            continue
        readings = _char_readings(piece) or ("",)
        full = [f + r for f in full for r in readings][:MAX_READINGS]
        initials = list(dict.fromkeys(i + r[:1] for i in initials for r in readings))
        initials = initials[:MAX_READINGS]
    return list(dict.fromkeys(full)), initials


@functools.lru_cache(maxsize=4096)
def _char_readings(char: str) -> tuple[str, ...]:
    """All toneless readings of one Han character, its surname reading among them."""
    pypinyin = _pypinyin()
    found = pypinyin.pinyin(char, style=pypinyin.Style.NORMAL, heteronym=True)[0]
    readings = [r for r in found if r.isascii() and r.isalpha()]
    if char in SURNAMES:
        readings.append(SURNAMES[char])
    return tuple(dict.fromkeys(readings))


def _any_prefix(spellings: Iterable[str], alphabet: int) -> str | None:
    """Any of the spellings as a prefix term (a longer one cut as its tokens are)."""
    terms = list(
        dict.fromkeys(
            f'"{_pinyin_token(s[:MAX_TOKEN_LETTERS], alphabet)}" *' for s in spellings if s
        )
    )
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _all(parts: Iterable[str | None]) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    return present[0] if len(present) == 1 else "(" + " AND ".join(present) + ")"


def _any(parts: Iterable[str | None]) -> str | None:
    present = list(dict.fromkeys(p for p in parts if p))
    if not present:
        return None
    return present[0] if len(present) == 1 else "(" + " OR ".join(present) + ")"


def _pinyin_forms(word: str) -> tuple[str | None, str | None]:
    """A word's full-pinyin and initials expressions (None unless it can be pinyin).

    Its Han characters must be there as typed too: `张wei` is 张 and `zhangwei…`. A lone
    letter has no initials of its own: every initials token starting `z` sits where a full
    token starting `z` does, so that tier would only walk customers found already.
    """
    spelled = _pinyin_word(word)
    if spelled is None:
        return None, None
    han = search_query(" ".join(_HAN_RUN.findall(spelled)))
    full, initials = _spellings(spelled)
    return (
        _all([han, _any_prefix(full, _FULL)]),
        None if len(spelled) == 1 else _all([han, _any_prefix(initials, _INITIALS)]),
    )


def _tier_matches(text: str) -> list[str | None]:
    """Per tier of `TIERS`, every customer it would hold were there no better tier.

    The pinyin tiers read the words as one (`zhang wei` is `zhangwei`); the last tier
    lets each word match on its own, as typed or as pinyin (`huawei zhang`).
    """
    words = _words(text)
    typed = search_query(text)
    if not words:
        return [None] * len(TIERS)
    full, initials = _pinyin_forms("".join(words))
    loose = None
    if len(words) > 1:
        forms = [(_literal(word), *_pinyin_forms(word)) for word in words]
        if any(f[1] for f in forms):
            loose = _all(_any(f) for f in forms)
    return [typed, full, initials, loose]


def search_tiers(text: str) -> tuple[str | None, ...]:
    """One FTS5 expression per tier of `TIERS`, each excluding the tiers before it.

    None: nothing can match at that tier. Each tier is walked by the index in rowid order
    and stops at a page's end: its cost is the candidates it walks (those of a better tier
    are passed over), never a sort of every match.
    """
    matches = _tier_matches(text)
    tiers: list[str | None] = []
    for number, this in enumerate(matches):
        better = _any(matches[:number])
        if this is None or this == better:
            tiers.append(None)
        else:
            tiers.append(f"{this} NOT {better}" if better else this)
    return tuple(tiers)


def search_match(text: str) -> str | None:
    """One FTS5 expression matching every customer any tier of `search_tiers` holds."""
    return _any(_tier_matches(text))
