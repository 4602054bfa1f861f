"""Pilot flows of the customer detail screen and its forms, for each role, on a real database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input, OptionList, Select, Static, TextArea

from tests.conftest import PASSWORD, customer_data, hostile_strings
from tests.detail_app import DetailTestApp, press, sync
from tests.test_app_login import sign_in
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.screens.confirm import ConfirmScreen
from tui_crm.screens.conflict import ConflictScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.screens.followup_form import FollowUpFormScreen
from tui_crm.screens.help import HelpScreen
from tui_crm.screens.interaction_form import InteractionFormScreen
from tui_crm.screens.tag_editor import TagEditorScreen
from tui_crm.service import Customer, Service
from tui_crm.widgets.customer_header import CustomerHeader
from tui_crm.widgets.masked_field import MaskedFields
from tui_crm.widgets.timeline import PAGE, Timeline

Session = Callable[[str], Service]

# Every flow here also runs with NO_COLOR (see conftest.colour_modes).
pytestmark = pytest.mark.usefixtures("colour_modes")


def _app(service: Service, customer: Customer) -> DetailTestApp:
    return DetailTestApp(service, CustomerDetailScreen(service, customer.id))


def _notes(app: DetailTestApp) -> list[str]:
    return [n.message for n in app._notifications]


def _audit_actions(service: Service) -> list[str]:
    return [r[0] for r in service.db.conn.execute("SELECT action FROM audit_log ORDER BY id")]


def _error(app: DetailTestApp, field: str) -> str:
    return str(app.screen.query_one(f"#err-{field}", Static).render())


@pytest.mark.parametrize("username", ["admin", "manager", "service", "sales1"])
@sync
async def test_every_role_opens_the_detail_with_customer_text_shown_literally(
    session: Session, username: str
) -> None:
    owner = session("sales1")
    customer = owner.customers.create(customer_data(name="Acme [bold red]Corp[/]"))
    for hostile in hostile_strings():
        owner.activity.add_followup(customer.id, channel="phone", content="note " + hostile["text"])
    owner.activity.add_followup(customer.id, channel="phone", content="[link=x]click[/link]")
    service = session(username)
    app = _app(service, customer)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        header = str(app.screen.query_one(CustomerHeader).render())
        assert "Acme [bold red]Corp[/]" in header
        assert customer.code in header
        timeline = app.screen.query_one(Timeline)
        assert timeline.entries[0].content == "[link=x]click[/link]"
        assert "[link=x]click[/link]" in timeline.render_line(1).text
        for y in range(timeline.size.height):
            timeline.render_line(y)
        await pilot.press("escape")
        assert not isinstance(app.screen, CustomerDetailScreen)


@sync
async def test_reveal_allowed_is_audited_and_masks_again_on_leaving(session: Session) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    app = _app(rep, customer)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("r")
        contact = app.screen.query_one(MaskedFields)
        assert contact.revealed == {"phone": "13800138000"}
        assert "13800138000" in str(contact.render())
        assert _audit_actions(rep)[-1] == "reveal"
        await press(pilot, "f")
        assert contact.revealed == {}


@sync
async def test_reveal_refused_says_why_and_reveals_nothing(session: Session) -> None:
    customer = session("sales1").customers.create(customer_data())
    service = session("service")
    app = _app(service, customer)
    async with app.run_test() as pilot:
        await pilot.pause()
        await press(pilot, "r")
        assert app.screen.query_one(MaskedFields).revealed == {}
        assert any("may not reveal" in n for n in _notes(app))
        assert "reveal" not in _audit_actions(service)


@sync
async def test_edit_valid_saves_and_invalid_names_the_field(session: Session) -> None:
    manager = session("manager")
    customer = manager.customers.create(customer_data())
    app = _app(manager, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "e")
        assert isinstance(app.screen, CustomerFormScreen)
        app.screen.query_one("#f-email", Input).value = "not-an-email"
        app.screen.query_one("#f-name", Input).value = "Acme Holdings"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerFormScreen)
        assert "email" in _error(app, "email").lower() or _error(app, "email")
        assert manager.customers.get(customer.id).version == customer.version
        app.screen.query_one("#f-email", Input).value = ""
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerDetailScreen)
        saved = manager.customers.get(customer.id)
        assert saved.name == "Acme Holdings"
        assert saved.email == customer.email  # an empty sensitive field keeps the value
        assert "Acme Holdings" in str(app.screen.query_one(CustomerHeader).render())


@sync
async def test_edit_refused_for_customer_service(session: Session) -> None:
    customer = session("sales1").customers.create(customer_data())
    service = session("service")
    app = _app(service, customer)
    async with app.run_test() as pilot:
        await pilot.pause()
        await press(pilot, "e")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert any("Customer service may not edit" in n for n in _notes(app))


@sync
async def test_manager_reassigns_owner_and_admin_sets_legal_hold(session: Session) -> None:
    customer = session("sales1").customers.create(customer_data())
    admin = session("admin")
    app = _app(admin, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "e")
        app.screen.query_one("#f-owner", Select).value = "sales2"
        app.screen.query_one("#f-legal_hold").value = True  # type: ignore[attr-defined]
        await press(pilot, "ctrl+s")
    saved = admin.customers.get(customer.id)
    assert (saved.owner, saved.legal_hold) == ("sales2", True)


@sync
async def test_escape_on_a_changed_form_asks_before_discarding(session: Session) -> None:
    manager = session("manager")
    customer = manager.customers.create(customer_data())
    app = _app(manager, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "e")
        app.screen.query_one("#f-city", Input).value = "Xiamen"
        await press(pilot, "escape")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert isinstance(app.screen, CustomerFormScreen)
        await press(pilot, "escape", "y")
        assert isinstance(app.screen, CustomerDetailScreen)
    assert manager.customers.get(customer.id).city == ""


@pytest.mark.parametrize("choice", ["o", "r"])
@sync
async def test_conflict_shows_both_versions_and_lets_the_operator_choose(
    session: Session, choice: str
) -> None:
    manager, rep = session("manager"), session("sales1")
    customer = rep.customers.create(customer_data())
    app = _app(manager, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "e")
        rep.customers.update(customer.id, {"city": "Fuzhou"}, customer.version)
        app.screen.query_one("#f-city", Input).value = "Xiamen"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConflictScreen)
        await press(pilot, choice)
        if choice == "o":
            assert isinstance(app.screen, CustomerDetailScreen)
            assert manager.customers.get(customer.id).city == "Xiamen"
        else:
            assert isinstance(app.screen, CustomerFormScreen)
            assert app.screen.query_one("#f-city", Input).value == "Fuzhou"
            assert manager.customers.get(customer.id).city == "Fuzhou"


@pytest.mark.parametrize("username", ["sales1", "service", "manager"])
@sync
async def test_add_followup_with_quick_next_date(session: Session, username: str) -> None:
    customer = session("sales1").customers.create(customer_data())
    service = session(username)
    app = _app(service, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        assert isinstance(app.screen, FollowUpFormScreen)
        await press(pilot, "ctrl+s")
        assert _error(app, "content") == "is required"
        app.screen.query_one("#f-content", TextArea).text = "Asked for a quote"
        app.screen.query_one("#quick", Select).value = "3days"
        app.screen.query_one("#f-result", Select).value = "interest"
        await pilot.pause()
        planned = app.screen.query_one("#f-next_followup_date", Input).value
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerDetailScreen)
        entry = app.screen.query_one(Timeline).entries[0]
        assert (entry.content, entry.next_followup_date) == ("Asked for a quote", planned)
    assert (service.customers.get(customer.id).next_followup_at or "")[:10] == planned


@sync
async def test_add_interaction_order_needs_an_amount(session: Session) -> None:
    customer = session("sales1").customers.create(customer_data())
    service = session("service")
    app = _app(service, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "i")
        assert isinstance(app.screen, InteractionFormScreen)
        app.screen.query_one("#f-kind", Select).value = "order"
        app.screen.query_one("#f-detail", TextArea).text = "20 pumps"
        await press(pilot, "ctrl+s")
        assert _error(app, "amount") == "an order needs an amount"
        app.screen.query_one("#f-amount", Input).value = "1200.50"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert app.screen.query_one(Timeline).entries[0].amount_cents == 120050


@sync
async def test_tag_editor_adds_existing_creates_new_and_removes(session: Session) -> None:
    rep = session("sales1")
    other = rep.customers.create(customer_data(phone="13900139000"))
    rep.tags.add(other.id, "need", "purchase need")
    customer = rep.customers.create(customer_data())
    app = _app(rep, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "t")
        assert isinstance(app.screen, TagEditorScreen)
        app.screen.query_one("#tag-type", Select).value = "need"
        await press(pilot, *"purch")
        await pilot.press("right")  # accept the suggestion
        assert app.screen.query_one("#tag-name", Input).value == "purchase need"
        await pilot.press("enter")
        app.screen.query_one("#tag-type", Select).value = "value"
        await press(pilot, *"vip", "enter")
        assert "Created" in str(app.screen.query_one("#tag-message", Static).render())
        options = app.screen.query_one("#current-tags", OptionList)
        assert options.option_count == 2
        options.focus()
        options.highlighted = 0
        await press(pilot, "x")
        await press(pilot, "escape")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert "vip" in str(app.screen.query_one("#tags", Static).render())
    assert [(t.tag_type, t.name) for t in rep.customers.get(customer.id).tags] == [("value", "vip")]
    assert _audit_actions(rep).count("tag.add") == 3
    assert _audit_actions(rep).count("tag.remove") == 1


@sync
async def test_new_customer_warns_of_a_duplicate_before_saving(session: Session) -> None:
    rep = session("sales1")
    rep.customers.create(customer_data())
    app = DetailTestApp(rep, CustomerFormScreen(rep, None))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#f-name", Input).value = "Acme Again"
        app.screen.query_one("#f-phone", Input).value = "13800138000"
        await press(pilot, "ctrl+s")
        assert _error(app, "customer_type") == "is required"
        app.screen.query_one("#f-customer_type", Select).value = "prospect"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
    assert [c.name for c in rep.duplicates.find({"phone": "13800138000"})] == [
        "Acme Trading Ltd",
        "Acme Again",
    ]


@sync
async def test_timeline_loads_lazily_and_filters(session: Session) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    for n in range(PAGE * 3):
        rep.activity.add_followup(
            customer.id, channel="phone", content=f"call {n}", at=f"2026-01-01T{n:05d}"
        )
    rep.activity.add_interaction(
        customer.id, kind="complaint", detail="late", at="2025-12-01T09:00:00"
    )
    app = _app(rep, customer)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        timeline = app.screen.query_one(Timeline)
        assert len(timeline.entries) == PAGE
        await press(pilot, "end")
        assert len(timeline.entries) == PAGE * 3 + 1
        assert timeline.entries[timeline.cursor].kind == "complaint"
        for _ in range(4):  # follow-ups, interactions, orders, complaints
            await press(pilot, "k")
        assert [e.kind for e in timeline.entries] == ["complaint"]


@sync
async def test_the_whole_profile_is_shown_and_fits_80_columns(session: Session) -> None:
    rep = session("sales1")
    company = rep.customers.create(
        customer_data(
            name="Harbour [b]Pumps[/b]",
            contact_title="Buyer [i]",
            credit_code="91350100M000100Y43",
            province="Fujian",
            city="Xiamen",
            source="trade show",
            company_size="50-249",
            notes="Call after 3 pm [@click=app.quit]",
        )
    )
    rep.tags.add(company.id, "value", "high value")
    person = rep.customers.create(
        customer_data(name="Chen Jing", kind="person", id_number="11010519491231002X")
    )
    for customer, expected in (
        (
            company,
            [
                "Zed, Buyer [i]",
                "91350100M000100Y43",
                "Fujian Xiamen",
                "trade show",
                "50–249 staff",  # the size's display name (labels.py), not its stored code
                "high value",
            ],
        ),
        (person, ["person"]),
    ):
        app = _app(rep, customer)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            header = app.screen.query_one(CustomerHeader)
            text = header.render()
            assert all(part in text.plain for part in expected)
            assert all(line.cell_len <= header.content_region.width for line in text.split())
            notes = str(app.screen.query_one("#notes-text", Static).render())
            assert notes == ("Call after 3 pm [@click=app.quit]" if customer is company else "")
            contact = app.screen.query_one(MaskedFields)
            if customer is person:
                assert "110***********002X" in str(contact.render())
                contact.selected = contact.fields.index("id_number")
                await pilot.press("r")
                assert contact.revealed == {"id_number": "11010519491231002X"}
            else:
                assert "id_number" not in contact.fields


@sync
async def test_new_customer_warns_of_a_colleagues_duplicate_without_showing_it(
    session: Session,
) -> None:
    theirs = session("sales1").customers.create(customer_data(name="Secret Buyer Ltd"))
    rep = session("sales2")
    app = DetailTestApp(rep, CustomerFormScreen(rep, None))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#f-name", Input).value = "Acme Again"
        app.screen.query_one("#f-phone", Input).value = "13800138000"
        app.screen.query_one("#f-customer_type", Select).value = "prospect"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        shown = str(app.screen.details)
        assert theirs.code in shown and "sales1" in shown and "same phone" in shown
        assert "Secret" not in shown and "8000" not in shown
        await press(pilot, "n")
        assert isinstance(app.screen, CustomerFormScreen)
    assert rep.customers.find("Acme Again") == []


@sync
async def test_edit_clears_contact_data_with_a_dash_but_never_the_last_one(
    session: Session,
) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data(address="8 Harbour Road"))
    app = _app(rep, customer)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await press(pilot, "e")
        email = app.screen.query_one("#f-email", Input)
        assert email.placeholder == "unchanged: z***@example.com · type - to clear"
        email.value = "-"
        app.screen.query_one("#f-address", Input).value = " - "
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerDetailScreen)
        saved = rep.customers.get(customer.id)
        assert (saved.email, saved.address, saved.phone) == ("", "", customer.phone)
        await press(pilot, "e")
        app.screen.query_one("#f-phone", Input).value = "-"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerFormScreen)
        assert _error(app, "phone") == "a phone or an email is required"
    assert rep.customers.get(customer.id).phone == customer.phone
    audit = rep.db.conn.execute(
        "SELECT details FROM audit_log WHERE action='customer.update'"
    ).fetchall()
    assert len(audit) == 1 and "zed@example.com" not in audit[0]["details"]


@sync
async def test_edit_warns_when_a_changed_contact_matches_another_customer(
    session: Session,
) -> None:
    rep = session("sales1")
    first = rep.customers.create(customer_data())
    second = rep.customers.create(
        customer_data(name="Beta Ltd", phone="13900139000", email="beta@example.com")
    )
    app = DetailTestApp(rep, CustomerFormScreen(rep, second))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#f-phone", Input).value = "13900139000"  # its own number
        app.screen.query_one("#f-city", Input).value = "Xiamen"
        await press(pilot, "ctrl+s")
        assert not isinstance(app.screen, ConfirmScreen)
    assert rep.customers.get(second.id).city == "Xiamen"
    second = rep.customers.get(second.id)
    app = DetailTestApp(rep, CustomerFormScreen(rep, second))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#f-phone", Input).value = "138 0013 8000"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        shown = str(app.screen.details)
        assert first.code in shown and "Acme Trading Ltd" in shown
        assert second.code not in shown
        await press(pilot, "n")
        assert isinstance(app.screen, CustomerFormScreen)
        assert rep.customers.get(second.id).phone.endswith("9000")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)  # still asked: nothing was accepted
        await press(pilot, "y")
        assert not isinstance(app.screen, CustomerFormScreen)
    assert rep.customers.get(second.id).phone.endswith("8000")


@sync
async def test_edit_warns_of_a_colleagues_duplicate_by_code_and_owner_only(
    session: Session,
) -> None:
    theirs = session("sales2").customers.create(
        customer_data(name="Secret Buyer Ltd", credit_code="91350100M000100Y43")
    )
    rep = session("sales1")
    mine = rep.customers.create(customer_data(phone="13900139000", email="mine@example.com"))
    app = DetailTestApp(rep, CustomerFormScreen(rep, mine))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#f-email", Input).value = "ZED@example.com"
        app.screen.query_one("#f-credit_code", Input).value = "91350100M000100Y43"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        shown = str(app.screen.details)
        assert theirs.code in shown and "sales2" in shown
        assert "same email and credit code" in shown
        assert "Secret" not in shown and "zed@" not in shown.lower()
        await press(pilot, "n")
    assert rep.customers.get(mine.id).credit_code == ""
    hint = rep.db.conn.execute(
        "SELECT actor FROM audit_log WHERE action='duplicate.hint'"
    ).fetchall()
    assert [r[0] for r in hint] == ["sales1"]


@sync
async def test_detail_keys_are_remapped_by_id_and_listed_in_help(
    db: Database, session: Session
) -> None:
    customer = session("sales1").customers.create(customer_data())
    settings = Settings(bindings={"detail.followup": "w", "form.cancel": "ctrl+g"})
    app = CrmApp(db, settings=settings, login_failure_delay=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "sales1", PASSWORD)
        app.open_customer(customer.id)
        await pilot.pause()
        await press(pilot, "f")
        assert isinstance(app.screen, CustomerDetailScreen)  # f no longer opens the form
        await press(pilot, "w")
        assert isinstance(app.screen, FollowUpFormScreen)
        await press(pilot, "ctrl+g")
        assert isinstance(app.screen, CustomerDetailScreen)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {ident: keys for keys, _, ident in app.screen.bindings}
        assert listed["detail.followup"] == "w"
        for ident in ("detail.reveal", "detail.tags", "detail.edit", "detail.back"):
            assert ident in listed
        assert {"timeline.down", "timeline.page_down"} <= set(listed)  # the focused timeline
