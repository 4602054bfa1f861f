"""The managers' dashboard: value tiers, the churn worklist, the funnel and activity.

Numbers first, each with a text bar beside it, so every tab reads at 80x24 and with
NO_COLOR; everything is loaded in one thread worker from one snapshot (the service's
`analytics.dashboard`). Sales reps see the same over their own customers.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.cells import cell_len
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
from ..i18n import N_, _, pgettext
from ..i18n.formats import fit, format_number, format_percent, pad
from ..labels import label
from ..service import DueCount, Service, ServiceError
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings

BAR = 20


def _step_names() -> dict[str, str]:
    """The funnel's steps, short enough for the step column ("repeat", not "repeat
    customers" as labels.py names it elsewhere)."""
    return {
        "leads": pgettext("funnel step", "leads"),
        "interested": pgettext("funnel step", "interested"),
        "customers": pgettext("funnel step", "customers"),
        "repeat": pgettext("funnel step", "repeat"),
    }


def bar(value: float, largest: float, width: int = BAR) -> str:
    """A bar of `width` cells at most, proportional to `value` (blank when there is none)."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(width * value / largest))


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def _share(fraction: float | None) -> str:
    return "–" if fraction is None else format_percent(fraction)


def tiers_text(board: Dashboard) -> Text:
    report = board.tiers
    text = Text()
    largest = max((t.customers for t in report.tiers), default=0)
    head = (
        pad(_("Tier"), 13),
        pad(_("Customers"), 10, right=True),
        pad(_("Share"), 8, right=True),
        "  ",
        pad(_("Orders total"), 15, right=True),
    )
    text.append("".join(head) + "\n", "bold")
    for tier in report.tiers:
        row = (
            pad(label("value_tier", tier.tier), 13),
            pad(format_number(tier.customers), 10, right=True),
            pad(_share(tier.share), 8, right=True),
            "  ",
            pad(_money(tier.order_total_cents), 15, right=True),
            "  ",
        )
        text.append("".join(row))
        text.append(bar(tier.customers, largest), "yellow")
        text.append("\n")
    for name, top in report.top.items():
        if not top:
            continue
        top_title = _("Top {tier}").format(tier=label("value_tier", name))
        text.append("\n" + top_title + "\n", "bold")
        for customer in top:
            text.append(f"  {customer.code:<12}")
            text.append(fit(v.clean_text(customer.name), 30) + " ")
            text.append(f"{_money(customer.order_total_cents):>15}\n")
    if report.rules is None:
        not_scored = _("Tiers not scored yet: run `tui-crm analytics recompute`.")
        text.append("\n" + not_scored + "\n", "italic")
    return text


def churn_title(board: Dashboard) -> Text:
    churn = board.churn
    at_risk = _("{at_risk} of {customers} customers at risk").format(
        at_risk=format_number(churn.at_risk), customers=format_number(churn.customers)
    )
    text = Text(at_risk, "bold")
    if churn.refreshed_on:
        refreshed = _("(refreshed {date})").format(date=churn.refreshed_on)
    else:
        refreshed = _("(never refreshed)")
    text.append("  " + refreshed)
    rules = ", ".join(f"{rule} {format_number(n)}" for rule, n in churn.by_rule.items())
    if rules:
        text.append(f"\n{rules}")
    text.append("\n" + _("Enter opens the customer"))
    return text


def funnel_text(board: Dashboard) -> Text:
    funnel = board.funnel
    created = _("Customers created {since} to {until}").format(
        since=funnel.since, until=funnel.until
    )
    text = Text(created + "\n", "bold")
    head = (
        pad(_("Step"), 11),
        pad(_("Count"), 8, right=True),
        pad(_("Rate"), 8, right=True),
        pad(_("Of leads"), 9, right=True),
        pad(_("Days"), 6, right=True),
    )
    text.append("".join(head) + "\n", "bold")
    largest = funnel.total.steps[0].count
    names = _step_names()
    for step in funnel.total.steps:
        days = "–" if step.median_days is None else f"{step.median_days:g}"
        row = (
            pad(names.get(step.step, step.step), 11),
            pad(format_number(step.count), 8, right=True),
            pad(_share(step.rate), 8, right=True),
            pad(_share(step.rate_of_leads), 9, right=True),
            pad(days, 6, right=True),
            "  ",
        )
        text.append("".join(row))
        text.append(bar(step.count, largest, 16), "green")
        text.append("\n")
    return text


def activity_text(board: Dashboard, due: list[DueCount]) -> Text:
    weeks = board.activity.weeks
    head = (
        pad(_("Week of"), 12),
        pad(_("Follow-ups"), 11, right=True),
        pad(_("Orders"), 8, right=True),
        pad(_("Amount"), 15, right=True),
    )
    text = Text("".join(head) + "\n", "bold")
    largest = max((w.followups for w in weeks), default=0)
    for week in weeks:
        row = (
            pad(week.week, 12),
            pad(format_number(week.followups), 11, right=True),
            pad(format_number(week.orders), 8, right=True),
            pad(_money(week.order_total_cents), 15, right=True),
            "  ",
        )
        text.append("".join(row))
        text.append(bar(week.followups, largest, 16), "cyan")
        text.append("\n")
    if due:
        head = (
            pad(_("Due follow-ups by rep"), 24),
            pad(_("Overdue"), 9, right=True),
            pad(_("Today"), 7, right=True),
        )
        text.append("\n" + "".join(head) + "\n", "bold")
        for count in due:
            owner = v.clean_text(count.owner) or _("unassigned")
            row = (
                fit(owner, 23) + " ",
                pad(format_number(count.overdue), 9, right=True),
                pad(format_number(count.due_today), 7, right=True),
            )
            text.append("".join(row) + "\n")
    return text


class DashboardScreen(TranslatedBindings, Screen[None]):
    """Tiers, churn, funnel and activity, each a tab (1-4 switch tabs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="dashboard.back"),
        Binding("ctrl+r", "reload", N_("Refresh"), id="dashboard.refresh"),
        Binding("1", "tab('tiers')", N_("Tiers"), show=False, id="dashboard.tiers"),
        Binding("2", "tab('churn')", N_("Churn"), show=False, id="dashboard.churn"),
        Binding("3", "tab('funnel')", N_("Funnel"), show=False, id="dashboard.funnel"),
        Binding("4", "tab('activity')", N_("Activity"), show=False, id="dashboard.activity"),
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
            with TabPane(_("Tiers"), id="tiers"), VerticalScroll():
                yield Static(_("Loading…"), id="tiers-text", markup=False)
            with TabPane(_("Churn"), id="churn"):
                yield Static(_("Loading…"), id="churn-title", markup=False)
                yield OptionList(id="churn-list")
            with TabPane(_("Funnel"), id="funnel"), VerticalScroll():
                yield Static(_("Loading…"), id="funnel-text", markup=False)
            with TabPane(_("Activity"), id="activity"), VerticalScroll():
                yield Static(_("Loading…"), id="activity-text", markup=False)
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
            line.append(fit(v.clean_text(customer.name), 28) + " ")
            line.append(pad(label("value_tier", customer.tier) or "–", 13))
            rules = ", ".join(w.rule for w in customer.warnings)
            if line.cell_len + cell_len(rules) > room:  # one rule a line, under each other
                rules = ",\n".join(w.rule for w in customer.warnings)
                rules = rules.replace("\n", "\n" + " " * line.cell_len)
            line.append(rules, "bold")
            worklist.add_option(Option(line, id=str(customer.id)))
        if not board.worklist:
            worklist.add_option(Option(Text(_("Nobody at risk."), "dim"), disabled=True))
        self.query_one("#funnel-text", Static).update(funnel_text(board))
        self.query_one("#activity-text", Static).update(activity_text(board, due))

    @on(OptionList.OptionSelected, "#churn-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.app.open_customer(int(event.option.id))  # type: ignore[attr-defined]
