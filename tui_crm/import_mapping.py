"""From a file's columns and cells to customer fields: the synonym table, mapping, values.

Headers are matched after folding case, width and punctuation, in Chinese and English.
Cell values an old system writes in its own words (客户类型 成交, industry 制造业 or a
GB/T 4754 division number, size 50-249人) are turned into the codes the form accepts, and
then every row goes through the form's own `validate_customer`, so an import accepts
exactly what a person could type. Dates take one order per column (see `detect_date_order`).

A file we exported ourselves reads back as it was written: CSV cells lose the apostrophe
the export put before a would-be formula (`tabular.restore`; another system's `="00123"`
reads 00123, as in Excel), and a masked phone, email, ID number or address
(`138****5678`) counts as not given, so it never overwrites the real value or becomes
one. Its Code column (客户编号) names the customer each row is, so a re-import matches
rows by code even where every contact value is masked.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import validation as v
from .bulk import CUSTOMER_FIELDS
from .crypto import SENSITIVE_FIELDS
from .i18n import _, pgettext
from .tabular import ImportFileError, is_masked, shown_text

# Fields a column can feed beyond the customer's own: parts combined into one field, a
# repeatable extra phone or email (kept encrypted), dates and the owner's user name.
COMBINED = {"first_name": "contact_name", "last_name": "contact_name", "country": "address"}
REPEATABLE = ("extra_phone", "extra_email", "notes")
DATE_FIELDS = ("created_at", "last_interaction_at")
# What spreadsheets write for "nothing here" in a column of numbers, addresses or dates.
# Read as an empty cell there (nothing stored, nothing overwritten), not as a bad value
# that rejects the whole row; in a name or the notes such a word is kept as written.
PLACEHOLDERS = frozenset(
    ("无", "暂无", "没有", "空", "未知", "不详", "-", "--", "—", "/", "n/a", "na", "none",
     "null", "nil")
)  # fmt: skip
PLACEHOLDER_FIELDS = frozenset(
    ("phone", "email", "id_number", "credit_code", "extra_phone", "extra_email", *DATE_FIELDS)
)
IMPORT_FIELDS = (
    *CUSTOMER_FIELDS,
    *COMBINED,
    "postcode",
    "extra_phone",
    "extra_email",
    "owner",
    *DATE_FIELDS,
    "code",
)

SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("客户编号", "客户代码", "code", "customer code"),
    "name": (
        "客户名称", "客户名", "客户", "公司名称", "公司", "企业名称", "企业", "单位名称", "单位",
        "名称", "姓名", "company", "company name", "customer", "customer name", "name",
        "account", "account name", "organization", "organisation", "business name",
        "公司全称", "客户全称", "企业全称", "单位全称", "机构名称", "商户名称",
    ),
    "contact_name": (
        "联系人", "联系人姓名", "联系人名称", "对接人", "contact", "contact name",
        "contact person", "full name",
    ),
    "first_name": ("名", "first name", "firstname", "given name"),
    "last_name": ("姓", "last name", "lastname", "surname", "family name"),
    "contact_title": ("职务", "职位", "头衔", "联系人职务", "title", "job title", "position"),
    "phone": (
        "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "移动电话",
        "座机", "固定电话", "phone", "phone number", "mobile", "mobile phone", "telephone",
        "tel", "cell", "cell phone", "联系人手机", "联系人电话", "联系手机", "联系人手机号",
        "mobile number", "telephone number", "phone no", "tel no", "business phone",
        "work phone", "office phone", "home phone", "座机号码", "固话", "mobile no",
    ),
    "email": (
        "邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "电子邮箱地址", "电子邮件地址",
        "联系人邮箱", "电子信箱", "邮箱号", "email", "e-mail", "email address", "mail",
    ),
    "id_number": ("身份证号", "身份证", "身份证号码", "证件号码", "id number", "id card"),
    "credit_code": (
        "统一社会信用代码", "信用代码", "社会信用代码", "credit code",
        "unified social credit code", "uscc",
    ),
    "address": (
        "地址", "详细地址", "联系地址", "通讯地址", "公司地址", "办公地址", "address",
        "street", "street address", "address line",
    ),
    "country": ("国家", "国家地区", "country", "country region"),
    "postcode": ("邮编", "邮政编码", "zip", "zip code", "postcode", "postal code",
                 "zip/postal code"),
    "province": ("省份", "省", "省市", "所在省份", "state", "province", "region",
                 "state/province"),
    "city": ("城市", "市", "所在城市", "city", "town"),
    "industry": ("行业", "所属行业", "行业分类", "行业代码", "industry", "sector"),
    "customer_type": (
        "客户类型", "客户状态", "客户阶段", "类型", "状态", "type", "customer type", "status",
        "stage", "lifecycle stage",
    ),
    "kind": ("客户性质", "客户类别", "主体类型", "个人企业", "kind", "entity type", "account type"),
    "owner": (
        "负责人", "销售", "业务员", "客户经理", "所属销售", "跟进人", "owner", "account owner",
        "sales rep", "assigned to",
    ),
    "notes": ("备注", "备注信息", "说明", "描述", "notes", "note", "remarks", "comments",
              "description"),
    "source": ("来源", "客户来源", "线索来源", "渠道", "source", "lead source", "channel"),
    "company_size": (
        "公司规模", "企业规模", "规模", "人数", "员工人数", "company size", "size",
        "employees", "number of employees", "headcount",
    ),
    "created_at": (
        "创建时间", "创建日期", "录入时间", "录入日期", "建档日期", "注册日期", "created",
        "created at", "created date", "date added", "customer since", "subscription date",
        "date created", "created time", "create time",
    ),
    "last_interaction_at": (
        "最后联系时间", "最后联系日期", "最近联系时间", "最近联系", "最近互动", "最后跟进时间",
        "最后跟进日期", "最近跟进时间", "上次联系时间", "last contact", "last contacted",
        "last activity", "last activity date", "last interaction",
    ),
}  # fmt: skip

# Headers that name a person (a customer who is one, or a company's contact person).
_PERSON_NAMES = frozenset(("姓名", "name"))
# Headers naming a second phone or email: 备用电话, 其他邮箱, Phone 2, Email 3 ...
_EXTRA_PREFIXES = ("备用", "其他", "其它", "第二", "other", "alternate", "alternative", "second")
# ... and Google's "E-mail 1 - Value", "Phone 2 - Value", Outlook's "E-mail 2 Address".
_DIGITS_AT_END = re.compile(r"(\d+)(?:value|address)?$")
_FOLD = re.compile(r"[\s_\-./:：()（）\[\]【】#*]+")

TYPE_WORDS = {
    v.CustomerType.PROSPECT: (
        "潜在", "潜在客户", "意向", "意向客户", "线索", "待跟进", "prospect", "lead", "potential",
        "new", "opportunity",
    ),
    v.CustomerType.CUSTOMER: (
        "成交", "已成交", "成交客户", "客户", "签约", "已签约", "合作", "合作中", "customer",
        "client", "active", "won", "closed won",
    ),
    v.CustomerType.CHURNED: (
        "流失", "已流失", "流失客户", "churned", "lost", "inactive", "closed lost", "former",
    ),
}  # fmt: skip
KIND_WORDS = {
    v.CustomerKind.COMPANY: ("企业", "公司", "单位", "机构", "company", "business", "organisation",
                             "organization", "b2b"),
    v.CustomerKind.PERSON: ("个人", "自然人", "person", "individual", "private", "b2c"),
}  # fmt: skip
SOURCE_WORDS = {
    v.Source.ONLINE_AD: ("网络广告", "线上广告", "广告", "百度推广", "搜索推广", "online ad", "ads",
                         "advertising", "ppc", "paid search"),
    v.Source.TRADE_SHOW: ("展会", "展览会", "会展", "trade show", "exhibition", "expo", "fair"),
    v.Source.REFERRAL: ("转介绍", "介绍", "朋友介绍", "客户介绍", "推荐", "referral", "referred",
                        "word of mouth"),
    v.Source.COLD_CALL: ("陌拜", "陌生拜访", "电话营销", "电销", "外呼", "cold call",
                         "cold calling", "telemarketing"),
    v.Source.WEBSITE: ("官网", "网站", "官方网站", "website", "web", "web form", "inbound"),
    v.Source.OTHER: ("其他", "其它", "other"),
}  # fmt: skip
# GB/T 4754-2017: the divisions (2-digit codes) of each section, and everyday names.
INDUSTRY_DIVISIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 96), "T": (97, 97),
}  # fmt: skip
INDUSTRY_WORDS = {
    "A": ("农业", "林业", "畜牧业", "渔业", "农林牧渔", "agriculture", "farming", "forestry",
          "fishery"),
    "B": ("采矿", "矿业", "采矿业", "mining"),
    "C": ("制造", "制造业", "工业", "生产", "manufacturing", "industrial", "factory"),
    "D": ("电力", "能源", "燃气", "供水", "utilities", "energy", "electricity"),
    "E": ("建筑", "建筑业", "施工", "construction", "building"),
    "F": ("批发", "零售", "批发零售", "贸易", "商贸", "电商", "retail", "wholesale", "trade",
          "trading", "e-commerce", "ecommerce"),
    "G": ("交通", "运输", "物流", "仓储", "快递", "邮政", "logistics", "transport",
          "transportation", "shipping", "warehousing"),
    "H": ("住宿", "餐饮", "酒店", "住宿餐饮", "hospitality", "hotel", "hotels", "restaurant",
          "catering", "food service"),
    "I": ("信息技术", "软件", "互联网", "it", "软件和信息技术服务业", "software", "internet",
          "information technology", "technology", "tech", "telecom", "telecommunications", "saas"),
    "J": ("金融", "银行", "保险", "证券", "finance", "financial services", "banking",
          "insurance"),
    "K": ("房地产", "地产", "物业", "real estate", "property"),
    "L": ("租赁", "商务服务", "咨询", "广告", "leasing", "business services", "consulting",
          "advertising", "marketing"),
    "M": ("科研", "科学研究", "技术服务", "研发", "research", "r&d", "engineering services"),
    "N": ("水利", "环境", "环保", "公共设施", "environment", "environmental services"),
    "O": ("居民服务", "修理", "家政", "repair", "personal services"),
    "P": ("教育", "培训", "学校", "education", "training", "school"),
    "Q": ("卫生", "医疗", "医院", "健康", "社会工作", "health", "healthcare", "medical",
          "hospital"),
    "R": ("文化", "体育", "娱乐", "传媒", "媒体", "文娱", "media", "entertainment", "sports",
          "culture", "arts"),
    "S": ("公共管理", "政府", "社会组织", "government", "public administration", "ngo",
          "non-profit", "nonprofit"),
    "T": ("国际组织", "international organisation", "international organization"),
}  # fmt: skip
_SIZE_NUMBER = re.compile(r"(\d[\d,]*)\s*(?:人|名|位|employees?|staff|people)?\+?")
_SIZE_RANGE = re.compile(r"(\d[\d,]*)\s*[-~～至到]\s*(\d[\d,]*)")


def fold(text: str) -> str:
    """A header or word as compared: width, case and punctuation folded away."""
    return _FOLD.sub("", unicodedata.normalize("NFKC", text).casefold())


def _lookup(table: Mapping[Any, Iterable[str]]) -> dict[str, Any]:
    return {fold(word): key for key, words in table.items() for word in words}


_HEADER_FIELD = _lookup(SYNONYMS)
_TYPE = _lookup(TYPE_WORDS) | {fold(t.value): t for t in v.CustomerType}
_KIND = _lookup(KIND_WORDS) | {fold(k.value): k for k in v.CustomerKind}
_SOURCE = _lookup(SOURCE_WORDS) | {fold(s.value): s for s in v.Source}
_INDUSTRY = _lookup(INDUSTRY_WORDS) | {
    fold(name): letter for letter, names in v.INDUSTRY_SECTIONS.items() for name in (*names, letter)
}


@dataclass(frozen=True)
class ColumnMapping:
    """Which field each column feeds (None: ignored), and what was left unmapped."""

    headers: tuple[str, ...]
    fields: tuple[str | None, ...]
    unknown: tuple[str, ...]

    def as_saved(self) -> dict[str, str]:
        """`{header: field or ""}`, the form a mapping is saved and overridden in."""
        counts = collections.Counter(self.headers)
        return {
            header if header and counts[header] == 1 else f"#{i + 1}": field or ""
            for i, (header, field) in enumerate(zip(self.headers, self.fields, strict=True))
        }

    def columns_of(self, name: str) -> list[int]:
        return [i for i, field in enumerate(self.fields) if field == name]


def _guess(header: str, taken: set[str]) -> str | None:
    folded = fold(header)
    if not folded:
        return None
    field = _HEADER_FIELD.get(folded)
    number = _DIGITS_AT_END.search(folded)
    base = _HEADER_FIELD.get(folded[: number.start()]) if number and not field else None
    extra = next((p for p in _EXTRA_PREFIXES if folded.startswith(fold(p))), None)
    if extra and not field:
        base = _HEADER_FIELD.get(folded[len(fold(extra)) :])
    if base in ("phone", "email"):
        first = number is not None and number.group(1) == "1" and base not in taken
        return base if first else f"extra_{base}"
    if field in ("phone", "email") and field in taken:
        return f"extra_{field}"
    return field if field not in taken or field in REPEATABLE else None


def suggest_mapping(
    headers: Sequence[str], overrides: Mapping[str, str] | None = None
) -> ColumnMapping:
    """Each header's field from the synonym table, then `overrides` applied.

    An override's key is a header's text or `#N` (the Nth column); its value is a field
    name, or "" to ignore the column. A field fed by two columns is refused, except the
    repeatable ones (extra phones and emails, notes).
    """
    overrides = dict(overrides or {})
    fields: list[str | None] = [None] * len(headers)
    for key, field in overrides.items():
        if field and field not in IMPORT_FIELDS:
            raise ImportFileError(
                _(
                    "mapping: unknown field {field} for column {column}; fields are: {fields}"
                ).format(field=repr(field), column=repr(key), fields=", ".join(IMPORT_FIELDS))
            )
        indexes = _override_indexes(headers, key)
        if not indexes:
            raise ImportFileError(
                _("mapping: the file has no column {column}").format(column=repr(key))
            )
        for index in indexes:
            fields[index] = field or None
    decided = {i for key in overrides for i in _override_indexes(headers, key)}
    taken = {f for f in fields if f}
    # Beside a company column (Company, 公司名称) and no contact column, "Name" or 姓名 is
    # the contact person's: the customer is not named after the person, the company dropped.
    undecided = [fold(h) for i, h in enumerate(headers) if i not in decided]
    guessed = {_HEADER_FIELD.get(h) for h in undecided}
    company_column = "name" in taken or any(
        _HEADER_FIELD.get(h) == "name" and h not in _PERSON_NAMES for h in undecided
    )
    names_a_contact = company_column and "contact_name" not in taken | guessed
    for index, header in enumerate(headers):
        if index in decided:
            continue
        guess = _guess(header, taken)
        if names_a_contact and fold(header) in _PERSON_NAMES:
            guess = None if "contact_name" in taken else "contact_name"
        fields[index] = guess
        if guess:
            taken.add(guess)
    _refuse_doubles(headers, fields)
    unknown = tuple(
        header or f"#{i + 1}"
        for i, (header, field) in enumerate(zip(headers, fields, strict=True))
        if field is None and i not in decided
    )
    return ColumnMapping(tuple(headers), tuple(fields), unknown)


def header_test(overrides: Mapping[str, str] | None = None) -> Callable[[Sequence[str]], int]:
    """How many cells of a row are headers the synonym table or `overrides` know: what
    `tabular.open_table` finds the header row by, under a report's title rows."""
    named = {fold(key) for key in overrides or {} if not key.startswith("#")}

    def known(cells: Sequence[str]) -> int:
        folded = [fold(v.clean_text(cell)) for cell in cells]
        return sum(1 for f in folded if f and (f in _HEADER_FIELD or f in named))

    return known


def refuse_twin_headers(mapping: ColumnMapping, overrides: Mapping[str, str]) -> None:
    """Two columns with the same header, one imported and the other not: the second's
    values would be dropped without a word, so the run asks which is which (by position)."""
    decided = {i for key in overrides for i in _override_indexes(mapping.headers, key)}
    first: dict[str, int] = {}
    for index, header in enumerate(mapping.headers):
        if not header:
            continue
        if header not in first:
            first[header] = index
            continue
        pair = (first[header], index)
        mapped = [mapping.fields[i] is not None for i in pair]
        if any(mapped) and not all(mapped) and not decided.issuperset(pair):
            raise ImportFileError(
                _(
                    "columns {first} and {second} are both named {header}; say what each"
                    " holds by position (e.g. --map '#{second}=' ignores the second)"
                ).format(first=pair[0] + 1, second=pair[1] + 1, header=repr(header))
            )


def check_saved(mapping: Mapping[str, str]) -> None:
    """A mapping to save: known fields only, none fed by two columns (but the repeatable)."""
    for key, name in mapping.items():
        if name and name not in IMPORT_FIELDS:
            raise ImportFileError(
                _("mapping: unknown field {field} for column {column}").format(
                    field=repr(name), column=repr(key)
                )
            )
    _refuse_doubles(list(mapping), list(mapping.values()))


def _override_indexes(headers: Sequence[str], key: str) -> list[int]:
    if key.startswith("#") and key[1:].isdigit():
        index = int(key[1:]) - 1
        return [index] if 0 <= index < len(headers) else []
    return [i for i, header in enumerate(headers) if header == key]


def _refuse_doubles(headers: Sequence[str], fields: Sequence[str | None]) -> None:
    seen: dict[str, int] = {}
    for index, field in enumerate(fields):
        if not field or field in REPEATABLE:
            continue
        if field in seen:
            first = headers[seen[field]] or f"#{seen[field] + 1}"
            second = headers[index] or f"#{index + 1}"
            raise ImportFileError(
                _(
                    "mapping: columns {first} and {second} are both mapped to {field};"
                    " map one of them elsewhere or ignore it"
                ).format(first=repr(first), second=repr(second), field=import_field_label(field))
            )
        seen[field] = index


# --- cell values -------------------------------------------------------------------------
# Each converter is cached: a file repeats the same few words in a column on every row.


@functools.lru_cache(maxsize=4096)
def customer_type(text: str) -> str:
    found = _TYPE.get(fold(text))
    return found.value if found else text


@functools.lru_cache(maxsize=4096)
def customer_kind(text: str) -> str:
    found = _KIND.get(fold(text))
    return found.value if found else text


@functools.lru_cache(maxsize=4096)
def source(text: str) -> str:
    found = _SOURCE.get(fold(text))
    return found.value if found else text


@functools.lru_cache(maxsize=4096)
def industry(text: str) -> str:
    """A section letter from a letter, a GB/T 4754 code (`C13`, `13`, `1311`) or a name."""
    folded = fold(text)
    if folded in _INDUSTRY:
        return _INDUSTRY[folded]
    match = re.fullmatch(r"([a-t])?(\d{2})\d{0,2}", folded)
    if match:
        division = int(match.group(2))
        for letter, (low, high) in INDUSTRY_DIVISIONS.items():
            if low <= division <= high and match.group(1) in (None, letter.lower()):
                return letter
    return text


@functools.lru_cache(maxsize=4096)
def company_size(text: str) -> str:
    """One of the form's size bands from a band, a head count or a range inside one band."""
    cleaned = text.replace(" ", "").replace(",", "")
    if cleaned in v.COMPANY_SIZES:
        return cleaned
    bounds = _SIZE_RANGE.fullmatch(cleaned.rstrip("人名位"))
    single = _SIZE_NUMBER.fullmatch(cleaned.lower())
    if bounds:
        low, high = int(bounds.group(1)), int(bounds.group(2))
    elif single:
        low = high = int(single.group(1).replace(",", ""))
        if cleaned.endswith("+") or "以上" in cleaned:
            high = 10**9
    else:
        return text
    for band in v.COMPANY_SIZES:
        band_low, _sep, band_high = band.rstrip("+").partition("-")
        top = int(band_high) if band_high else 10**9
        if int(band_low) <= low and high <= top:
            return band
    return text


# --- dates -------------------------------------------------------------------------------

ORDERS = ("ymd", "dmy", "mdy")
_DATE = re.compile(
    r"(\d{1,4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,4})\s*日?"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def date_order(declared: str) -> str:
    """`YMD`/`DMY`/`MDY`, or a pattern such as `DD/MM/YYYY` or `%m/%d/%Y`, as an order."""
    text = declared.strip().upper().replace("%", "")
    if text.lower() in ORDERS:
        return text.lower()
    positions = {letter: text.find(letter) for letter in "YDM"}
    order = "".join(sorted("ydm", key=lambda letter: positions[letter.upper()]))
    if -1 in positions.values() or order not in ORDERS:  # no day-year-month files exist
        raise ImportFileError(
            _("date format {format}: write it as YYYY-MM-DD, DD/MM/YYYY or MM/DD/YYYY").format(
                format=repr(declared)
            )
        )
    return order


def _parts(text: str) -> tuple[int, int, int, str] | None:
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not match:
        return None
    groups = match.groups()
    time = ""
    if len(groups) > 3 and groups[3] is not None:
        time = f"{int(groups[3]):02d}:{groups[4]}:{groups[5] or '00'}"
    return int(groups[0]), int(groups[1]), int(groups[2]), time


def _as_date(parts: tuple[int, int, int, str], order: str) -> dt.date | None:
    a, b, c, _time = parts
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    if year < 1000:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def orders_of(text: str) -> set[str]:
    """The orders under which `text` is a real date."""
    parts = _parts(text)
    return {order for order in ORDERS if parts and _as_date(parts, order)} if parts else set()


class DateOrderDetector:
    """The one order every date in a column can be read in; never guessed per row.

    A column whose dates all fit both day-first and month-first (04/05/2021) must be
    declared; so must one that mixes them (13/05/2021 and 05/13/2021). Values that are no
    date at all do not count here: their rows are rejected.
    """

    def __init__(self, column: str) -> None:
        self.column = column
        self.possible = set(ORDERS)
        self.seen = False

    def feed(self, value: str) -> None:
        orders = orders_of(value)
        if not orders:
            return
        self.seen = True
        if not self.possible & orders:
            raise ImportFileError(
                _(
                    "column {column} mixes day-first and month-first dates (e.g. {value});"
                    " declare the order with a date format (DD/MM/YYYY or MM/DD/YYYY)"
                ).format(column=repr(self.column), value=repr(value))
            )
        self.possible &= orders

    def order(self) -> str | None:
        if not self.seen:
            return None
        if len(self.possible) > 1:
            raise ImportFileError(
                _(
                    "column {column} has dates that read both day-first and month-first"
                    " (like 04/05/2021); declare the order with a date format"
                    " (DD/MM/YYYY or MM/DD/YYYY)"
                ).format(column=repr(self.column))
            )
        return next(iter(self.possible))


_EXPECTED = {"ymd": "YYYY-MM-DD", "dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}


def _calendar_fields(parts: tuple[int, int, int, str], order: str) -> bool:
    """Whether the numbers are a year, a month 1-12 and a day 1-31 in `order`, so a date
    that still fails (2026-02-30, 31/04/2021) is one the calendar does not have."""
    a, b, c, _time = parts
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    return year >= 1000 and 1 <= month <= 12 and 1 <= day <= 31


def parse_date(text: str, order: str | None, field_name: str) -> str:
    """`YYYY-MM-DDTHH:MM:SS` from a cell in the column's order; never in the future.

    A cell that has the shape of a date but names a day the calendar lacks (2026-02-30)
    is told so, rather than told to use the format it already uses."""
    parts = _parts(text)
    day = _as_date(parts, order) if parts and order else None
    if day is None and parts:
        fitting = [o for o in ([order] if order else ORDERS) if _calendar_fields(parts, o)]
        if fitting:
            raise v.ValidationError(
                field_name,
                _("{value} is written {expected} but no such day exists").format(
                    value=repr(text), expected=_EXPECTED[fitting[0]]
                ),
            )
    if day is None and order:
        raise v.ValidationError(
            field_name,
            _("{text!r} is not a date written {expected}").format(
                text=text, expected=_EXPECTED[order]
            ),
        )
    if day is None:
        raise v.ValidationError(field_name, _("{value} is not a date").format(value=repr(text)))
    if day > dt.date.today():
        raise v.ValidationError(field_name, _("{text!r} is in the future").format(text=text))
    return f"{day.isoformat()}T{parts[3] or '00:00:00'}" if parts else ""


# --- rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowPlan:
    """All a worker needs to clean rows on its own: the mapping and the options."""

    fields: tuple[str | None, ...]
    headers: tuple[str, ...]
    date_orders: Mapping[str, str | None]
    phone_region: str = "CN"
    default_type: str | None = None
    default_kind: str = v.CustomerKind.COMPANY
    owners: Mapping[str, int] = dataclasses.field(default_factory=dict)
    default_owner_id: int | None = None
    escaped: bool = False  # CSV: cells may carry `tabular.neutralise`'s apostrophe or ="..."
    width: int | None = None  # a row with a value past this many cells is rejected


@dataclass
class CleanRow:
    """One row after mapping and validation: values to write, or the reasons it cannot be.

    `given` names the fields the file itself filled in (an update overwrites only those);
    `inferred` values (a default type, a kind read from the ID number) count for a create;
    `masked` names sensitive fields whose cell held a masked value (not given either).
    `code` is the customer code the row names (our export's first column): the row is that
    customer, found by the code alone.
    """

    line: int
    cells: list[str]
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    given: frozenset[str] = frozenset()
    extra_contacts: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    owner_id: int | None = None
    created_at: str | None = None
    last_interaction_at: str | None = None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    masked: frozenset[str] = frozenset()
    code: str = ""
    search_text: str | None = None  # see `bulk.search_text_of`; None: made when written


def _placeholder(text: str) -> bool:
    return unicodedata.normalize("NFKC", text).casefold() in PLACEHOLDERS


def clean_rows(plan: RowPlan, rows: Sequence[tuple[int, list[str]]]) -> list[CleanRow]:
    """Map and validate rows (pure: runs in a worker process for big files)."""
    return [clean_row(plan, line, cells) for line, cells in rows]


def clean_row(plan: RowPlan, line: int, cells: list[str]) -> CleanRow:
    row = CleanRow(line, cells)
    data: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    extras: list[tuple[str, str, str]] = []
    masked: set[str] = set()
    if plan.width is not None and any(cell.strip() for cell in cells[plan.width :]):
        row.errors[f"#{plan.width + 1}"] = _(
            "the row has more cells than the header has columns: a comma in a value that"
            " is not in quotes?"
        )
    for index, name in enumerate(plan.fields):
        if name is None or index >= len(cells):
            continue
        cell = shown_text(cells[index]) if plan.escaped else cells[index]
        if "\x00" in cell:  # a C string cut short, or bytes of another file: damaged
            row.errors[name] = _("holds a NUL byte: the value may be damaged; check it")
            continue
        text = v.clean_text(cell, multiline=name == "notes")
        if not text or (name in PLACEHOLDER_FIELDS and _placeholder(text)):
            continue
        if name in SENSITIVE_FIELDS and is_masked(text):
            masked.add(name)
            continue
        if name in ("extra_phone", "extra_email"):
            extras.append((name, plan.headers[index] or f"#{index + 1}", text))
        elif name in COMBINED or name == "postcode":
            parts.setdefault(name, []).append(text)
        elif name == "notes" and "notes" in data:
            data["notes"] += f"\n{plan.headers[index]}: {text}"
        else:
            data[name] = text
    _combine(data, parts)
    row.code = data.pop("code", "").upper()
    given = frozenset(data) - {"owner", *DATE_FIELDS}
    _normalise_words(data)
    inferred = _infer(plan, data)
    try:
        row.values = v.validate_customer(
            {**inferred, **{k: val for k, val in data.items() if k in CUSTOMER_FIELDS}},
            partial=True,
            phone_region=plan.phone_region,
        )
    except v.FormErrors as exc:
        row.errors.update(exc.errors)
    row.given = given
    row.masked = frozenset(masked)
    for name, label, text in extras:
        try:
            if name == "extra_phone":
                value = v.normalise_phone(text, label, plan.phone_region)
            else:
                value = v.normalise_email(text, label)
            row.extra_contacts.append((label, value))
        except v.ValidationError as exc:
            row.errors[exc.field] = exc.message
    for date_field in DATE_FIELDS:
        if date_field in data:
            try:
                stamp = parse_date(data[date_field], plan.date_orders.get(date_field), date_field)
                setattr(row, date_field, stamp)
            except v.ValidationError as exc:
                row.errors[exc.field] = exc.message
    row.owner_id = plan.default_owner_id
    if "owner" in data:
        owner = plan.owners.get(data["owner"].casefold())
        if owner is None:
            row.errors["owner"] = _("{user} is not an active user").format(user=repr(data["owner"]))
        row.owner_id = owner
    return row


def _combine(data: dict[str, str], parts: Mapping[str, list[str]]) -> None:
    if "first_name" in parts or "last_name" in parts:
        first, last = " ".join(parts.get("first_name", [])), " ".join(parts.get("last_name", []))
        chinese = any(unicodedata.east_asian_width(ch) == "W" for ch in first + last)
        whole = last + first if chinese else f"{first} {last}".strip()
        data.setdefault("contact_name", whole)
    tail = [*parts.get("postcode", []), *parts.get("country", [])]
    if tail:
        data["address"] = ", ".join([data["address"], *tail] if "address" in data else tail)


def _normalise_words(data: dict[str, str]) -> None:
    for name, convert in (
        ("customer_type", customer_type),
        ("kind", customer_kind),
        ("source", source),
        ("industry", industry),
        ("company_size", company_size),
    ):
        if name in data:
            data[name] = convert(data[name])


def _infer(plan: RowPlan, data: Mapping[str, str]) -> dict[str, str]:
    """Values a create needs that the row does not give: default type, kind."""
    inferred: dict[str, str] = {}
    if "customer_type" not in data and plan.default_type:
        inferred["customer_type"] = plan.default_type
    if "kind" not in data:
        person = "id_number" in data and "credit_code" not in data
        inferred["kind"] = v.CustomerKind.PERSON if person else plan.default_kind
    return inferred


def missing_for_create(row: CleanRow) -> dict[str, str]:
    """What a new customer needs that the row lacks (the form's required fields)."""
    errors = {}
    if not row.values.get("name"):
        errors["name"] = _("is required")
    if not row.values.get("customer_type"):
        errors["customer_type"] = _("is required (map a column or give a default type)")
    if not row.values.get("phone") and not row.values.get("email"):
        if row.masked & {"phone", "email"}:
            errors["phone"] = _("is masked in the file: export with reveal to import it")
        else:
            errors["phone"] = _("a phone or an email is required")
    return errors


def import_field_label(name: str) -> str:
    """A field a column can feed, as the operator reads it (the import adds a few)."""
    extra = {
        "first_name": pgettext("field", "contact's first name"),
        "last_name": pgettext("field", "contact's last name"),
        "country": pgettext("field", "country"),
        "postcode": pgettext("field", "postcode"),
        "extra_phone": pgettext("field", "another phone"),
        "extra_email": pgettext("field", "another email"),
    }
    return extra.get(name) or v.field_label(name)


def rejection_reasons(errors: Mapping[str, str]) -> str:
    """A rejected row's reasons on one line, each after its field's name as the operator
    reads it: the same words on the screen, in the CLI and in the rejected-rows report."""
    return "; ".join(
        _("{field}: {message}").format(field=import_field_label(name), message=message)
        for name, message in errors.items()
    )
