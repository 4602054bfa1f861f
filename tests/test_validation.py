"""Entry rules: normalisation, checksums, control characters, every bad field named."""

from __future__ import annotations

import re

import pytest

from tests.conftest import hostile_strings
from tui_crm import validation as v


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("010 6552 9988", "1065529988"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_normalised(raw: str, expected: str) -> None:
    assert v.normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["123", "abc", "1380013800"])
def test_bad_phones_named(raw: str) -> None:
    with pytest.raises(v.ValidationError) as caught:
        v.normalise_phone(raw)
    assert caught.value.field == "phone"


def test_codes_checked() -> None:
    assert v.normalise_credit_code("91110000600037341L") == "91110000600037341L"
    with pytest.raises(v.ValidationError, match="credit code"):
        v.normalise_credit_code("91110000600037341X")
    assert v.normalise_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(v.ValidationError, match="resident ID"):
        v.normalise_id_number("110105194912310021")


def test_dates_and_enums() -> None:
    assert v.parse_date("2026-02-28") == "2026-02-28"
    for bad in ("28/02/2026", "2026-2-3", "2026-02-28T10:00"):
        with pytest.raises(v.ValidationError, match="YYYY-MM-DD"):
            v.parse_date(bad)
    for unreal in ("2026-02-30", "2026-13-01", "2025-02-29", "2026-04-31"):
        with pytest.raises(v.ValidationError, match=f"{unreal} is not a real date"):
            v.parse_date(unreal)
    assert v.parse_date("2024-02-29") == "2024-02-29"
    with pytest.raises(v.ValidationError, match="prospect, customer, churned"):
        v.choice("lead", "customer_type", v.CustomerType)
    assert v.industry("c") == "C"
    assert set(v.INDUSTRY_SECTIONS) >= set("ABCDEFGHIJKLMNOPQRST")


def test_company_names_trimmed_of_whitespace_only() -> None:
    assert v.clean_name("  ** Acme   Trading Ltd.  ") == "** Acme Trading Ltd."
    assert v.clean_name("北京科技（集团）") == "北京科技（集团）"


def test_form_names_every_bad_field() -> None:
    with pytest.raises(v.FormErrors) as caught:
        v.validate_customer({"name": " ", "customer_type": "x", "email": "no-at", "industry": "Z"})
    assert set(caught.value.errors) == {"name", "customer_type", "email", "industry"}
    with pytest.raises(v.FormErrors) as caught:
        v.validate_customer({"name": "A", "customer_type": "prospect"})
    assert caught.value.errors == {"phone": "a phone or an email is required"}


@pytest.mark.parametrize("case", hostile_strings(), ids=lambda c: c["why"])
def test_control_characters_stripped(case: dict[str, str]) -> None:
    """Control and format characters go (tests/test_names.py has the whole rule)."""
    cleaned = v.clean_text(case["text"])
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in cleaned)
    if all(ch == " " or ch.isprintable() for ch in case["text"]):
        assert cleaned == case["text"].strip()


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("001-808-617-6467x12895", "CN", "+18086176467;ext=12895"),
        ("(283)437-3886x88321", "US", "+12834373886;ext=88321"),
        ("010-65529988转801", "CN", "1065529988;ext=801"),
        ("+44 20 7946 0958 ext. 4", "CN", "+442079460958;ext=4"),
    ],
)
def test_phone_extensions_kept_never_dropped(raw: str, region: str, expected: str) -> None:
    normalised = v.normalise_phone(raw, region=region)
    assert normalised == expected
    assert v.normalise_phone(normalised) == expected  # stable when saved again
    assert v.phone_last4(normalised) == expected.partition(";")[0][-4:]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("001-808-617-6467x12895", "+18086176467;ext=12895"),
        ("+1 283 437 3886 ext. 5", "+12834373886;ext=5"),
        ("tel:+1-283-437-3886", "+12834373886"),
        ("tel:+1-283-437-3886;ext=5", "+12834373886;ext=5"),
        ("TEL:13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("（０１０）６５５２９９８８转８０１", "1065529988;ext=801"),
        ("010-65529988 分机 801", "1065529988;ext=801"),
        ("028-34373886", "2834373886"),  # a Chengdu landline, with its 0
        ("2834373886", "2834373886"),  # ... as it is stored and exported: stays itself
        ("800-810-8888", "8008108888"),  # toll-free numbers are written so in China too
        ("400-810-8888", "4008108888"),
    ],
)
def test_phone_shapes_from_files_read_as_the_country_they_are(raw: str, expected: str) -> None:
    """The shapes issue 10 names, through the rule the form uses (region CN)."""
    assert v.normalise_phone(raw) == expected
    assert (
        v.validate_customer({"name": "A", "customer_type": "prospect", "phone": raw})["phone"]
        == expected
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("(283)437-3886x", "extension mark but no extension number"),
        ("+12834373886x", "extension mark but no extension number"),
        ("13800138000 ext.", "extension mark but no extension number"),
        ("010-65529988转", "extension mark but no extension number"),
        ("(283)437-3886", "North American number but has no country code"),
        ("283.437.3886", "North American number but has no country code"),
        ("（２８３）４３７-３８８６", "North American number but has no country code"),
        ("tel:(283)437-3886", "North American number but has no country code"),
        ("(283)437-3886 x5", "North American number but has no country code"),
    ],
)
def test_phone_shapes_that_would_change_country_are_refused(raw: str, reason: str) -> None:
    """Never silently another country: `(283)437-3886x` used to be stored as 2834373886,
    a Chengdu landline."""
    with pytest.raises(v.ValidationError, match=reason) as caught:
        v.normalise_phone(raw)
    assert repr(raw) in str(caught.value)
    with pytest.raises(v.FormErrors) as form:
        v.validate_customer({"name": "A", "customer_type": "prospect", "phone": raw})
    assert reason in form.value.errors["phone"]


def test_the_refusals_are_said_in_chinese() -> None:
    from tui_crm import i18n

    with i18n.using("zh_CN"):
        for raw in ("(283)437-3886x", "(283)437-3886"):
            with pytest.raises(v.ValidationError) as caught:
                v.normalise_phone(raw)
            message = str(caught.value)
            assert raw in message and not re.search(r"[A-Za-z]{4,}", message), message


def test_masked_phone_with_extension() -> None:
    from tui_crm.crypto import mask_phone

    assert mask_phone("+18086176467;ext=12895") == "+180****6467 ext. 12895"
    assert mask_phone("13800138000") == "138****8000"
