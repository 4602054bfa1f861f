"""The import's fast paths for phones and emails answer exactly as the rules do."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from tests.conftest import hostile_strings
from tui_crm import validation as v


def _by_rules_phone(text: str, region: str = "CN") -> str | None:
    """What the rules alone make of a phone (None: rejected), with no cache in between."""
    if not v.clean_text(text):
        return ""
    try:
        return v._phone_by_rules.__wrapped__(v.clean_text(text), "phone", region)
    except v.ValidationError:
        return None


def _by_rules_email(text: str) -> str | None:
    if not v.clean_text(text):
        return ""
    try:
        return v._email_by_rules.__wrapped__(v.clean_text(text), "email")
    except v.ValidationError:
        return None


def _fast_phone(text: str, region: str = "CN") -> str | None:
    try:
        return v.normalise_phone(text, region=region)
    except v.ValidationError:
        return None


def _fast_email(text: str) -> str | None:
    try:
        return v.normalise_email(text)
    except v.ValidationError:
        return None


@pytest.fixture(autouse=True)
def _cold_caches() -> None:
    v._MOBILE_PREFIXES.clear()
    v._phone_by_rules.cache_clear()
    v._email_by_rules.cache_clear()
    v._email_domain.cache_clear()


def test_every_mobile_prefix_decides_like_the_rules() -> None:
    """Each 5-digit prefix 13000-19999, twice (the second answered by the fast path), with
    suffixes that look like carrier codes or international prefixes (`00` next)."""
    rng = random.Random(12)
    for prefix in range(13000, 20000):
        for suffix in ("000000", "001234", f"{rng.randrange(10**6):06d}", "999999"):
            number = f"{prefix}{suffix}"
            assert _fast_phone(number) == _by_rules_phone(number), number
            assert _fast_phone(number) == _by_rules_phone(number), number


MESSY_PHONES = [
    "13800138000", "138 0013 8000", "+86 138-0013-8000", "8613800138000", "13800138000 ",
    "１３８００１３８０００", "1380013800", "138001380001", "10123456789", "11234567890",
    "12593800138", "17951001234", "17400123456", "17406123456", "16101234567", "14512345678",
    "19212345678", "0086 13800138000", "+852 6123 4567", "001-808-617-6467x12895",
    "010 6552 9988", "13800138000 转 801", "abc", "", "+44 20 7946 0958", "٩٣٨٠٠١٣٨٠٠٠",
]  # fmt: skip


@pytest.mark.parametrize("raw", MESSY_PHONES)
@pytest.mark.parametrize("region", ["CN", "US"])
def test_messy_phones_like_the_rules(raw: str, region: str) -> None:
    expected = _by_rules_phone(raw, region)
    assert _fast_phone(raw, region) == expected
    assert _fast_phone(raw, region) == expected  # again, from the caches


def test_random_mobiles_like_the_rules() -> None:
    rng = random.Random(3)
    numbers = [f"1{rng.randrange(10**10):010d}" for _ in range(20_000)]
    for number in numbers:
        assert _fast_phone(number) == _by_rules_phone(number), number


MESSY_EMAILS = [
    "Zhang.Wei@QQ.com", "zhang.wei@qq.com", "a@b.co", "a..b@qq.com", ".a@qq.com", "a.@qq.com",
    "a@qq..com", "a@-qq.com", "a@qq-.com", "a@qq.c", "a@qq.123", "a@localhost", "a@x.local",
    "a@example.com", "a@example.test", "a@invalid", "a@b.invalid", "x" * 64 + "@qq.com",
    "x" * 65 + "@qq.com", "a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com",
    "a+tag@gmail.com", "-a-@gmail.com", "_@gmail.com", "a b@qq.com", "a@qq.com ",
    "nobody at example.com", "a@@qq.com", "Name <a@qq.com>", "用户@例子.中国", "a@例子.中国",
    "a@xn--fsqu00a.xn--fiqs8s", "A@XN--FSQU00A.XN--FIQS8S", "a@1.2.3.4", "a@[1.2.3.4]",
    "a@qq.com.", "postmaster@QQ.COM", "a@sub.domain.example.org", "a@" + "b." * 126 + "com",
]  # fmt: skip


@pytest.mark.parametrize("raw", MESSY_EMAILS)
def test_messy_emails_like_the_rules(raw: str) -> None:
    assert _fast_email(raw) == _by_rules_email(raw)
    assert _fast_email(raw) == _by_rules_email(raw)


def test_random_emails_like_the_rules() -> None:
    rng = random.Random(5)
    alphabet = "abcXYZ019._+-@ "
    domains = ["qq.com", "163.com", "Example.COM", "a-b.cn", "x.y", "localhost", "b.local"]
    for _ in range(5000):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        raw = f"{local}@{rng.choice(domains)}" if rng.random() < 0.9 else local
        assert _fast_email(raw) == _by_rules_email(raw), raw


def test_email_domain_is_the_libraries_own() -> None:
    expected = validate_email("a@QQ.com", check_deliverability=False).domain
    assert v._email_domain("QQ.com") == expected
    with pytest.raises(EmailNotValidError):
        validate_email("a@localhost", check_deliverability=False)
    assert v._email_domain("localhost") == ""


def test_clean_text_fast_path_like_the_expressions() -> None:
    """Printable text skips the control-character expressions; the result is the same as
    the full rule's (a trailing control character forces the full path)."""
    hostile = [value for item in hostile_strings() for value in item.values()]
    samples = [*hostile, " a ", "\u3000张伟\u3000", "a\u200bb", "\xa0x\xa0", "é", ""]
    for text in samples:
        for multiline in (False, True):
            slow = v.clean_text(text + "\x07", multiline=multiline)
            assert v.clean_text(text, multiline=multiline) == slow, repr(text)
