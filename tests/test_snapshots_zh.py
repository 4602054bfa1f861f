"""Every screen phase 2 has translated so far, in Chinese at 80x24: double-width text must
not cut a label mid-word or break a column. The login, the customer list, the detail screen
and the forms are pictured at 120x40 too. (English pictures live beside each screen's other
tests.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from tests import test_analytics
from tests.conftest import customer_data
from tests.detail_app import DetailTestApp
from tests.test_admin_screen import AdminTestApp, fixed_audit, settle
from tests.test_app_analytics import _scored
from tests.test_retention import insert_customer
from tests.test_snapshots_detail import TODAY, _fixed_customer, _keys
from tests.test_snapshots_main import _app, _signed_in, fixed_list
from tests.workers import workers_done
from tui_crm import audit, i18n, verification
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.i18n import _
from tui_crm.screens.admin.audit_entry import AuditEntryScreen
from tui_crm.screens.admin.user_form import UserFormScreen
from tui_crm.screens.checks import ChecksScreen
from tui_crm.screens.choice import ChoiceScreen
from tui_crm.screens.confirm import ConfirmScreen
from tui_crm.screens.conflict import ConflictScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.screens.dashboard import DashboardScreen
from tui_crm.screens.due import DueScreen
from tui_crm.screens.followup_form import FollowUpFormScreen
from tui_crm.screens.interaction_form import InteractionFormScreen
from tui_crm.screens.tag_editor import TagEditorScreen
from tui_crm.screens.wrong_fields import WrongFieldsScreen
from tui_crm.service import Service
from tui_crm.verification import CHECKED_FIELDS

from .conftest import PASSWORD

SIZE = (80, 24)
SIZES = [(80, 24), (120, 40)]
shop = test_analytics.shop
__all__ = ["fixed_list", "shop"]  # fixtures, imported to be found


@pytest.fixture(autouse=True)
def chinese(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chinese before the app is built, and as the locale, so a sign-in keeps it."""
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    i18n.activate("zh_CN")
    yield


async def _settled(pilot: Pilot[Any]) -> None:
    for _round in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


def _sample(db: Database, names: tuple[str, ...]) -> None:
    """A verification sample for June 2026 over customers with fixed codes, drawn at a fixed
    time without audit entries of today's date (they would show in the audit tab)."""
    for name in names:
        insert_customer(db, name, customer_type="customer", last_interaction_at=None)
    with db.write() as tx:
        verification.draw_sample(
            tx,
            month="2026-06",
            drawn_by="admin",
            percent=100,
            seed=42,
            now=dt.datetime(2026, 6, 1, 9, 0),
        )


NAMES = ("厦门港务泵业有限公司", "Gulangyu Tea House", "福州[红]茶叶贸易有限责任公司总部")


@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_admin_tab(
    snap_compare: Any, db: Database, session: Callable[[str], Service], tab: str
) -> None:
    fixed_audit(db, 12)
    insert_customer(db, "Faded Lanterns [bold]Co[/bold]", last_interaction_at="2019-05-01")
    insert_customer(db, "长城旧贸易有限公司", last_interaction_at=None, created_at="2018-02-03")
    _sample(db, NAMES[:2])
    settings = Settings(backup_dir="/nonexistent/tui-crm-backups")

    async def go(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(tab)
        await settle(pilot)
        for widget in pilot.app.screen.query("Input"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    app = AdminTestApp(session("admin"), settings)
    assert snap_compare(app, terminal_size=SIZE, run_before=go)


def _dashboard_then(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def go(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press(*"manager", "enter", *PASSWORD, "enter")
        await _settled(pilot)
        app: Any = pilot.app
        app.push_screen(DashboardScreen(app.session, today=test_analytics.TODAY))
        await _settled(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return go


@pytest.mark.parametrize("keys", ["1", "2", "3", "4", "question_mark"])
def test_dashboard(
    snap_compare: Any,
    db: Database,
    shop: dict[str, int],
    session: Callable[[str], Service],
    keys: str,
) -> None:
    """Each tab, and the help screen over it (the keys with their ids)."""
    _scored(session)
    app = CrmApp(db, settings=Settings(), login_failure_delay=0)
    assert snap_compare(app, terminal_size=SIZE, run_before=_dashboard_then(keys))


def test_due_list(snap_compare: Any, session: Callable[[str], Service]) -> None:
    _fixed_customer(session)
    manager = session("manager")
    app = DetailTestApp(manager, DueScreen(manager, today=dt.date.fromisoformat(TODAY)))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled)


def test_checks(snap_compare: Any, db: Database, session: Callable[[str], Service]) -> None:
    _sample(db, NAMES)
    admin = session("admin")
    app = DetailTestApp(admin, ChecksScreen(admin, month="2026-06"))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled)


def _dialog(session: Callable[[str], Service]) -> dict[str, Callable[[], Screen[Any]]]:
    """Each dialog as its screen builds it, in the words it is given there."""
    rep = session("sales1")
    started = rep.customers.create(customer_data(name="厦门港务泵业有限公司", city="厦门"))
    theirs = dataclasses.replace(started, city="福州", version=started.version + 1, code="C1")
    entry = audit.AuditEntry(
        7,
        "2026-03-01T09:00:00",
        "manager",
        "customer.update",
        "customer",
        1,
        "C2026000001",
        {"fields": {"city": ["厦门", "福州"], "phone": ["138****0000", None]}, "via": "app"},
    )
    hint = _("You may not edit this customer: the check goes to {owner} to correct.")
    languages = [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES]
    question = _("Draw the {percent} verification sample for {month}?")
    return {
        "confirm": lambda: ConfirmScreen(question.format(percent="5%", month="2026-06")),
        "choice": lambda: ChoiceScreen(
            _("Language / 语言"),
            languages,
            any_label=_("Automatic (config file, else the system locale)"),
        ),
        "conflict": lambda: ConflictScreen(started, {"city": "泉州", "phone": "1"}, theirs),
        "wrong_fields": lambda: WrongFieldsScreen(CHECKED_FIELDS, hint.format(owner="sales1")),
        "audit_entry": lambda: AuditEntryScreen(entry),
        "user_form": lambda: UserFormScreen("add"),
    }


@pytest.mark.parametrize(
    "dialog", ["confirm", "choice", "conflict", "wrong_fields", "audit_entry", "user_form"]
)
def test_dialog(snap_compare: Any, session: Callable[[str], Service], dialog: str) -> None:
    screen = _dialog(session)[dialog]()

    async def still(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        for widget in pilot.app.screen.query("Input"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    app = DetailTestApp(session("sales1"), screen)
    assert snap_compare(app, terminal_size=SIZE, run_before=still)


def _size_id(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
def test_login(snap_compare: Any, db: Database, size: tuple[int, int]) -> None:
    assert snap_compare(_app(db), terminal_size=size)


def test_login_with_pinned_operator(snap_compare: Any, db: Database) -> None:
    assert snap_compare(_app(db, operator="sales1"), terminal_size=SIZE)


def test_login_refused(snap_compare: Any, db: Database) -> None:
    """A wrong password: the service's refusal, in Chinese, inside the box."""

    async def wrong(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press(*"sales1", "enter", *"wrong", "enter")
        await _settled(pilot)
        for field in pilot.app.screen.query("Input"):
            field.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(_app(db), terminal_size=SIZE, run_before=wrong)


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
def test_customer_list(snap_compare: Any, fixed_list: Database, size: tuple[int, int]) -> None:
    assert snap_compare(_app(fixed_list), terminal_size=size, run_before=_signed_in)


def test_customer_list_filtered(snap_compare: Any, fixed_list: Database) -> None:
    """Pinyin initials find 张伟's company; the status line names the search, the type and
    the value filter (no tiers scored yet, so nothing is left: the empty state)."""

    async def filtered(pilot: Pilot[None]) -> None:
        await _signed_in(pilot, "slash", *"zw", "enter", "t", "t", "v")

    assert snap_compare(_app(fixed_list), terminal_size=SIZE, run_before=filtered)


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
def test_customer_detail(
    snap_compare: Any, session: Callable[[str], Service], size: tuple[int, int]
) -> None:
    customer_id = _fixed_customer(session)
    manager = session("manager")
    app = DetailTestApp(manager, CustomerDetailScreen(manager, customer_id, today=TODAY))
    assert snap_compare(app, terminal_size=size, run_before=_keys())


def test_customer_detail_revealed(snap_compare: Any, session: Callable[[str], Service]) -> None:
    """Phone revealed, the timeline filtered to follow-ups (k)."""
    customer_id = _fixed_customer(session)
    manager = session("manager")
    app = DetailTestApp(manager, CustomerDetailScreen(manager, customer_id, today=TODAY))
    assert snap_compare(app, terminal_size=SIZE, run_before=_keys("r", "k"))


def test_customer_detail_of_a_person(snap_compare: Any, session: Callable[[str], Service]) -> None:
    """A Chinese person with a churn warning and a legal hold: the badges and labels in one
    header at 80 columns."""
    rep = session("sales2")
    person = rep.customers.create(
        customer_data(
            name="欧阳晓明",
            kind="person",
            customer_type="customer",
            contact_name="",
            province="福建",
            city="厦门",
            source="referral",
        )
    )
    with rep.db.write() as tx:
        tx.execute(
            "UPDATE customers SET code='C2026000044', created_at='2026-01-05T09:00:00',"
            " updated_at='2026-01-05T09:00:00', value_tier=1, churn_risk=1, legal_hold=1,"
            " next_followup_at='2026-02-20' WHERE id=?",
            (person.id,),
        )
    manager = session("manager")
    app = DetailTestApp(manager, CustomerDetailScreen(manager, person.id, today=TODAY))
    assert snap_compare(app, terminal_size=SIZE, run_before=_keys())


FORM_SIZES = [(80, 24), (120, 40)]


def _chinese_customer(session: Callable[[str], Service]) -> int:
    """A Chinese company of sales1's with tags and a planned follow-up, at a fixed code."""
    rep = session("sales1")
    customer = rep.customers.create(
        customer_data(
            name="厦门港务泵业有限公司",
            contact_name="林伟",
            contact_title="采购部经理",
            phone="13800138000",
            email="lin.wei@harbour-pumps.cn",
            credit_code="91350100M000100Y43",
            province="福建省",
            city="厦门市",
            address="湖里区港务路8号",
            source="trade show",
            company_size="50-249",
            notes="下午三点后来电。\n经福州办事处采购。",
        )
    )
    rep.tags.add(customer.id, "industry", "制造业")
    rep.tags.add(customer.id, "need", "采购需求")
    rep.tags.add(customer.id, "value", "高价值")
    with rep.db.write() as tx:
        tx.execute(
            "UPDATE customers SET code='C2026000042', next_followup_at='2026-03-05' WHERE id=?",
            (customer.id,),
        )
    return customer.id


async def _form_shown(pilot: Pilot[Any]) -> None:
    await _settled(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


def _form_then(fill: dict[str, str], *keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Fill fields of the open form (`f-<name>` ids), press keys, and hold still."""

    async def go(pilot: Pilot[Any]) -> None:
        await _form_shown(pilot)
        for name, value in fill.items():
            pilot.app.screen.query_one(f"#f-{name}").value = value  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press(*keys)
        await _form_shown(pilot)

    return go


def _form(session: Callable[[str], Service], scene: str) -> tuple[Service, Screen[Any], Any]:
    """Each form scene: who opens it, the screen, and what is done in it."""
    customer_id = _chinese_customer(session)
    rep, colleague, admin = session("sales1"), session("sales2"), session("admin")
    teahouse = colleague.customers.create(
        customer_data(name="鼓浪屿茶馆", phone="13800138000", email="")
    )
    with colleague.db.write() as tx:  # codes carry the year they are made in
        tx.execute("UPDATE customers SET code='C2026000043' WHERE id=?", (teahouse.id,))
    new = {"name": "泉州茶叶贸易有限公司", "customer_type": "prospect"}
    scenes: dict[str, tuple[Service, Callable[[], Screen[Any]], Any]] = {
        "customer_new": (
            rep,
            lambda: CustomerFormScreen(rep, None),
            _form_then({**new, "phone": "12345"}, "ctrl+s"),
        ),
        "customer_edit": (
            admin,
            lambda: CustomerFormScreen(admin, admin.customers.get(customer_id)),
            _form_then({"phone": "12345"}, "ctrl+s"),
        ),
        "customer_duplicate": (
            colleague,
            lambda: CustomerFormScreen(colleague, None),
            _form_then({**new, "phone": "13800138000"}, "ctrl+s"),
        ),
        "followup": (
            rep,
            lambda: FollowUpFormScreen(rep, customer_id, dt.date(2026, 3, 1), plan="2026-03-05"),
            _form_then({}, "ctrl+s"),
        ),
        "interaction": (
            rep,
            lambda: InteractionFormScreen(rep, customer_id),
            _form_then({"amount": "一千"}, "ctrl+s"),
        ),
        "tag_editor": (rep, lambda: TagEditorScreen(rep, customer_id), _form_then({}, "enter")),
    }
    service, screen, run = scenes[scene]
    return service, screen(), run


FORM_SCENES = (
    "customer_new",
    "customer_edit",
    "customer_duplicate",
    "followup",
    "interaction",
    "tag_editor",
)


@pytest.mark.parametrize("size", FORM_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", FORM_SCENES)
def test_form(
    snap_compare: Any, session: Callable[[str], Service], scene: str, size: tuple[int, int]
) -> None:
    """Each form with what it says when refused: a bad phone on a new and an edited
    customer, a likely duplicate (the rep's own and a colleague's), an empty follow-up,
    an interaction with a bad amount, an empty tag name."""
    service, screen, run = _form(session, scene)
    app = DetailTestApp(service, screen)
    assert snap_compare(app, terminal_size=size, run_before=run)
