"""Normalise and validate every value a person or a file can type in.

Each check raises `ValidationError` naming the field, so a form can show the message next
to the field and the CLI can print it as one line.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from .i18n import _, pgettext


def field_label(field: str) -> str:
    """A field's name as the operator reads it; the code is kept for unknown names (and
    for CLI options such as `--since`)."""
    return {
        "id": pgettext("field", "id"),
        "version": pgettext("field", "version"),
        "name": pgettext("field", "name"),
        "kind": pgettext("field", "kind"),
        "customer_type": pgettext("field", "customer type"),
        "contact_name": pgettext("field", "contact"),
        "contact_title": pgettext("field", "contact's title"),
        "phone": pgettext("field", "phone"),
        "email": pgettext("field", "email"),
        "credit_code": pgettext("field", "credit code"),
        "id_number": pgettext("field", "ID number"),
        "address": pgettext("field", "address"),
        "province": pgettext("field", "province"),
        "city": pgettext("field", "city"),
        "industry": pgettext("field", "industry"),
        "company_size": pgettext("field", "company size"),
        "source": pgettext("field", "source"),
        "notes": pgettext("field", "notes"),
        "owner": pgettext("field", "owner"),
        "code": pgettext("field", "code"),
        "channel": pgettext("field", "channel"),
        "content": pgettext("field", "what was discussed"),
        "result": pgettext("field", "result"),
        "next_followup_date": pgettext("field", "next follow-up"),
        "detail": pgettext("field", "detail"),
        "amount": pgettext("field", "amount"),
        "tag_type": pgettext("field", "tag type"),
        "tag_name": pgettext("field", "tag"),
        "username": pgettext("field", "username"),
        "password": pgettext("field", "password"),
        "role": pgettext("field", "role"),
        "display_name": pgettext("field", "display name"),
        "language": pgettext("field", "language"),
        "legal_hold": pgettext("field", "legal hold"),
        "reason": pgettext("field", "reason"),
        "created_at": pgettext("field", "created"),
        "updated_at": pgettext("field", "updated"),
        "last_interaction_at": pgettext("field", "last interaction"),
        "next_followup_at": pgettext("field", "next follow-up"),
        "tags": pgettext("field", "tags"),
        "date": pgettext("field", "date"),
        "imported": pgettext("field", "imported"),
    }.get(field, field)


def _field_error(field: str, message: str) -> str:
    return _("{field}: {message}").format(field=field_label(field), message=message)


class ValidationError(ValueError):
    """One bad field: `field` is its code (forms place the message by it), `message`
    says what is wrong in the active language, without naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(_field_error(field, message))
        self.field = field
        self.message = message


class FormErrors(ValueError):
    """Every field error of one form at once, so the operator fixes them in one pass."""

    def __init__(self, errors: dict[str, str]) -> None:
        separator = pgettext("separator", "; ")
        super().__init__(separator.join(_field_error(f, m) for f, m in errors.items()))
        self.errors = errors


class CustomerKind(StrEnum):
    COMPANY = "company"
    PERSON = "person"


class CustomerType(StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    CHURNED = "churned"


CUSTOMER_TYPE_LABELS = {
    CustomerType.PROSPECT: "潜在 prospect",
    CustomerType.CUSTOMER: "成交 customer",
    CustomerType.CHURNED: "流失 churned",
}


class Channel(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    EMAIL = "email"
    OTHER = "other"


class FollowUpResult(StrEnum):
    INTEREST = "interest"
    NEED_CONFIRMED = "need confirmed"
    PROBLEM_SOLVED = "problem solved"
    NO_ANSWER = "no answer"
    NOT_INTERESTED = "not interested"
    OTHER = "other"


class InteractionKind(StrEnum):
    EVENT = "event"
    COMPLAINT = "complaint"
    ENQUIRY = "enquiry"
    ORDER = "order"
    OTHER = "other"


class TagType(StrEnum):
    INDUSTRY = "industry"
    NEED = "need"
    VALUE = "value"
    CUSTOM = "custom"


class Source(StrEnum):
    ONLINE_AD = "online ad"
    TRADE_SHOW = "trade show"
    REFERRAL = "referral"
    COLD_CALL = "cold call"
    WEBSITE = "website"
    OTHER = "other"


COMPANY_SIZES = ("1-9", "10-49", "50-249", "250-999", "1000+")

# GB/T 4754-2017 sections.
INDUSTRY_SECTIONS: dict[str, tuple[str, str]] = {
    "A": ("农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "Mining"),
    "C": ("制造业", "Manufacturing"),
    "D": ("电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water supply"),
    "E": ("建筑业", "Construction"),
    "F": ("批发和零售业", "Wholesale and retail trade"),
    "G": ("交通运输、仓储和邮政业", "Transport, storage and postal services"),
    "H": ("住宿和餐饮业", "Accommodation and catering"),
    "I": ("信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    "J": ("金融业", "Finance"),
    "K": ("房地产业", "Real estate"),
    "L": ("租赁和商务服务业", "Leasing and business services"),
    "M": ("科学研究和技术服务业", "Scientific research and technical services"),
    "N": ("水利、环境和公共设施管理业", "Water conservancy, environment and public facilities"),
    "O": ("居民服务、修理和其他服务业", "Resident services, repair and other services"),
    "P": ("教育", "Education"),
    "Q": ("卫生和社会工作", "Health and social work"),
    "R": ("文化、体育和娱乐业", "Culture, sports and entertainment"),
    "S": (
        "公共管理、社会保障和社会组织",
        "Public administration, social security and organisations",
    ),
    "T": ("国际组织", "International organisations"),
}

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_LINE_BREAK_OR_TAB = re.compile("\r\n|[\t\n\x0b\x0c\r\x85\u2028\u2029]")
_ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
# Unicode's format characters (category Cf; tests check the list against unicodedata):
# invisible, and the bidi ones reorder what a terminal shows ("Invoice \u202egnp.exe").
# The joiners ZWNJ/ZWJ (U+200C/U+200D) are left to `_STRAY_JOINER`; the tag characters
# survive only inside an emoji tag sequence (the flags of England, Scotland, Wales).
_FORMAT = re.compile(
    "(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|"
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
_JOINERS = "\u200c\u200d"
# A joiner means something only between two visible non-ASCII characters: an emoji
# sequence (👨‍👩‍👧), an Indic or Persian word. Elsewhere it is an invisible stray.
_STRAY_JOINER = re.compile(
    f"(?<![^\\x00-\\x7f\\s{_JOINERS}])[{_JOINERS}]|[{_JOINERS}](?![^\\x00-\\x7f\\s{_JOINERS}])"
)
_SPACES = re.compile(r"\s+")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EXTENSION_WORD = re.compile(r"\s*(?:转|分机)\s*(?=\d)")
# An extension mark with no number after it (`(283)437-3886x`): phonenumbers drops it
# silently, but the person meant something there.
_DANGLING_EXTENSION = re.compile(r"\d[\s.\-)]*(?:x|ext\.?|extension|转|分机)\s*$", re.IGNORECASE)
# A number grouped the North American way, (283)437-3886 or 283.437.3886, with no country
# code: in a region that is not +1 its digits may also read as a local landline, and
# taking that reading would silently move the customer to another country.
_NORTH_AMERICAN = re.compile(
    r"(?:tel:\s*)?(\(?[2-9]\d{2}\)?[\s.\-]?[2-9]\d{2}[\s.\-]?\d{4})"
    r"(?:\s*(?:x|ext\.?|extension|#)\s*\d+)?",
    re.IGNORECASE,
)
EXTENSION_MARK = ";ext="


def clean_text(value: Any, *, multiline: bool = False) -> str:
    """Text as typed, minus what a person cannot see or a terminal would obey: escape
    sequences, control characters, format characters (bidi overrides, zero-width spaces;
    joiners only outside the words and emoji they join) and outer whitespace.

    A line break or tab becomes a space on one line (`multiline`: line breaks become
    `\\n`, tabs stay), so words never run together.
    """
    if value is None:
        return ""
    text = str(value)
    if text.isprintable():  # no control, format or line-break character: the usual case
        return text.strip()
    text = _ESCAPE_SEQUENCE.sub("", text)
    if multiline:
        text = _CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    else:
        text = _CONTROL_ONE_LINE.sub("", _LINE_BREAK_OR_TAB.sub(" ", text))
    text = _FORMAT.sub(lambda match: match.group(1) or "", text)
    return _STRAY_JOINER.sub("", text).strip()


def clean_line(value: Any) -> str:
    """One line of text as it is stored: `clean_text`, every run of whitespace one space."""
    return _SPACES.sub(" ", clean_text(value))


def clean_name(value: Any, field: str = "name", max_length: int = 200) -> str:
    """A company or person's name exactly as typed, but for `clean_line`'s changes:
    punctuation, brackets, symbols and emoji at either end are part of the name."""
    text = clean_line(value)
    if not text:
        raise ValidationError(field, _("is required"))
    if len(text) > max_length:
        raise ValidationError(field, _too_long(max_length))
    return text


def tag_key(name: str) -> str:
    """What makes two tag names the same tag: `VIP`, `vip` and full-width `ＶＩＰ` are one."""
    return unicodedata.normalize("NFKC", clean_line(name)).casefold()


def stored_form(value: Any, *, multiline: bool = False) -> str:
    """What a typed text field will be saved as, so a form can show it before saving."""
    return clean_text(value, multiline=True) if multiline else clean_line(value)


def optional_text(value: Any, field: str, *, max_length: int = 200, multiline: bool = False) -> str:
    text = clean_text(value, multiline=True) if multiline else clean_line(value)
    if len(text) > max_length:
        raise ValidationError(field, _too_long(max_length))
    return text


def _too_long(limit: int) -> str:
    return _("is longer than {limit} characters").format(limit=limit)


def required_text(value: Any, field: str, max_length: int) -> str:
    """Free text (line breaks kept) that must not be empty."""
    text = optional_text(value, field, max_length=max_length, multiline=True)
    if not text:
        raise ValidationError(field, _("is required"))
    return text


def collect(errors: dict[str, str], checks: Mapping[str, Any]) -> dict[str, Any]:
    """Run each field's check; a failure lands in `errors` under its field, so a form can
    show every bad field at once."""
    values: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValidationError as exc:
            errors[exc.field] = exc.message
    return values


def normalise_phone(value: Any, field: str = "phone", region: str = "CN") -> str:
    """Mainland numbers as their national digits (11 for mobiles); others as E.164.

    An extension (`x12895`, `ext. 801`, `转801`) is kept after `;ext=` (RFC 3966), since
    dropping it would reach the switchboard instead of the person.
    """
    text = clean_text(value)
    if not text:
        return ""
    return _plain_mobile(text, region) or _phone_by_rules(text, field, region)


@functools.lru_cache(maxsize=8192)
def _phone_by_rules(text: str, field: str, region: str) -> str:
    """The number by phonenumbers' rules, refusing the shapes they would silently misread:
    an extension mark without digits, a North American number without its +1."""
    folded = unicodedata.normalize("NFKC", text)  # full-width digits and brackets
    if _DANGLING_EXTENSION.search(folded):
        raise ValidationError(
            field,
            _("{value} ends with an extension mark but no extension number").format(
                value=repr(text)
            ),
        )
    try:
        number = phonenumbers.parse(_EXTENSION_WORD.sub(" ext. ", folded), region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            field, _("{value} is not a phone number").format(value=repr(text))
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            field, _("{value} is not a valid phone number").format(value=repr(text))
        )
    if _north_american_without_plus_one(folded, number):
        raise ValidationError(
            field,
            _(
                "{value} is written like a North American number but has no country code:"
                " write +1 before it, or the area code with its 0 if it is a local landline"
            ).format(value=repr(text)),
        )
    if number.country_code == 86:
        base = phonenumbers.national_significant_number(number)
    else:
        base = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{base}{EXTENSION_MARK}{number.extension}" if number.extension else base


def _north_american_without_plus_one(folded: str, number: phonenumbers.PhoneNumber) -> bool:
    """Whether a number read as a landline of a region outside +1 was written grouped the
    North American way (not as bare digits, the form stored numbers take) and is a valid
    +1 number too: then which country is meant cannot be told."""
    shape = _NORTH_AMERICAN.fullmatch(folded.strip())
    if shape is None or number.country_code == 1 or shape.group(1).isdigit():
        return False
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.FIXED_LINE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):  # fmt: skip
        return False  # 800/400 numbers are written 800-810-8888 in China too
    digits = re.sub(r"\D", "", shape.group(1))
    return phonenumbers.is_valid_number(phonenumbers.parse("+1" + digits))


def phone_last4(phone: str | None) -> str | None:
    """The last four digits of a normalised phone's number (its extension left out)."""
    base = (phone or "").partition(EXTENSION_MARK)[0]
    return base[-4:] or None


def normalise_email(value: Any, field: str = "email") -> str:
    text = clean_text(value)
    if not text:
        return ""
    if not text.isascii():  # full-width Ａ＠ｂ．ｃｏｍ, typed in an input method's wide mode
        text = unicodedata.normalize("NFKC", text)
    return _plain_email(text) or _email_by_rules(text, field)


@functools.lru_cache(maxsize=8192)
def _email_by_rules(text: str, field: str) -> str:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError(field, _("is not a valid email address")) from None
    return result.normalized.lower()


def _ascii_code(value: Any) -> str:
    """A code as typed with an input method in full-width mode (９１３５…Ｍ) or lower case:
    its ASCII capitals and digits, spaces dropped."""
    return unicodedata.normalize("NFKC", clean_text(value)).upper().replace(" ", "")


def normalise_credit_code(value: Any, field: str = "credit_code") -> str:
    text = _ascii_code(value)
    if not text:
        return ""
    try:
        return uscc.validate(text)
    except StdnumError:
        raise ValidationError(field, _("is not a valid unified social credit code")) from None


def normalise_id_number(value: Any, field: str = "id_number") -> str:
    text = _ascii_code(value)
    if not text:
        return ""
    try:
        return ric.validate(text)
    except StdnumError:
        raise ValidationError(field, _("is not a valid resident ID number")) from None


def parse_date(value: Any, field: str = "date") -> str:
    """A day written YYYY-MM-DD that exists on the calendar (`2026-02-30` does not)."""
    text = clean_text(value)
    if not text:
        return ""
    if not _ISO_DAY.fullmatch(text):
        raise ValidationError(field, _("must be a date written YYYY-MM-DD"))
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValidationError(field, _("{value} is not a real date").format(value=text)) from None


def choice(value: Any, field: str, allowed: type[StrEnum], *, required: bool = True) -> str:
    """The code `value` names; nothing chosen is "required" (a form's empty select), a
    wrong value lists the codes to type."""
    text = clean_text(value).lower()
    if not text:
        if required:
            raise ValidationError(field, _("is required"))
        return ""
    try:
        return allowed(text).value
    except ValueError:
        options = ", ".join(member.value for member in allowed)
        raise ValidationError(field, must_be_one_of(options)) from None


def must_be_one_of(options: str) -> str:
    """The message for a value outside a fixed list (`options` already joined)."""
    return _("must be one of: {options}").format(options=options)


def industry(value: Any, field: str = "industry") -> str:
    text = clean_text(value).upper()
    if not text:
        return ""
    if text not in INDUSTRY_SECTIONS:
        raise ValidationError(field, _("must be a GB/T 4754 section letter A–T"))
    return text


def amount_cents(value: Any, field: str = "amount") -> int | None:
    text = clean_text(value).replace(",", "")
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,12})(?:\.(\d{1,2}))?", text)
    if not match:
        raise ValidationError(field, _("must be a positive amount like 1200 or 1200.50"))
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


CUSTOMER_TEXT_FIELDS: dict[str, int] = {
    "contact_name": 100,
    "contact_title": 100,
    "province": 50,
    "city": 50,
    "address": 300,
}


def validate_customer(
    data: Mapping[str, Any], *, partial: bool = False, phone_region: str = "CN"
) -> dict[str, Any]:
    """Clean a customer's fields; raise `FormErrors` naming every bad field at once.

    With `partial`, only the fields given are checked (an edit), but the result still needs
    a name, a type and a contact method when those are among them. `phone_region` is where
    a number written without a country code is from (an import from abroad declares it).
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def check(field: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        if partial and field not in data:
            return
        try:
            out[field] = fn(data.get(field), *args, **kwargs)
        except ValidationError as exc:
            errors[exc.field] = exc.message

    check("name", clean_name)
    check("kind", lambda v: choice(v or "company", "kind", CustomerKind))
    check("customer_type", choice, "customer_type", CustomerType)
    check("phone", normalise_phone, region=phone_region)
    check("email", normalise_email)
    check("credit_code", normalise_credit_code)
    check("id_number", normalise_id_number)
    check("industry", industry)
    check("source", choice, "source", Source, required=False)
    check("notes", optional_text, "notes", max_length=4000, multiline=True)
    for field, limit in CUSTOMER_TEXT_FIELDS.items():
        check(field, optional_text, field, max_length=limit)
    if not partial or "company_size" in data:
        size = clean_text(data.get("company_size"))
        if size and size not in COMPANY_SIZES:
            errors["company_size"] = must_be_one_of(", ".join(COMPANY_SIZES))
        out["company_size"] = size
    kind = out.get("kind", data.get("kind"))
    if out.get("credit_code") and kind == CustomerKind.PERSON:
        errors.setdefault("credit_code", _("is for companies; persons have an ID number"))
    if out.get("id_number") and kind == CustomerKind.COMPANY:
        errors.setdefault("id_number", _("is for persons; companies have a credit code"))
    contact_given = out.get("phone") or out.get("email") or {"phone", "email"} & set(errors)
    if not partial and not contact_given:
        errors.setdefault("phone", contact_required())
    if errors:
        raise FormErrors(errors)
    return out


def contact_required() -> str:
    return _("a phone or an email is required")


def today() -> str:
    return dt.date.today().isoformat()


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


# --- fast paths: the same results as the rules above, for the values files are full of ---
# An import validates hundreds of thousands of phones and emails; these answer the common
# shapes without running phonenumbers or email-validator per value. Rejections always go
# through the rules (so their messages are the rules' own), and tests/test_validation.py
# checks fast == rules over many messy inputs. Failed values are never cached (exceptions
# are not), so a message is always in the language active when it is raised.

_MOBILE_PREFIXES: dict[str, bool] = {}
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_PLAIN_EMAIL_MAX = 200  # well under the 254 an address may have, so no length rule applies


def _plain_mobile(text: str, region: str) -> str | None:
    """A mainland mobile typed as its 11 bare digits (1[3-9]...), when known to be valid.

    For such a number, phonenumbers' CN metadata decides validity on the first five digits
    only (the mobile pattern reads up to `17405`; no fixed-line, shared-cost or carrier-code
    pattern starts with 1[3-9]), and a valid one normalises to itself. So the rules run once
    per prefix; every later number of a prefix seen valid is answered here.
    """
    if (
        region != "CN"
        or len(text) != 11
        or text[0] != "1"
        or text[1] not in "3456789"
        or not (text.isascii() and text.isdigit())
    ):
        return None
    prefix = text[:5]
    if _MOBILE_PREFIXES.get(prefix):
        return text
    if prefix not in _MOBILE_PREFIXES:
        try:
            _MOBILE_PREFIXES[prefix] = _phone_by_rules(text, "phone", region) == text
        except ValidationError:
            _MOBILE_PREFIXES[prefix] = False
        return text if _MOBILE_PREFIXES[prefix] else None
    return None


def _plain_email(text: str) -> str | None:
    """An ASCII dot-atom address (letters, digits, `_+-` and single dots) at a domain that
    validated before: email-validator checks the part before the @ and the domain apart, and
    such a local part is valid as typed, so only the domain needs its rules (once)."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None or len(text) > _PLAIN_EMAIL_MAX or len(match[1]) > 64:
        return None
    domain = _email_domain(match[2])
    return f"{match[1]}@{domain}".lower() if domain else None


@functools.lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str:
    """A domain as email-validator normalises it, "" when it rejects it."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return ""
