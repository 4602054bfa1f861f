"""The managers' dashboard: value tiers, the churn worklist, the funnel and activity.

Numbers first, each with a text bar beside it, so every tab reads at 80x24 and with
NO_COLOR; everything is loaded in one thread worker from one snapshot (the service's
`analytics.dashboard`). Sales reps see the same over their own customers.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from .. import validation as v
from ..analytics import Dashboard
from ..service import DueCount, Service, ServiceError
from ..widgets.keys_footer import KeysFooter

BAR = 20
TIER_NAMES = {
    "high": "high value",
    "medium": "medium value",
    "low": "low value",
    "none": "no orders",
}
STEP_NAMES = {
    "leads": "leads",
    "interested": "interested",
    "customers": "customers",
    "repeat": "repeat",
}


def bar(value: float, largest: float, width: int = BAR) -> str:
    """A bar of `width` cells at most, proportional to `value` (blank when there is none)."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(width * value / largest))


def _cells(name: str, width: int) -> str:
    """A customer's name cut or padded to `width` terminal cells (CJK takes two each)."""
    return set_cell_size(v.clean_text(name), width)


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def _share(fraction: float | None) -> str:
    return "–" if fraction is None else f"{fraction:.1%}"


def tiers_text(board: Dashboard) -> Text:
    report = board.tiers
    text = Text()
    largest = max((t.customers for t in report.tiers), default=0)
    text.append(f"{'Tier':<13}{'Customers':>10}{'Share':>8}  {'Orders total':>15}\n", "bold")
    for tier in report.tiers:
        text.append(
            f"{TIER_NAMES[tier.tier]:<13}{tier.customers:>10,}{_share(tier.share):>8}"
            f"  {_money(tier.order_total_cents):>15}  "
        )
        text.append(bar(tier.customers, largest), "yellow")
        text.append("\n")
    for name, top in report.top.items():
        if not top:
            continue
        text.append(f"\nTop {TIER_NAMES[name]}\n", "bold")
        for customer in top:
            text.append(f"  {customer.code:<12}")
            text.append(_cells(customer.name, 30) + " ")
            text.append(f"{_money(customer.order_total_cents):>15}\n")
    if report.rules is None:
        text.append("\nTiers not scored yet: run `tui-crm analytics recompute`.\n", "italic")
    return text


def churn_title(board: Dashboard) -> Text:
    churn = board.churn
    text = Text(f"{churn.at_risk:,} of {churn.customers:,} customers at risk", "bold")
    text.append(f"  (refreshed {churn.refreshed_on or 'never'})")
    rules = ", ".join(f"{rule} {n:,}" for rule, n in churn.by_rule.items())
    if rules:
        text.append(f"\n{rules}")
    text.append("\nEnter opens the customer")
    return text


def funnel_text(board: Dashboard) -> Text:
    funnel = board.funnel
    text = Text(f"Customers created {funnel.since} to {funnel.until}\n", "bold")
    text.append(f"{'Step':<11}{'Count':>8}{'Rate':>8}{'Of leads':>9}{'Days':>6}\n", "bold")
    largest = funnel.total.steps[0].count
    for step in funnel.total.steps:
        days = "–" if step.median_days is None else f"{step.median_days:g}"
        text.append(
            f"{STEP_NAMES[step.step]:<11}{step.count:>8,}{_share(step.rate):>8}"
            f"{_share(step.rate_of_leads):>9}{days:>6}  "
        )
        text.append(bar(step.count, largest, 16), "green")
        text.append("\n")
    return text


def activity_text(board: Dashboard, due: list[DueCount]) -> Text:
    weeks = board.activity.weeks
    text = Text(f"{'Week of':<12}{'Follow-ups':>11}{'Orders':>8}{'Amount':>15}\n", "bold")
    largest = max((w.followups for w in weeks), default=0)
    for week in weeks:
        text.append(
            f"{week.week:<12}{week.followups:>11,}{week.orders:>8,}"
            f"{_money(week.order_total_cents):>15}  "
        )
        text.append(bar(week.followups, largest, 16), "cyan")
        text.append("\n")
    if due:
        text.append(f"\n{'Due follow-ups by rep':<24}{'Overdue':>9}{'Today':>7}\n", "bold")
        for count in due:
            owner = v.clean_text(count.owner) or "unassigned"
            text.append(f"{owner[:23]:<24}{count.overdue:>9,}{count.due_today:>7,}\n")
    return text


class DashboardScreen(Screen[None]):
    """Tiers, churn, funnel and activity, each a tab (1-4 switch tabs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="dashboard.back"),
        Binding("ctrl+r", "reload", "Refresh", id="dashboard.refresh"),
        Binding("1", "tab('tiers')", "Tiers", show=False, id="dashboard.tiers"),
        Binding("2", "tab('churn')", "Churn", show=False, id="dashboard.churn"),
        Binding("3", "tab('funnel')", "Funnel", show=False, id="dashboard.funnel"),
        Binding("4", "tab('activity')", "Activity", show=False, id="dashboard.activity"),
    ]

    DEFAULT_CSS = """
    DashboardScreen #churn-list { height: 1fr; }
    DashboardScreen Static { padding: 0 1; }
    """

    def __init__(self, service: Service, today: dt.date | None = None) -> None:
        super().__init__()
        self.service = service
        self.today = today
        self.board: Dashboard | None = None

    def compose(self) -> ComposeResult:
        with TabbedContent(id="dashboard-tabs"):
            with TabPane("Tiers", id="tiers"), VerticalScroll():
                yield Static("Loading…", id="tiers-text", markup=False)
            with TabPane("Churn", id="churn"):
                yield Static("Loading…", id="churn-title", markup=False)
                yield OptionList(id="churn-list")
            with TabPane("Funnel", id="funnel"), VerticalScroll():
                yield Static("Loading…", id="funnel-text", markup=False)
            with TabPane("Activity", id="activity"), VerticalScroll():
                yield Static("Loading…", id="activity-text", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    def action_back(self) -> None:
        self.dismiss()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @work(thread=True, exclusive=True, group="dashboard")
    def _load(self) -> None:
        try:
            board = self.service.analytics.dashboard(today=self.today)
            see_all = self.service.user.role in ("manager", "admin")
            due = self.service.due.by_rep(today=self.today) if see_all else []
        except ServiceError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, board, due)

    def _show(self, board: Dashboard, due: list[DueCount]) -> None:
        if not self.is_attached:
            return
        self.board = board
        self.query_one("#tiers-text", Static).update(tiers_text(board))
        self.query_one("#churn-title", Static).update(churn_title(board))
        worklist = self.query_one("#churn-list", OptionList)
        worklist.clear_options()
        room = worklist.scrollable_content_region.width
        for customer in board.worklist:
            line = Text(f"{customer.code:<12}")
            line.append(_cells(customer.name, 28) + " ")
            line.append(f"{TIER_NAMES.get(customer.tier or '', '–'):<13}")
            rules = ", ".join(w.rule for w in customer.warnings)
            if line.cell_len + cell_len(rules) > room:  # one rule a line, under each other
                rules = ",\n".join(w.rule for w in customer.warnings)
                rules = rules.replace("\n", "\n" + " " * line.cell_len)
            line.append(rules, "bold")
            worklist.add_option(Option(line, id=str(customer.id)))
        if not board.worklist:
            worklist.add_option(Option(Text("Nobody at risk.", "dim"), disabled=True))
        self.query_one("#funnel-text", Static).update(funnel_text(board))
        self.query_one("#activity-text", Static).update(activity_text(board, due))

    @on(OptionList.OptionSelected, "#churn-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.app.open_customer(int(event.option.id))  # type: ignore[attr-defined]
