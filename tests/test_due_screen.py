"""The "my work" list: due and overdue follow-ups per role, opening into the customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp, press, sync
from tests.workers import workers_done
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.due import PER_REP, DueScreen
from tui_crm.service import PermissionDenied, Service

Session = Callable[[str], Service]

# Every flow here also runs with NO_COLOR (see conftest.colour_modes).
pytestmark = pytest.mark.usefixtures("colour_modes")


def _plan(service: Service, customer_id: int, day: str) -> None:
    """A follow-up planned for `day` (set directly: the service refuses past dates)."""
    service.activity.add_followup(
        customer_id, channel="phone", content="call back", next_followup_date=""
    )
    with service.db.write() as tx:
        tx.execute("UPDATE customers SET next_followup_at=? WHERE id=?", (day, customer_id))
        tx.execute(
            "UPDATE followups SET next_followup_date=? WHERE customer_id=?", (day, customer_id)
        )


async def _settle(pilot: Pilot[None]) -> None:
    """Let the list's loading worker finish and its result be shown."""
    await pilot.pause()
    await workers_done(pilot.app)
    await pilot.pause()


def _prompts(app: DetailTestApp) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


@sync
async def test_sales_rep_sees_own_due_and_opens_the_customer(session: Session) -> None:
    rep1, rep2 = session("sales1"), session("sales2")
    today = dt.date(2026, 3, 10)
    mine = rep1.customers.create(customer_data(name="Overdue Co"))
    _plan(rep1, mine.id, "2026-03-07")
    other = rep2.customers.create(customer_data(name="Other Co", phone="13900139000"))
    _plan(rep2, other.id, "2026-03-10")
    app = DetailTestApp(rep1, DueScreen(rep1, today=today))
    async with app.run_test() as pilot:
        await _settle(pilot)
        prompts = _prompts(app)
        assert len(prompts) == 1
        assert "3d overdue" in prompts[0] and "Overdue Co" in prompts[0]
        await press(pilot, "enter")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert app.screen.customer_id == mine.id
        await pilot.press("escape")
        assert isinstance(app.screen, DueScreen)


@sync
async def test_manager_sees_everyones_grouped_by_rep(session: Session) -> None:
    rep1, rep2, manager = session("sales1"), session("sales2"), session("manager")
    today = dt.date(2026, 3, 10)
    first = rep1.customers.create(customer_data(name="Alpha Co"))
    _plan(rep1, first.id, "2026-03-10")
    second = rep2.customers.create(customer_data(name="Beta Co", phone="13900139000"))
    _plan(rep2, second.id, "2026-03-01")
    later = rep2.customers.create(customer_data(name="Later Co", phone="13700137000"))
    _plan(rep2, later.id, "2026-04-01")
    app = DetailTestApp(manager, DueScreen(manager, today=today))
    async with app.run_test() as pilot:
        await _settle(pilot)
        prompts = [p.strip() for p in _prompts(app)]
        assert prompts[0] == "sales1  0 overdue · 1 today"
        assert prompts[2] == "sales2  1 overdue · 0 today"
        assert "today" in prompts[1] and "Alpha Co" in prompts[1]
        assert "9d overdue" in prompts[3] and "Beta Co" in prompts[3]
        assert len(prompts) == 4


@sync
async def test_nothing_due_says_so(session: Session) -> None:
    service = session("service")
    app = DetailTestApp(service, DueScreen(service))
    async with app.run_test() as pilot:
        await _settle(pilot)
        assert "Nothing due" in _prompts(app)[0]


@sync
async def test_manager_sees_every_rep_even_when_one_has_hundreds_due(session: Session) -> None:
    """The old list capped at 500 rows sorted by rep, so reps late in the alphabet vanished."""
    rep1, rep2, manager = session("sales1"), session("sales2"), session("manager")
    today = dt.date(2026, 3, 10)
    busy = [rep1.customers.create(customer_data(name=f"Busy {n}")) for n in range(PER_REP + 3)]
    with rep1.db.write() as tx:
        tx.executemany(
            "UPDATE customers SET next_followup_at=? WHERE id=?",
            [(f"2026-03-{1 + n:02d}", c.id) for n, c in enumerate(busy)],
        )
    quiet = rep2.customers.create(customer_data(name="Quiet Co", phone="13900139000"))
    _plan(rep2, quiet.id, "2026-03-10")

    counts = manager.due.by_rep(today=today)
    assert [(c.owner, c.overdue, c.due_today) for c in counts] == [
        ("sales1", PER_REP + 3, 0),
        ("sales2", 0, 1),
    ]
    capped = manager.due.followups(limit=4, per_rep=2, today=today)
    assert [(d.owner, d.name) for d in capped] == [
        ("sales1", "Busy 0"),
        ("sales1", "Busy 1"),
        ("sales2", "Quiet Co"),
    ]

    app = DetailTestApp(manager, DueScreen(manager, today=today))
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        prompts = [p.strip() for p in _prompts(app)]
        assert prompts[0].startswith("sales1") and f"{PER_REP + 3} overdue" in prompts[0]
        assert [p for p in prompts if p.startswith("sales2")] == ["sales2  0 overdue · 1 today"]
        assert sum("Busy" in p for p in prompts) == PER_REP
        assert "3 more for this rep" in prompts[PER_REP + 1]
        listing = app.screen.query_one(OptionList)
        listing.highlighted = PER_REP + 1
        await pilot.press("enter")
        await _settle(pilot)
        prompts = [p.strip() for p in _prompts(app)]
        assert sum("Busy" in p for p in prompts) == PER_REP + 3
        assert not any("more for this rep" in p for p in prompts)
        assert "Quiet Co" in prompts[-1]


def test_only_managers_narrow_the_due_list_to_another_rep(session: Session) -> None:
    rep1, rep2 = session("sales1"), session("sales2")
    with pytest.raises(PermissionDenied):
        rep1.due.followups(owner_id=rep2.user.id)
    assert rep1.due.by_rep() == []
