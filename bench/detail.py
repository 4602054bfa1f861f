"""Customer detail: open with 5 and with 5,000 timeline entries; save a follow-up end to end;
the manager's due list (per-rep counts and each rep's most urgent plans).

The detail screen is opened headless and timed from building the screen (which reads the
customer) to its first completed compositor refresh, i.e. the first frame the terminal
would receive. No `pilot.pause()` falls inside the timed span; a trivial screen timed the
same way is the baseline every push pays in Textual.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from tui_crm.roles import Role
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.due import PER_REP
from tui_crm.screens.followup_form import FollowUpFormScreen
from tui_crm.service import Service, UserInfo
from tui_crm.widgets.timeline import Timeline

from .common import copy_of, median_ms, open_db, p95_ms, print_table, timings

REPEAT = 25


def _customer_with_entries(service: Service, entries: int) -> int:
    """A new customer with `entries` follow-ups and interactions (bulk-inserted setup)."""
    customer = service.customers.create(
        {"name": f"Bench {entries} Ltd", "customer_type": "customer", "email": "b@example.com"}
    )
    followups = [
        (
            customer.id,
            f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00",
            "phone",
            f"call {n}",
            "interest",
            service.user.id,
        )
        for n in range(entries - entries // 5)
    ]
    interactions = [
        (
            customer.id,
            f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T08:{n % 60:02d}:30",
            "order",
            f"order {n}",
            10000 + n,
            service.user.id,
        )
        for n in range(entries // 5)
    ]
    with service.db.write() as tx:
        tx.executemany(
            "INSERT INTO followups(customer_id, at, channel, content, result, staff_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            followups,
        )
        tx.executemany(
            "INSERT INTO interactions(customer_id, at, kind, detail, amount_cents, staff_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            interactions,
        )
    return customer.id


class _EmptyScreen(Screen[None]):
    """A screen with one label and a footer: what any push costs in this harness."""

    def compose(self) -> ComposeResult:
        yield Static("baseline")
        yield Footer()


class _BenchApp(App[None]):
    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service

    def open_customer(self, customer_id: int) -> None:
        self.push_screen(CustomerDetailScreen(self.service, customer_id))


def _next_paint(
    app: App[None], screen: Screen[Any], ready: Callable[[], bool] = lambda: True
) -> asyncio.Future[float]:
    """Resolves with the time `screen` next finishes a compositor refresh as the top screen
    once `ready()` holds."""
    painted: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    refresh = screen._compositor_refresh

    def refresh_and_record() -> None:
        refresh()
        if screen is app.screen and not painted.done() and ready():
            painted.set_result(time.perf_counter())
            screen._compositor_refresh = refresh  # type: ignore[method-assign]

    screen._compositor_refresh = refresh_and_record  # type: ignore[method-assign]
    return painted


async def _time_to_first_paint(app: App[None], build: Callable[[], Screen[None]]) -> float:
    """Seconds from building a screen to the end of its first compositor refresh on top."""
    started = time.perf_counter()
    screen = build()
    painted = _next_paint(app, screen)
    await app.push_screen(screen)
    return await painted - started


async def _ui_samples(service: Service, customer_ids: dict[str, int]) -> dict[str, list[float]]:
    """Seconds to open each customer's detail, and to save a follow-up through the form."""
    app = _BenchApp(service)
    samples: dict[str, list[float]] = {name: [] for name in customer_ids}
    samples["form save"] = []
    samples["baseline"] = []
    builders: dict[str, Callable[[], Screen[None]]] = {"baseline": _EmptyScreen}
    for name, customer_id in customer_ids.items():
        builders[name] = functools.partial(CustomerDetailScreen, service, customer_id)
    async with app.run_test(size=(120, 40)) as pilot:
        for attempt in range(REPEAT + 2):
            for name, build in builders.items():  # interleaved, so load drifts hit all alike
                elapsed = await _time_to_first_paint(app, build)
                if attempt >= 2:
                    samples[name].append(elapsed)
                await app.pop_screen()
                await pilot.pause()
        customer_id = customer_ids["5 entries"]
        detail = CustomerDetailScreen(service, customer_id)
        await app.push_screen(detail)
        await pilot.pause()
        for _ in range(REPEAT):
            detail.action_followup()  # as the `f` key does, so the save reloads the detail
            await pilot.pause()
            form = app.screen
            assert isinstance(form, FollowUpFormScreen)
            form.query_one("#f-content", TextArea).text = "Bench call"
            timeline = detail.query_one(Timeline)
            newest = timeline.entries[0]
            repainted = _next_paint(app, detail, lambda old=newest, t=timeline: t.entries[0] != old)
            started = time.perf_counter()
            form.action_save()  # what ctrl+s runs: validate, save, close, reload the detail
            samples["form save"].append(await repainted - started)
            await pilot.pause()
    return samples


def run(sizes: list[int]) -> None:
    rows: list[list[Any]] = []
    for n in sizes:
        db_path, key_path = copy_of(n, "detail")
        db = open_db(db_path, key_path)
        row = db.conn.execute("SELECT id FROM users WHERE username='manager'").fetchone()
        service = Service(db, UserInfo(row["id"], "manager", Role.MANAGER))
        ids = {
            "5 entries": _customer_with_entries(service, 5),
            "5,000 entries": _customer_with_entries(service, 5000),
        }
        ui = asyncio.run(_ui_samples(service, ids))
        for name in ids:
            rows.append([n, f"open detail, {name}", median_ms(ui[name]), p95_ms(ui[name])])
        rows.append(
            [
                n,
                "baseline: push a label+footer screen",
                median_ms(ui["baseline"]),
                p95_ms(ui["baseline"]),
            ]
        )
        ratio = statistics.median(ui["5,000 entries"]) / statistics.median(ui["5 entries"])
        rows.append([n, "open 5,000 ÷ open 5", round(ratio, 2), ""])
        for name, customer_id in ids.items():
            first_page = timings(lambda s=service, c=customer_id: s.activity.timeline(c, limit=60))
            rows.append(
                [n, f"timeline first page, {name}", median_ms(first_page), p95_ms(first_page)]
            )
        small = ids["5 entries"]
        service_save = timings(
            lambda s=service, c=small: s.activity.add_followup(c, channel="phone", content="bench")
        )
        rows.append([n, "save follow-up (service)", median_ms(service_save), p95_ms(service_save)])
        rows.append(
            [
                n,
                "save follow-up (form: ctrl+s to detail repainted)",
                median_ms(ui["form save"]),
                p95_ms(ui["form save"]),
            ]
        )
        due_counts = timings(service.due.by_rep)
        rows.append([n, "due list: every rep's counts", median_ms(due_counts), p95_ms(due_counts)])
        urgent = timings(lambda s=service: s.due.followups(per_rep=PER_REP, limit=None))
        rows.append(
            [n, f"due list: each rep's {PER_REP} most urgent", median_ms(urgent), p95_ms(urgent)]
        )
        db.close()
    print_table("detail", ["customers", "operation", "median ms", "p95 ms"], rows)
