"""Logging a follow-up keeps the customer's planned follow-up unless the operator moves
or clears it on purpose (a service agent's inbound call must not erase a rep's plan)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from textual.widgets import Checkbox, Input, Static, TextArea

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp, press, sync
from tui_crm import validation as v
from tui_crm.audit import AuditFilter
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.followup_form import FollowUpFormScreen
from tui_crm.service import Service

Session = Callable[[str], Service]


def _in(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def test_a_followup_without_a_date_keeps_the_plan(session: Session) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    rep.activity.add_followup(
        customer.id, channel="phone", content="quote", next_followup_date=_in(5)
    )
    session("service").activity.add_followup(customer.id, channel="phone", content="inbound")
    assert rep.customers.get(customer.id).next_followup_at == _in(5)


def test_a_new_date_moves_the_plan_and_clearing_drops_it_audited(session: Session) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    rep.activity.add_followup(customer.id, channel="phone", content="a", next_followup_date=_in(5))
    rep.activity.add_followup(customer.id, channel="phone", content="b", next_followup_date=_in(2))
    assert rep.customers.get(customer.id).next_followup_at == _in(2)
    rep.activity.add_followup(customer.id, channel="phone", content="done", clear_plan=True)
    assert rep.customers.get(customer.id).next_followup_at is None
    entries = session("admin").audit_log.entries(AuditFilter(action="followup.add"), limit=1)
    assert entries[0].details["customer"] == {"next_followup_at": [_in(2), None]}


def test_a_date_and_clearing_together_are_refused(session: Session) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    with pytest.raises(v.FormErrors) as refused:
        rep.activity.add_followup(
            customer.id, channel="phone", content="x", next_followup_date=_in(1), clear_plan=True
        )
    assert "next_followup_date" in refused.value.errors


@pytest.mark.usefixtures("colour_modes")
@sync
async def test_the_form_shows_the_plan_keeps_it_and_clears_it_on_purpose(
    session: Session,
) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    rep.activity.add_followup(customer.id, channel="phone", content="a", next_followup_date=_in(5))
    agent = session("service")
    app = DetailTestApp(agent, CustomerDetailScreen(agent, customer.id))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        form = app.screen
        assert isinstance(form, FollowUpFormScreen)
        assert _in(5) in str(form.query_one("#current-plan", Static).render())
        assert _in(5) in form.query_one("#f-next_followup_date", Input).placeholder
        form.query_one("#f-content", TextArea).text = "inbound call"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert agent.customers.get(customer.id).next_followup_at == _in(5)
        await press(pilot, "f")
        app.screen.query_one("#f-content", TextArea).text = "no more calls"
        app.screen.query_one("#f-clear_plan", Checkbox).value = True
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CustomerDetailScreen)
    assert agent.customers.get(customer.id).next_followup_at is None
