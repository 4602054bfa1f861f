"""The interface language below the UI: which language is chosen, how words, dates and
money read in it, display names of stored codes, validation and service messages in both
languages, the remembered per-user choice, and stored values that never change with it."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len

from tui_crm import i18n, labels, retention
from tui_crm import validation as v
from tui_crm.config import ConfigError, Settings
from tui_crm.db import Database
from tui_crm.i18n import formats
from tui_crm.roles import Action, Role
from tui_crm.service import PermissionDenied, Service, ServiceError
from tui_crm.service.context import describe

from .conftest import PASSWORD, customer_data

Session = Callable[[str], Service]
CJK = re.compile("[\u4e00-\u9fff]")


# --- choosing the language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh_CN.UTF-8", "zh_CN"),
        ("zh_CN.GB18030", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh_TW.UTF-8", "zh_CN"),
        ("en_GB.UTF-8", "en"),
        ("en_US@euro", "en"),
        ("C", "en"),
        ("POSIX", "en"),
        ("C.UTF-8", "en"),
        ("fr_FR.UTF-8", None),
        ("", None),
        (None, None),
    ],
)
def test_language_tags_are_normalised(tag: str | None, expected: str | None) -> None:
    assert i18n.normalise_language(tag) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LC_MESSAGES": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LANGUAGE": "", "LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "de_DE.UTF-8"}, None),
        ({}, None),
    ],
)
def test_locale_read_as_gettext_reads_it(environ: dict[str, str], expected: str | None) -> None:
    assert i18n.environment_language(environ) == expected


def test_user_choice_beats_config_beats_locale_beats_english() -> None:
    zh_locale = {"LANG": "zh_CN.UTF-8"}
    assert i18n.choose_language(user="en", configured="zh_CN", environ=zh_locale) == "en"
    assert i18n.choose_language(user="", configured="en", environ=zh_locale) == "en"
    assert i18n.choose_language(configured="", environ=zh_locale) == "zh_CN"
    assert i18n.choose_language(environ={"LANG": "fr_FR.UTF-8"}) == "en"
    assert i18n.choose_language(environ={}) == "en"


def test_activate_refuses_a_language_without_catalog_and_using_restores() -> None:
    with pytest.raises(i18n.UnknownLanguage):
        i18n.activate("fr")
    with i18n.using("zh_CN.UTF-8") as language:
        assert language == "zh_CN" and i18n.is_chinese()
        assert i18n.gettext("is required") == "不能为空"
    assert i18n.active_language() == "en"
    assert i18n.gettext("is required") == "is required"


def test_plural_and_context_lookups() -> None:
    assert i18n.ngettext("Deleted {count} backup.", "Deleted {count} backups.", 1) == (
        "Deleted {count} backup."
    )
    assert i18n.ngettext("Deleted {count} backup.", "Deleted {count} backups.", 3) == (
        "Deleted {count} backups."
    )
    with i18n.using("zh_CN"):
        assert i18n.ngettext("Deleted {count} backup.", "Deleted {count} backups.", 3) == (
            "已删除 {count} 个备份。"
        )
        # One English word, two Chinese ones: the context tells them apart.
        assert i18n.pgettext("customer type", "customer") == "成交客户"
        assert i18n.pgettext("role", "service") == "客服"


def test_lazy_messages_follow_every_switch() -> None:
    lazy = i18n.lazy_gettext("is required")
    assert str(lazy) == "is required"
    i18n.activate("zh_CN")
    assert str(lazy) == "不能为空"
    i18n.activate("en")
    assert f"{lazy}!" == "is required!"
    assert str(i18n.lazy_pgettext("role", "sales")) == "sales"


def test_config_ui_language(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ui]\nlanguage = "zh-CN"\n')
    assert Settings.load(config).language == "zh_CN"
    config.write_text("[backup]\nkeep_daily = 3\n")
    assert Settings.load(config).language == ""
    config.write_text('[ui]\nlanguage = "klingon"\n')
    with pytest.raises(ConfigError, match=r"config.toml.*klingon.*zh_CN, en"):
        Settings.load(config)


# --- formatting -----------------------------------------------------------------------------


def test_dates_read_naturally_in_each_language() -> None:
    assert formats.format_date("2026-11-23") == "Nov 23, 2026"
    assert formats.format_datetime("2026-11-23T14:05:09") == "Nov 23, 2026 14:05"
    assert formats.format_date(None) == "" and formats.format_datetime("") == ""
    with i18n.using("zh_CN"):
        assert formats.format_date("2026-11-23T14:05:09") == "2026年11月23日"
        assert formats.format_date(dt.date(2026, 1, 5), "long") == "2026年1月5日"
        assert formats.format_datetime(dt.datetime(2026, 11, 23, 9, 5, 7), seconds=True) == (
            "2026年11月23日 09:05:07"
        )


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_numbers_money_and_percentages(language: str) -> None:
    with i18n.using(language):
        assert formats.format_money(123450) == "¥1,234.50"
        assert formats.format_money(-5) == "-¥0.05"
        assert formats.format_money(None) == ""
        assert formats.format_number(1234567) == "1,234,567"
        assert formats.format_percent(0.125) == "12.5%"
        assert formats.format_percent(0.5, digits=0) == "50%"
    with i18n.using("en"):
        assert formats.format_money(100, "USD") == "$1.00"


def test_pad_counts_cjk_as_two_cells() -> None:
    assert formats.pad("张伟", 6) == "张伟  "
    assert formats.pad("ab", 6, right=True) == "    ab"
    assert formats.pad("北京云帆科技", 4) == "北京云帆科技"


def test_lists_join_as_each_language_does() -> None:
    assert formats.format_list(["phone", "email"]) == "phone and email"
    assert formats.format_list(["phone"]) == "phone" and formats.format_list([]) == ""
    with i18n.using("zh_CN"):
        fields = ["电话", "邮箱", "统一社会信用代码"]
        assert formats.format_list(fields) == "电话、邮箱和统一社会信用代码"


def test_fit_cuts_to_exact_cells_without_half_a_character() -> None:
    assert formats.fit("张伟", 6) == "张伟  "
    assert formats.fit("北京云帆科技有限公司", 9) == "北京云帆…"  # 8 cells + 1
    assert formats.fit("北京云帆科技有限公司", 10) == "北京云帆… "  # no half of 科
    assert formats.fit("Mckenzie Activity", 10) == "Mckenzie… "
    assert all(
        cell_len(formats.fit(text, n)) == n
        for text in ("北京云帆科技", "abc def", "a张b伟c")
        for n in range(1, 12)
    )


# --- display names of stored codes ----------------------------------------------------------

ENUM_KINDS: list[tuple[labels.LabelKind, tuple[str, ...]]] = [
    ("customer_type", tuple(v.CustomerType)),
    ("customer_kind", tuple(v.CustomerKind)),
    ("channel", tuple(v.Channel)),
    ("followup_result", tuple(v.FollowUpResult)),
    ("interaction_kind", tuple(v.InteractionKind)),
    ("tag_type", tuple(v.TagType)),
    ("source", tuple(v.Source)),
    ("company_size", v.COMPANY_SIZES),
    ("industry", tuple(v.INDUSTRY_SECTIONS)),
    ("role", tuple(Role)),
]


@pytest.mark.parametrize(("kind", "codes"), ENUM_KINDS, ids=[k for k, _ in ENUM_KINDS])
def test_every_stored_code_has_a_chinese_name(kind: labels.LabelKind, codes: tuple) -> None:
    with i18n.using("zh_CN"):
        offered = labels.choices(kind)
        assert [code for _, code in offered] == list(codes)  # the codes' own order
        for code in codes:
            name = labels.label(kind, code)
            assert name and name != code and CJK.search(name), (kind, code, name)
    with i18n.using("en"):
        assert not any(CJK.search(labels.label(kind, code)) for code in codes)


def test_labels_read_each_language() -> None:
    with i18n.using("zh_CN"):
        assert labels.label("customer_type", "prospect") == "潜在客户"
        assert labels.label("customer_type", "churned") == "流失客户"
        assert labels.label("channel", "visit") == "上门拜访"
        assert labels.industry_label("C") == "C 制造业"
        assert labels.field_label("next_followup_date") == "下次跟进日期"
        assert labels.label("audit_action", "customer.update") == "修改客户"
    assert labels.label("customer_type", "prospect") == "prospect"
    assert labels.industry_label("C", with_code=False) == "Manufacturing"
    assert labels.label("source", "made-up") == "made-up"  # a newer code reads as itself
    assert labels.label("source", "") == labels.industry_label(None) == ""


def test_every_action_is_described() -> None:
    with i18n.using("zh_CN"):
        for action in Action:
            assert CJK.search(describe(action)), action


# --- messages in both languages -------------------------------------------------------------


def test_validation_messages_in_both_languages() -> None:
    with pytest.raises(v.ValidationError) as caught:
        v.normalise_phone("12")
    assert str(caught.value) == "phone: '12' is not a valid phone number"
    with i18n.using("zh_CN"):
        with pytest.raises(v.ValidationError) as caught:
            v.normalise_phone("12")
        assert caught.value.field == "phone"
        assert caught.value.message == "'12' 不是有效的电话号码"
        assert str(caught.value) == "电话：'12' 不是有效的电话号码"
        with pytest.raises(v.FormErrors) as form:
            v.validate_customer({"name": " ", "customer_type": "lead", "amount": "x"})
    assert form.value.errors == {
        "name": "不能为空",
        "customer_type": "必须是以下之一：prospect, customer, churned",
        "phone": "电话和邮箱至少填写一项",
    }
    assert str(form.value) == (
        "名称：不能为空；客户类型：必须是以下之一：prospect, customer, churned；"
        "电话：电话和邮箱至少填写一项"
    )


def test_service_refusals_in_chinese(db: Database, session: Session) -> None:
    created = session("admin").customers.create(customer_data(owner="sales1"))
    with i18n.using("zh_CN"):
        with pytest.raises(PermissionDenied, match=r"^客服无权修改客户基本信息。$"):
            session("service").customers.update(created.id, {"name": "X"}, created.version)
        with pytest.raises(PermissionDenied, match=r"^该客户不由您负责，您不能查看该客户。$"):
            session("sales2").customers.get(created.id)
        with pytest.raises(ServiceError, match=r"^没有编号为 C1 的客户。$"):
            session("admin").customers.get("C1")
        with pytest.raises(v.FormErrors) as caught:
            session("admin").activity.add_interaction(created.id, kind="order", detail="大单")
        assert caught.value.errors == {"amount": "订单必须填写金额"}
        with pytest.raises(ServiceError, match="用户名或密码错误"):
            Service.login(db, "admin", "wrong", failure_delay=0)


def test_stored_values_stay_language_neutral(db: Database, session: Session) -> None:
    """Chinese on screen, codes in the file: the type, kind, channel and the purge reason
    in the audit log are the same whatever language the operator used."""
    with i18n.using("zh_CN"):
        admin = session("admin")
        created = admin.customers.create(
            customer_data(customer_type="churned", kind="person", source="referral")
        )
        admin.activity.add_followup(created.id, channel="visit", content="拜访", result="interest")
        with db.write() as tx:
            tx.execute(
                "UPDATE customers SET last_interaction_at='2019-01-01T00:00:00' WHERE id=?",
                (created.id,),
            )
        policy = retention.Policy(years=2)
        assert "流失客户" in retention.preview(db, policy)[0].reason
        retention.purge(db, policy, 1, actor="admin")
    conn = sqlite3.connect(db.path)
    kinds = conn.execute("SELECT DISTINCT channel, result FROM followups").fetchall()
    assert kinds in ([], [("visit", "interest")])  # purged with the customer, or as stored
    details = conn.execute(
        "SELECT details FROM audit_log WHERE action='customer.purge'"
    ).fetchone()[0]
    conn.close()
    assert "churned; no interaction since 2019-01-01 (over 2 years)" in details
    assert "流失" not in details


def test_created_customer_codes_not_names(db: Database, session: Session) -> None:
    with i18n.using("zh_CN"):
        created = session("admin").customers.create(customer_data(kind="person"))
    row = db.conn.execute(
        "SELECT kind, customer_type FROM customers WHERE id=?", (created.id,)
    ).fetchone()
    assert tuple(row) == ("person", "prospect")


# --- the remembered choice ------------------------------------------------------------------


def test_users_remember_their_language(db: Database, session: Session) -> None:
    sales = session("sales1")
    assert sales.users.set_language("zh_CN.UTF-8") == "zh_CN"
    assert sales.user.language == "zh_CN"
    assert sales.language(Settings(language="en")) == "zh_CN"
    signed_in = Service.login(db, "sales1", PASSWORD, failure_delay=0)
    assert signed_in.user.language == "zh_CN"
    assert signed_in.language(Settings()) == "zh_CN"
    assert sales.users.set_language("") == ""
    stored = db.conn.execute("SELECT language FROM users WHERE username='sales1'").fetchone()
    assert stored[0] is None
    assert sales.language(Settings(language="zh_CN")) == "zh_CN"
    assert sales.language(Settings()) == "en"
    actions = [
        r[0] for r in db.conn.execute("SELECT action FROM audit_log WHERE action='user.language'")
    ]
    assert actions == ["user.language", "user.language"]


def test_language_choice_is_checked_and_scoped(db: Database, session: Session) -> None:
    with pytest.raises(v.ValidationError) as caught:
        session("sales1").users.set_language("fr")
    assert caught.value.field == "language"
    with pytest.raises(PermissionDenied):
        session("sales1").users.set_language("en", "sales2")
    assert session("admin").users.set_language("en", "sales2") == "en"
    with pytest.raises(ServiceError, match="Name the user"):
        Service.for_cli(db).users.set_language("en")
    listed = {u.username: u.language for u in session("admin").users.list()}
    assert listed["sales2"] == "en" and listed["sales1"] == ""
