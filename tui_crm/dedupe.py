"""Duplicate candidates: customers that share an identifier or have near-identical names.

Identifiers are compared as stored: phone, email and ID number through their blind
indexes (HMACs of the normalised value), the credit code as it is, so nothing is
decrypted. Names are compared after `name_key` (NFKC width folding, case, spaces,
punctuation, company suffixes), by rapidfuzz's `ratio`, with blocking so a million
customers take seconds rather than the 5·10¹¹ comparisons of every pair:

- identical keys meet in one dictionary;
- near-identical keys meet in a sorted neighbourhood (each distinct key is compared with
  the next `window` keys in sorted order, and again with the keys sorted back to front,
  so a difference near either end is found).

A name alone is weak evidence for persons: 张伟 is shared by hundreds of thousands of
people. Name-only pairs are therefore made for companies unless `person_names` is set;
a person's similar name still strengthens a pair found by an identifier. Each candidate
says which fields matched, and the score combines them (see `Candidate.score`).
"""

from __future__ import annotations

import heapq
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz import fuzz, process

from .i18n import _
from .search_text import search_query

Progress = Callable[[float, str], None]

IDENTIFIERS = {
    "id_number": "id_number_bidx",
    "credit_code": "credit_code",
    "email": "email_bidx",
    "phone": "phone_bidx",
}
# How strongly each kind of match alone suggests the same customer (0..1). A phone is a
# little weaker than an email: a company switchboard is shared by its staff.
WEIGHTS = {"id_number": 0.99, "credit_code": 0.99, "email": 0.95, "phone": 0.9}
NAME_WEIGHTS = {"company": 0.8, "person": 0.5}
SMALL_CHECK = 500  # up to this many ids, `candidates_for` probes indexes one by one

_SUFFIX_WORDS = frozenset(
    [
        "co",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "gmbh",
        "corp",
        "corporation",
        "company",
        "group",
        "plc",
        "pty",
        "ag",
        "sa",
        "bv",
        "lp",
        "llp",
    ]
)
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_WORD = re.compile(r"[^\W_]+")  # what splitting on runs of [\W_] leaves
_INITIALS = re.compile(r"\b(?:[A-Za-z]\.){2,}")  # L.L.C., S.A.: one word


@dataclass(frozen=True)
class ScanOptions:
    """How candidates are found; the defaults suit a customer base of any size."""

    name_threshold: float = 90.0  # rapidfuzz ratio (0-100) of two name keys
    window: int = 8  # neighbours each distinct name key is compared with, per pass
    person_names: bool = False  # also pair persons by name alone
    max_group: int = 50  # more sharers than this: each pairs with the group's first only
    min_score: float = 0.0
    limit: int | None = 10_000  # candidates described in full; `total` counts them all


@dataclass(frozen=True)
class Match:
    """One reason two customers look alike: the field, and 100 for an exact match or the
    name similarity."""

    field: str
    similarity: float


@dataclass(frozen=True)
class CustomerRef:
    id: int
    code: str
    name: str
    kind: str
    owner_id: int | None


@dataclass(frozen=True)
class Candidate:
    """Two customers that may be one, lower id first, with why and how strongly (0-100).

    The score is 100·(1 − Π(1 − wᵢ)) over the matches, wᵢ being the field's weight (times
    the similarity for names): independent evidence adds up, and no match alone reaches
    100.
    """

    first: CustomerRef
    second: CustomerRef
    matches: tuple[Match, ...]
    score: float

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(m.field for m in self.matches)


@dataclass(frozen=True)
class ScanResult:
    """The strongest candidates (up to the limit asked for), and how many pairs were found
    in all, by the fields that matched ("email+name": 12)."""

    candidates: tuple[Candidate, ...]
    total: int
    by_reason: dict[str, int]


_BITS = {name: 1 << i for i, name in enumerate(IDENTIFIERS)}
_NAME = 1 << len(IDENTIFIERS)
_PERSON = _NAME << 1  # the name match is between persons (a weaker sign)


@dataclass
class _Pairs:
    """Matches by pair (lower id << 32 | higher id), kept small enough for millions: a
    bit per matched field, and a name similarity only where it is not 100."""

    only: frozenset[int] | None = None
    marks: dict[int, int] = field(default_factory=dict)
    names: dict[int, float] = field(default_factory=dict)

    def add(self, a: int, b: int, bits: int, name_score: float = 100.0) -> None:
        if a == b or (self.only is not None and a not in self.only and b not in self.only):
            return
        pair = a << 32 | b if a < b else b << 32 | a
        had = self.marks.get(pair, 0)
        self.marks[pair] = had | bits
        if bits & _NAME:
            if name_score >= 100.0:
                self.names.pop(pair, None)
            elif not had & _NAME or pair in self.names:
                self.names[pair] = max(name_score, self.names.get(pair, 0.0))

    def group(self, ids: list[int], bits: int, max_group: int) -> None:
        """Pair everyone sharing a value; a big group pairs each with its first member."""
        ids = sorted(set(ids))
        pairs = combinations(ids, 2) if len(ids) <= max_group else ((ids[0], i) for i in ids[1:])
        for a, b in pairs:
            self.add(a, b, bits)


def name_words(name: str, *, sort: bool = False) -> list[str]:
    """A name's words, width- and case-folded, without punctuation or company suffixes
    (有限公司, 股份有限公司, Co., Ltd., Inc, GmbH ...); a suffix that is the whole name stays."""
    text = unicodedata.normalize("NFKC", name)
    if "." in text:
        text = _INITIALS.sub(lambda m: m[0].replace(".", ""), text)
    words = _WORD.findall(text.casefold())
    while len(words) > 1 and words[-1] in _SUFFIX_WORDS:
        words.pop()
    stripped = True
    while (
        stripped
        and words
        and words[-1].endswith(_CJK_SUFFIXES)
        and not (len(words) == 1 and words[0] in _CJK_SUFFIXES)
    ):
        stripped = False
        for suffix in _CJK_SUFFIXES:
            last = words[-1]
            if last.endswith(suffix) and (len(last) > len(suffix) or len(words) > 1):
                words[-1] = last[: -len(suffix)]
                if not words[-1]:
                    words.pop()
                stripped = True
                break
        while len(words) > 1 and words[-1] in _SUFFIX_WORDS:
            words.pop()
    return sorted(words) if sort else words


def name_key(name: str, kind: str = "company") -> str:
    """The form names are compared in: `name_words` joined; a person's words in sorted
    order, so "Wei Zhang" and "Zhang Wei" meet."""
    return "".join(name_words(name, sort=kind == "person"))


def similarity(first: str, second: str, cutoff: float = 0.0) -> float:
    """rapidfuzz ratio (0-100) of two name keys; 0 below `cutoff`."""
    return float(fuzz.ratio(first, second, score_cutoff=cutoff))


def scan(
    conn: sqlite3.Connection,
    *,
    owner_id: int | None = None,
    options: ScanOptions = ScanOptions(),
    progress: Progress | None = None,
) -> ScanResult:
    """Candidate pairs in the whole base, strongest first.

    `owner_id` limits the scan to that owner's customers (a sales rep sees only pairs
    among their own); None scans everyone.
    """
    return _scan(conn, owner_id, options, None, progress or (lambda fraction, message: None))


def candidates_for(
    conn: sqlite3.Connection,
    customer_ids: Iterable[int],
    *,
    owner_id: int | None = None,
    options: ScanOptions = ScanOptions(),
) -> ScanResult:
    """Candidates that involve any of `customer_ids` (one record, or an import run's).

    A few ids are looked up through the indexes: identifiers exactly, names through the
    search index, which finds names differing in case, width, spacing, punctuation or
    suffix (a typo is found by the full `scan`). Many ids take the full name pass, kept
    to the pairs that touch them.
    """
    ids = frozenset(customer_ids)
    if len(ids) > SMALL_CHECK:
        return _scan(conn, owner_id, options, ids, lambda fraction, message: None)
    pairs = _Pairs(only=ids)
    scope, params = _scope(owner_id)
    for customer_id in sorted(ids):
        row = conn.execute(
            "SELECT id, name, kind, phone_bidx, email_bidx, id_number_bidx, credit_code"
            " FROM customers WHERE id=?",
            (customer_id,),
        ).fetchone()
        if row is None:
            continue
        for name, column in IDENTIFIERS.items():
            if row[column] is None:
                continue
            for (other,) in conn.execute(
                f"SELECT id FROM customers WHERE {column} = ? AND id != ?{scope} LIMIT ?",
                (row[column], customer_id, *params, options.max_group),
            ):
                pairs.add(customer_id, other, _BITS[name])
        if row["kind"] == "company" or options.person_names:
            _probe_name(conn, pairs, row, scope, params, options)
    return _result(conn, pairs, options)


def _probe_name(
    conn: sqlite3.Connection,
    pairs: _Pairs,
    row: sqlite3.Row,
    scope: str,
    params: tuple[int, ...],
    options: ScanOptions,
) -> None:
    """Customers of the same kind whose name the search index finds for this name's words."""
    kind = row["kind"]
    key = name_key(row["name"], kind)
    if not key:
        return
    bits = _NAME | (_PERSON if kind == "person" else 0)
    queries = {search_query(" ".join(name_words(row["name"]))), search_query(row["name"])}
    for match in queries - {None}:
        for other in conn.execute(
            "SELECT c.id, c.name FROM customer_search s JOIN customers c ON c.id = s.rowid"
            f" WHERE s.customer_search MATCH ? AND c.kind = ? AND c.id != ?{scope} LIMIT 200",
            (match, kind, row["id"], *params),
        ):
            score = similarity(key, name_key(other["name"], kind), options.name_threshold)
            if score:
                pairs.add(row["id"], other["id"], bits, score)


def _scope(owner_id: int | None) -> tuple[str, tuple[int, ...]]:
    return (" AND owner_id = ?", (owner_id,)) if owner_id is not None else ("", ())


def _scan(
    conn: sqlite3.Connection,
    owner_id: int | None,
    options: ScanOptions,
    only: frozenset[int] | None,
    report: Progress,
) -> ScanResult:
    pairs = _Pairs(only=only)
    scope, params = _scope(owner_id)
    for step, (name, column) in enumerate(IDENTIFIERS.items()):
        report(0.05 * step, _("shared {field}").format(field=name))
        cursor = conn.execute(
            f"SELECT group_concat(id) FROM customers WHERE {column} IS NOT NULL{scope}"
            f" GROUP BY {column} HAVING count(*) > 1",
            params,
        )
        for (ids,) in cursor:
            pairs.group([int(i) for i in ids.split(",")], _BITS[name], options.max_group)
    kinds = ("company", "person") if options.person_names else ("company",)
    for step, kind in enumerate(kinds):
        report(0.2 + 0.3 * step, _("reading {kind} names").format(kind=kind))
        bits = _NAME | (_PERSON if kind == "person" else 0)
        groups: dict[str, list[int]] = {}
        cursor = conn.execute(
            f"SELECT id, name FROM customers WHERE kind = ?{scope}", (kind, *params)
        )
        for customer_id, name in cursor:
            key = name_key(name, kind)
            if key:  # a name of only punctuation or emoji says nothing about who it is
                groups.setdefault(key, []).append(customer_id)
        report(0.35 + 0.3 * step, _("comparing {kind} names").format(kind=kind))
        for ids in groups.values():
            if len(ids) > 1:
                pairs.group(ids, bits, options.max_group)
        for first, second, score in _neighbours(list(groups), options):
            for a in groups[first][: options.max_group]:
                for b in groups[second][: options.max_group]:
                    pairs.add(a, b, bits, score)
        del groups
    report(0.8, _("scoring {count:,} pairs").format(count=len(pairs.marks)))
    result = _result(conn, pairs, options)
    report(1.0, _("{count:,} candidate pairs").format(count=result.total))
    return result


def _neighbours(keys: list[str], options: ScanOptions) -> Iterator[tuple[str, str, float]]:
    """Near-identical distinct keys within `window` of each other, sorted front to back
    and back to front."""
    cutoff, window = options.name_threshold, options.window
    seen: set[tuple[str, str]] = set()
    for order in (sorted(keys), sorted(keys, key=lambda k: k[::-1])):
        for i, key in enumerate(order):
            # one call per key for its whole window: half the time of a call per pair
            for other, score, _index in process.extract(
                key,
                order[i + 1 : i + 1 + window],
                scorer=fuzz.ratio,
                score_cutoff=cutoff,
                limit=None,
            ):
                pair = (key, other) if key < other else (other, key)
                if pair not in seen:
                    seen.add(pair)
                    yield key, other, float(score)


def _refs(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, CustomerRef]:
    wanted = sorted(set(ids))
    refs: dict[int, CustomerRef] = {}
    for start in range(0, len(wanted), 500):
        batch = wanted[start : start + 500]
        for row in conn.execute(
            "SELECT id, code, name, kind, owner_id FROM customers"
            f" WHERE id IN ({','.join('?' * len(batch))})",
            batch,
        ):
            refs[row[0]] = CustomerRef(*row)
    return refs


def _result(conn: sqlite3.Connection, pairs: _Pairs, options: ScanOptions) -> ScanResult:
    """Score every pair (comparing the names of pairs found by an identifier), count them
    by reason, and describe the strongest in full."""
    unnamed = [p for p, bits in pairs.marks.items() if not bits & _NAME]
    refs = _refs(conn, (i for p in unnamed for i in (p >> 32, p & 0xFFFFFFFF)))
    for pair in unnamed:
        first, second = refs[pair >> 32], refs[pair & 0xFFFFFFFF]
        if first.kind == second.kind:
            score = similarity(
                name_key(first.name, first.kind),
                name_key(second.name, second.kind),
                options.name_threshold,
            )
            if score:
                bits = _NAME | (_PERSON if first.kind == "person" else 0)
                pairs.add(first.id, second.id, bits, score)
    judged: dict[tuple[int, float], tuple[float, str]] = {}  # few distinct (bits, score)
    by_reason: dict[str, int] = {}

    def scored() -> Iterator[tuple[float, int]]:
        for pair, bits in pairs.marks.items():
            name_score = pairs.names.get(pair, 100.0)
            verdict = judged.get((bits, name_score))
            if verdict is None:
                matches = _matches(bits, name_score)
                verdict = _score(bits, matches), "+".join(m.field for m in matches)
                judged[bits, name_score] = verdict
            if verdict[0] >= options.min_score:
                by_reason[verdict[1]] = by_reason.get(verdict[1], 0) + 1
                yield -verdict[0], pair

    top = heapq.nsmallest(options.limit, scored()) if options.limit else sorted(scored())
    refs.update(_refs(conn, (i for _score, p in top for i in (p >> 32, p & 0xFFFFFFFF))))
    candidates = tuple(
        Candidate(
            refs[pair >> 32],
            refs[pair & 0xFFFFFFFF],
            _matches(pairs.marks[pair], pairs.names.get(pair, 100.0)),
            -negative,
        )
        for negative, pair in top
    )
    return ScanResult(candidates, sum(by_reason.values()), by_reason)


def _matches(bits: int, name_score: float) -> tuple[Match, ...]:
    """The matched fields, strongest kind first, names last."""
    found = [Match(name, 100.0) for name in WEIGHTS if bits & _BITS[name]]
    if bits & _NAME:
        found.append(Match("name", name_score))
    return tuple(found)


def _score(bits: int, matches: tuple[Match, ...]) -> float:
    doubt = 1.0
    for match in matches:
        if match.field == "name":
            weight = NAME_WEIGHTS["person" if bits & _PERSON else "company"]
            doubt *= 1 - weight * match.similarity / 100
        else:
            doubt *= 1 - WEIGHTS[match.field]
    return round(100 * (1 - doubt), 1)
