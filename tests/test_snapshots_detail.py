"""Snapshots of the detail screen, each form showing a validation error, and the due list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp
from tests.workers import workers_done
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.due import DueScreen
from tui_crm.service import Service

SIZES = [(80, 24), (120, 40)]
TODAY = "2026-03-01"


def _fixed_customer(session: Callable[[str], Service]) -> int:
    """One customer with a rich, fully dated history, identical on every run."""
    rep = session("sales1")
    customer = rep.customers.create(
        customer_data(
            name="Xiamen Harbour Pumps [Co] Ltd",
            contact_name="Lin Wei",
            contact_title="Purchasing [manager]",
            email="lin.wei@harbour-pumps.cn",
            notes="Prefers calls after 3 pm.\nBuys via the Fuzhou office; [red]no[/] markup.",
            credit_code="91350100M000100Y43",
            province="Fujian",
            city="Xiamen",
            address="8 Harbour Road",
            source="trade show",
            company_size="50-249",
        )
    )
    rep.tags.add(customer.id, "industry", "manufacturing")
    rep.tags.add(customer.id, "need", "purchase need")
    rep.tags.add(customer.id, "value", "high value")
    rep.activity.add_followup(
        customer.id,
        channel="visit",
        content="Met the buyer on site; they want 20 pumps by May",
        result="need confirmed",
        at="2026-01-20T15:30:00",
    )
    rep.activity.add_interaction(
        customer.id,
        kind="order",
        detail="20 pumps, model HP-3",
        amount="48000",
        at="2026-02-01T10:00:00",
    )
    rep.activity.add_interaction(
        customer.id, kind="complaint", detail="[bold]Late[/bold] delivery", at="2026-02-05T11:00:00"
    )
    rep.activity.add_followup(
        customer.id,
        channel="phone",
        content="Called about the complaint; promised a discount",
        result="problem solved",
        at="2026-02-06T09:15:00",
    )
    with rep.db.write() as tx:
        tx.execute(
            "UPDATE customers SET code='C2026000042', created_at='2026-01-05T09:00:00',"
            " updated_at='2026-02-06T09:15:00', last_interaction_at='2026-02-06T09:15:00',"
            " next_followup_at='2026-02-20' WHERE id=?",
            (customer.id,),
        )
        tx.execute(
            "UPDATE followups SET next_followup_date='2026-02-20' WHERE at='2026-02-06T09:15:00'"
        )
    return customer.id


def _still(pilot: Pilot[Any]) -> None:
    for widget in pilot.app.screen.query("Input, TextArea"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False


def _keys(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await workers_done(pilot.app)
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        _still(pilot)
        await pilot.pause()

    return run


SCENES = {
    "detail": (),
    "edit_form_error": ("e", "tab", "tab", "tab", *"not-an-email", "ctrl+s"),
    "followup_form_error": ("f", "ctrl+s"),
    "interaction_form_error": ("i", "ctrl+s"),
    "tag_editor_error": ("t", "enter"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", list(SCENES))
def test_detail_snapshots(
    snap_compare: Any, session: Callable[[str], Service], scene: str, size: tuple[int, int]
) -> None:
    customer_id = _fixed_customer(session)
    manager = session("manager")
    app = DetailTestApp(manager, CustomerDetailScreen(manager, customer_id, today=TODAY))
    assert snap_compare(app, terminal_size=size, run_before=_keys(*SCENES[scene]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_revealed_snapshot(
    snap_compare: Any, session: Callable[[str], Service], size: tuple[int, int]
) -> None:
    """Phone and email revealed: each reads whole, the long one on a line of its own."""
    customer_id = _fixed_customer(session)
    manager = session("manager")
    screen = CustomerDetailScreen(manager, customer_id, today=TODAY)
    app = DetailTestApp(manager, screen)

    async def reveal(pilot: Pilot[Any]) -> None:
        await _keys("r")(pilot)
        screen.contact.action_select(1)
        await _keys("r")(pilot)

    assert snap_compare(app, terminal_size=size, run_before=reveal)


def _edited_then(*keys: str, meanwhile: Callable[[], object] | None = None):
    """Open the edit form, change the city, let someone else save (if given), press keys."""

    async def run(pilot: Pilot[Any]) -> None:
        await _keys("e")(pilot)
        if meanwhile is not None:
            meanwhile()
        pilot.app.screen.query_one("#f-city", Input).value = "Fuzhou"
        await pilot.press(*keys)
        await pilot.pause()
        await workers_done(pilot.app)
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dialog", ["confirm_discard", "conflict"])
def test_dialog_snapshots(
    snap_compare: Any, session: Callable[[str], Service], dialog: str, size: tuple[int, int]
) -> None:
    """Esc on a changed form asks before discarding; a save over someone else's shows both."""
    customer_id = _fixed_customer(session)
    manager, rep = session("manager"), session("sales1")
    app = DetailTestApp(manager, CustomerDetailScreen(manager, customer_id, today=TODAY))

    def rep_saves() -> None:
        current = rep.customers.get(customer_id)
        rep.customers.update(customer_id, {"city": "Quanzhou"}, current.version)

    run = (
        _edited_then("escape")
        if dialog == "confirm_discard"
        else _edited_then("ctrl+s", meanwhile=rep_saves)
    )
    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_person_detail_snapshot(
    snap_compare: Any, session: Callable[[str], Service], size: tuple[int, int]
) -> None:
    """A person: masked ID number among the contact fields, no credit code or size."""
    rep = session("sales2")
    person = rep.customers.create(
        customer_data(
            name="Chen Jing",
            kind="person",
            customer_type="customer",
            contact_name="",
            id_number="11010519491231002X",
            province="Beijing",
            city="Beijing",
            source="referral",
        )
    )
    with rep.db.write() as tx:
        tx.execute(
            "UPDATE customers SET code='C2026000044', created_at='2026-01-05T09:00:00',"
            " updated_at='2026-01-05T09:00:00' WHERE id=?",
            (person.id,),
        )
    manager = session("manager")
    app = DetailTestApp(manager, CustomerDetailScreen(manager, person.id, today=TODAY))
    assert snap_compare(app, terminal_size=size, run_before=_keys("shift+tab"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_due_list_snapshot(
    snap_compare: Any, session: Callable[[str], Service], size: tuple[int, int]
) -> None:
    _fixed_customer(session)
    rep2 = session("sales2")
    other = rep2.customers.create(customer_data(name="Gulangyu Tea House", phone="13900139000"))
    rep2.activity.add_followup(other.id, channel="phone", content="call", next_followup_date="")
    with rep2.db.write() as tx:
        tx.execute(
            "UPDATE customers SET code='C2026000043', next_followup_at='2026-03-01' WHERE id=?",
            (other.id,),
        )
        tx.execute(
            "UPDATE followups SET next_followup_date='2026-03-01' WHERE customer_id=?", (other.id,)
        )
    manager = session("manager")
    app = DetailTestApp(manager, DueScreen(manager, today=dt.date.fromisoformat(TODAY)))
    assert snap_compare(app, terminal_size=size, run_before=_keys())
