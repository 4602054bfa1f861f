"""My work: follow-ups due today and overdue, opening straight into the customer."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from .. import validation as v
from ..i18n import N_, _, ngettext
from ..i18n.formats import pad
from ..service import DueCount, DueFollowup, Service, ServiceError
from ..widgets.keys_footer import KeysFooter
from ..widgets.terminal_text import terminal_safe
from ..widgets.translated_bindings import TranslatedBindings

DUE_LIMIT = 500
PER_REP = 5
DUE_WIDTH = 24  # "2026-11-23 123d overdue" and "2026-11-23 today": the codes line up


def due_label(item: DueFollowup, *, indent: bool) -> Text:
    # One line per plan: a long name is cut with … rather than wrapped under the dates.
    text = Text("    " if indent else "  ", no_wrap=True, overflow="ellipsis")
    if item.days_overdue > 0:
        late = _("{days}d overdue").format(days=f"{item.days_overdue:>3}")
        text.append(pad(f"{item.due} {late}", DUE_WIDTH), "bold red")
    else:
        today = _("today")
        text.append(pad(f"{item.due} {today}", DUE_WIDTH), "bold")
    text.append("  ")
    text.append(item.code, "cyan")
    text.append("  ")
    text.append(terminal_safe(v.clean_text(item.name)))
    return text


def rep_label(count: DueCount) -> Text:
    text = Text(v.clean_text(count.owner) or _("unassigned"), "bold underline")
    text.append("  ")
    overdue = _("{count} overdue").format(count=count.overdue)
    text.append(overdue, "bold red" if count.overdue else "dim")
    today = _("{count} today").format(count=count.due_today)
    text.append(" · " + today, "bold" if count.due_today else "dim")
    return text


class DueScreen(TranslatedBindings, Screen[None]):
    """Due follow-ups for the signed-in user; managers get every rep's counts and most
    urgent plans, so no rep falls off the end of a capped list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="due.back"),
        Binding("ctrl+r", "refresh_list", N_("Refresh"), id="due.refresh"),
    ]

    DEFAULT_CSS = """
    DueScreen #due-title { padding: 0 1; background: $boost; }
    DueScreen OptionList { height: 1fr; }
    """

    def __init__(self, service: Service, today: dt.date | None = None) -> None:
        super().__init__()
        self.service = service
        self.today = today
        self.grouped = service.user.role in ("manager", "admin")
        self.expanded: set[int | None] = set()

    def compose(self) -> ComposeResult:
        yield Static("", id="due-title", markup=False)
        yield OptionList(id="due-list")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#due-title", Static).update(_("Loading follow-ups due…"))
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        self.action_refresh_list()

    def action_refresh_list(self) -> None:
        self._load(frozenset(self.expanded))

    @work(thread=True, exclusive=True, group="due")
    def _load(self, expanded: frozenset[int | None]) -> None:
        """Query off the UI thread: everyone's list on a big database takes a while."""
        try:
            found = self._by_rep(expanded) if self.grouped else self._mine()
        except ServiceError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, *found)

    def _show(self, options: list[Option], total: str, overdue: int) -> None:
        if not self.is_attached:  # closed while the list was loading
            return
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(options)
        if not options:
            listing.add_option(Option(Text(_("Nothing due. Well done."), "dim"), disabled=True))
        else:
            first = next(i for i, option in enumerate(options) if not option.disabled)
            listing.highlighted = (
                first if highlighted is None else min(highlighted, len(options) - 1)
            )
        if self.grouped:
            title = _("Everyone's due follow-ups: {total}, {overdue} overdue · Enter opens")
        else:
            title = _("My due follow-ups: {total}, {overdue} overdue · Enter opens")
        self.query_one("#due-title", Static).update(title.format(total=total, overdue=overdue))

    def _mine(self) -> tuple[list[Option], str, int]:
        items = self.service.due.followups(limit=DUE_LIMIT, today=self.today)
        options = [
            Option(due_label(item, indent=False), id=str(item.customer_id)) for item in items
        ]
        overdue = sum(1 for i in items if i.days_overdue > 0)
        if len(items) >= DUE_LIMIT:
            total = _("first {count} shown").format(count=len(items))
        else:
            total = str(len(items))
        return options, total, overdue

    def _by_rep(self, expanded: frozenset[int | None]) -> tuple[list[Option], str, int]:
        """Every rep with a count line and their most urgent plans; Enter on '… more'
        lists all of that rep's."""
        counts = self.service.due.by_rep(today=self.today)
        urgent: dict[int | None, list[DueFollowup]] = {}
        for item in self.service.due.followups(per_rep=PER_REP, limit=None, today=self.today):
            urgent.setdefault(item.owner_id, []).append(item)
        options: list[Option] = []
        for count in counts:
            rows = urgent.get(count.owner_id, [])
            if count.owner_id in expanded:
                rows = self.service.due.followups(
                    owner_id=count.owner_id, limit=DUE_LIMIT, today=self.today
                )
            options.append(Option(rep_label(count), disabled=True))
            options.extend(Option(due_label(i, indent=True), id=str(i.customer_id)) for i in rows)
            hidden = count.overdue + count.due_today - len(rows)
            if hidden > 0:
                more_text = ngettext(
                    "… {count} more for this rep · Enter lists them",
                    "… {count} more for this rep · Enter lists them",
                    hidden,
                ).format(count=hidden)
                more = Text("    " + more_text, "italic")
                options.append(Option(more, id=f"more:{count.owner_id}"))
        total = sum(c.overdue + c.due_today for c in counts)
        reps = ngettext("{total} for {count} rep", "{total} for {count} reps", len(counts))
        summary = reps.format(total=total, count=len(counts))
        return options, summary, sum(c.overdue for c in counts)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id
        if option_id is None:
            return
        if option_id.startswith("more:"):
            owner = option_id.removeprefix("more:")
            self.expanded.add(None if owner == "None" else int(owner))
            self.action_refresh_list()
            return
        self.app.open_customer(int(option_id))  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
