"""The main screen: search as you type, filter and sort the virtual customer list.

Searching and counting run in exclusive thread workers; every request carries a
generation number and only the newest generation may repaint, so a slow stale search can
never overwrite a fresh one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from .. import validation as v
from ..export import ExportResult
from ..i18n import N_, _, is_chinese, ngettext, pgettext
from ..i18n.formats import format_number
from ..labels import industry_label, label
from ..listing import SORT_LABELS, SORTS, CustomerQuery, SortKey, sort_label
from ..roles import Action
from ..service import CustomerRow, FilterChoices, Service
from ..widgets.customer_table import PAGE, CustomerTable
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings
from .choice import ChoiceScreen
from .export_dialog import ExportDialog

COUNT_CAP = 10_000
TYPES = (None, "prospect", "customer", "churned")
DUES = (None, "today", "overdue")
TIERS = (None, "high", "medium", "low", "none")
UNASSIGNED = "unassigned"  # the owner choice of customers nobody owns (never a user id)
# Bindings the palette offers only to roles that may do what they lead to.
PALETTE_NEEDS = {
    "customers.new": Action.CUSTOMER_CREATE,
    "customers.dashboard": Action.ANALYTICS,
    "customers.admin": Action.BACKUP,
    "customers.import": Action.IMPORT,
    "customers.export": Action.EXPORT,
    "customers.duplicates": Action.CUSTOMER_MERGE,
}


class CustomersScreen(TranslatedBindings, Screen[None]):
    """Find any customer as fast as you can type; Enter opens it."""

    DEFAULT_CSS = """
    CustomersScreen #search { border: tall $border-blurred; height: 3; }
    CustomersScreen #search:focus { border: heavy $border; }  /* seen without colour too */
    CustomersScreen #status { height: 1; background: $panel; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", N_("Search"), id="customers.search"),
        Binding("escape", "clear_search", N_("Clear"), show=False, id="customers.clear_search"),
        Binding("n", "new_customer", N_("New"), id="customers.new"),
        Binding("d", "due_list", N_("Due list"), id="customers.due_list"),
        Binding("t", "cycle_type", N_("Type"), id="customers.filter_type"),
        Binding("i", "pick_industry", N_("Industry"), id="customers.filter_industry"),
        Binding("o", "pick_owner", N_("Owner"), id="customers.filter_owner"),
        Binding("T", "pick_tag", N_("Tag"), id="customers.filter_tag"),
        Binding("f", "cycle_due", N_("Due"), id="customers.filter_due"),
        Binding("v", "cycle_tier", N_("Value"), id="customers.filter_tier"),
        Binding("w", "toggle_churn", N_("Churn risk"), show=False, id="customers.filter_churn"),
        Binding("s", "cycle_sort", N_("Sort"), id="customers.sort"),
        Binding("r", "reverse_sort", N_("Reverse"), show=False, id="customers.reverse"),
        Binding(
            "c", "clear_filters", N_("Clear filters"), show=False, id="customers.clear_filters"
        ),
        Binding("x", "export", N_("Export"), show=False, id="customers.export"),
        Binding("g", "dashboard", N_("Dashboard"), show=False, id="customers.dashboard"),
        Binding("a", "admin", N_("Admin"), show=False, id="customers.admin"),
        Binding("D", "duplicates", N_("Duplicates"), show=False, id="customers.duplicates"),
        Binding("I", "import_customers", N_("Import"), show=False, id="customers.import"),
    ]

    def __init__(self, service: Service, *, today: dt.date | None = None) -> None:
        """`today` fixes the day follow-ups are overdue against (tests); else the clock's."""
        super().__init__()
        self.service = service
        self.today = today
        self.list_query = CustomerQuery()
        self.shown_query = self.list_query
        self.generation = 0
        self.count: tuple[int, bool] | None = None  # (customers, more than counted); None: counting
        self._choices: FilterChoices | None = None
        self.status_text = Text()

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder=_("/ search: name, contact, code, phone, email or last 4 digits"),
            id="search",
        )
        yield CustomerTable(self._fetch, today=self.today, id="customers")
        yield Static("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(CustomerTable).focus()
        self.reload()

    def on_screen_resume(self) -> None:
        """Back from a customer or a dialog: the row under the cursor may have changed."""
        table = self.query_one(CustomerTable)
        if table.rows:
            table.reload()

    # --- loading ----------------------------------------------------------------------------

    def _fetch(self, after: SortKey | None, limit: int, backward: bool) -> list[CustomerRow]:
        return self.service.customer_list.page(self.shown_query, after, limit, backward)

    def reload(self) -> None:
        """Fetch the first page for the current query in a worker; show it when it lands."""
        self.generation += 1
        self.count = None
        self._load(self.generation, self.list_query)

    @work(thread=True, exclusive=True, group="customers.load")
    def _load(self, generation: int, query: CustomerQuery) -> None:
        rows = self.service.customer_list.page(query, limit=PAGE)
        self.app.call_from_thread(self._show, generation, query, rows)

    def _show(self, generation: int, query: CustomerQuery, rows: list[CustomerRow]) -> None:
        if generation != self.generation:
            return
        self.shown_query = query
        searched = query != CustomerQuery()
        message = _("No customer matches.") if searched else _("No customers yet.")
        self.query_one(CustomerTable).show(rows, at_end=len(rows) < PAGE, empty_message=message)
        if len(rows) < PAGE:
            self.count = (len(rows), False)
        else:
            self._count(generation, query)
        self._update_status()

    @work(thread=True, exclusive=True, group="customers.count")
    def _count(self, generation: int, query: CustomerQuery) -> None:
        count = self.service.customer_list.count(query, cap=COUNT_CAP)
        self.app.call_from_thread(self._show_count, generation, count)

    def _show_count(self, generation: int, count: tuple[int, bool]) -> None:
        if generation == self.generation:
            self.count = count
            self._update_status()

    def _count_text(self) -> str:
        if self.count is None:
            return _("counting…")
        n, capped = self.count
        if capped:
            return ngettext("{count}+ customer", "{count}+ customers", n).format(
                count=format_number(n)
            )
        return ngettext("{count} customer", "{count} customers", n).format(count=format_number(n))

    def _update_status(self) -> None:
        query = self.list_query
        status = Text()
        status.append(self._count_text(), style="bold")
        if query.text.strip():
            status.append("  ")
            status.append_text(_styled(_("search: {text}"), v.clean_text(query.text), "bold"))
        for shown in self._filter_labels():
            status.append("  " + shown)
        sort = _("sort: {sort}").format(sort=_(sort_label(query)))
        if sort_label(query) == SORT_LABELS[query.sort]:
            sort += " " + ("↓" if query.descending else "↑")
        status.append("  " + sort)
        self.status_text = status
        self.query_one("#status", Static).update(status)

    def _filter_labels(self) -> list[str]:
        query = self.list_query
        shown = []
        if query.customer_type:
            kind = label("customer_type", query.customer_type)
            shown.append(_("type: {type}").format(type=kind))
        if query.industry:
            shown.append(_("industry: {industry}").format(industry=industry_label(query.industry)))
        if query.owner_id is not None:
            owner = v.clean_text(self._owner_name(query.owner_id))
            shown.append(_("owner: {owner}").format(owner=owner))
        if query.unassigned:
            shown.append(_("owner: {owner}").format(owner=_("unassigned")))
        if query.tag_id is not None:
            shown.append(_("tag: {tag}").format(tag=v.clean_text(self._tag_name(query.tag_id))))
        if query.due:
            shown.append(_("follow-up: {due}").format(due=_due_label(query.due)))
        if query.tier:
            shown.append(_("value: {tier}").format(tier=label("value_tier", query.tier)))
        if query.churn_risk:
            shown.append(_("churn risk"))
        return shown

    def _filter(self, **changes: object) -> None:
        self.list_query = dataclasses.replace(self.list_query, **changes)  # type: ignore[arg-type]
        self._update_status()
        self.reload()

    # --- search -----------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._filter(text=event.value)

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.query_one(CustomerTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
        self.query_one(CustomerTable).focus()

    def key_down(self) -> None:
        """Down from the search box goes into the results."""
        if self.focused is self.query_one("#search", Input):
            self.query_one(CustomerTable).focus()

    # --- filters and sort -------------------------------------------------------------------

    def action_cycle_type(self) -> None:
        self._filter(customer_type=_next(TYPES, self.list_query.customer_type))

    def action_cycle_due(self) -> None:
        self._filter(due=_next(DUES, self.list_query.due))

    def action_cycle_tier(self) -> None:
        self._filter(tier=_next(TIERS, self.list_query.tier))

    def action_toggle_churn(self) -> None:
        self._filter(churn_risk=not self.list_query.churn_risk)

    def action_cycle_sort(self) -> None:
        self._filter(sort=_next(tuple(SORTS), self.list_query.sort))

    def action_reverse_sort(self) -> None:
        self._filter(descending=not self.list_query.descending)

    def action_clear_filters(self) -> None:
        self._filter(
            customer_type=None,
            industry=None,
            owner_id=None,
            unassigned=False,
            tag_id=None,
            due=None,
            tier=None,
            churn_risk=False,
        )

    def _pick(
        self, title: str, options: list[tuple[str, str]], apply: Callable[[str], None]
    ) -> None:
        def chosen(value: str | None) -> None:
            if value is not None:
                apply(value)

        self.app.push_screen(ChoiceScreen(title, options), chosen)

    def action_pick_industry(self) -> None:
        options = [(code, industry_label(code)) for code in v.INDUSTRY_SECTIONS]
        self._pick(_("Filter by industry"), options, lambda k: self._filter(industry=k or None))

    def action_pick_owner(self) -> None:
        options = [(str(u.id), u.username) for u in self.choices.owners]
        if self.choices.unassigned:
            options.insert(0, (UNASSIGNED, _("unassigned")))
        self._pick(_("Filter by owner"), options, self._filter_owner)

    def _filter_owner(self, key: str) -> None:
        """An empty key is any owner, `UNASSIGNED` no owner, anything else a user's id."""
        owner_id = int(key) if key and key != UNASSIGNED else None
        self._filter(owner_id=owner_id, unassigned=key == UNASSIGNED)

    def action_pick_tag(self) -> None:
        options = [
            (str(t.id), _("{type}: {tag}").format(type=label("tag_type", t.tag_type), tag=t.name))
            for t in self.choices.tags
        ]
        self._pick(
            _("Filter by tag"), options, lambda k: self._filter(tag_id=int(k) if k else None)
        )

    @property
    def choices(self) -> FilterChoices:
        if self._choices is None:
            self._choices = self.service.customer_list.filter_choices()
        return self._choices

    def _owner_name(self, owner_id: int) -> str:
        return next((u.username for u in self.choices.owners if u.id == owner_id), str(owner_id))

    def _tag_name(self, tag_id: int) -> str:
        return next((t.name for t in self.choices.tags if t.id == tag_id), str(tag_id))

    # --- other screens ----------------------------------------------------------------------

    @on(CustomerTable.Opened)
    def _open(self, event: CustomerTable.Opened) -> None:
        self.app.open_customer(event.customer_id)  # type: ignore[attr-defined]

    def action_new_customer(self) -> None:
        self.app.new_customer()  # type: ignore[attr-defined]

    def action_due_list(self) -> None:
        self.app.show_due()  # type: ignore[attr-defined]

    def action_checks(self) -> None:
        self.app.show_checks()  # type: ignore[attr-defined]

    def action_dashboard(self) -> None:
        self.app.show_dashboard()  # type: ignore[attr-defined]

    def action_admin(self) -> None:
        self.app.open_admin()  # type: ignore[attr-defined]

    def palette_offers(self, binding_id: str) -> bool:
        """The palette leaves out what this user's role may not do (the key still explains)."""
        needs = PALETTE_NEEDS.get(binding_id)
        return needs is None or self.service.can(needs)

    def action_duplicates(self) -> None:
        self.app.show_duplicates()  # type: ignore[attr-defined]

    def action_cleaning_report(self) -> None:
        self.app.show_cleaning_report()  # type: ignore[attr-defined]

    def action_export(self) -> None:
        """Export exactly what the list shows now (search, filters, sort)."""
        if not self.service.can(Action.EXPORT):
            self.notify(_("Your role may not export customers."), severity="warning", markup=False)
            return
        self.app.push_screen(
            ExportDialog(self.service, self.list_query, self._view_summary()), self._exported
        )

    def action_import_customers(self) -> None:
        self.app.open_import()  # type: ignore[attr-defined]

    def action_import_runs(self) -> None:
        self.app.open_import_runs()  # type: ignore[attr-defined]

    def _view_summary(self) -> Text:
        summary = Text(_("Export this view: "), style="bold")
        summary.append_text(self.status_text)
        return summary

    def _exported(self, result: ExportResult | None) -> None:
        if result is None:
            return
        message = ngettext(
            "Exported {count} customer to {path}.",
            "Exported {count} customers to {path}.",
            result.rows,
        ).format(count=format_number(result.rows), path=result.path)
        self.notify(message, markup=False, timeout=10)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Commands with no key of their own, for the command palette (ctrl+p)."""
        yield SystemCommand(
            _("Verification checks"),
            _("The monthly sample's calls assigned to me"),
            self.action_checks,
        )
        if self.service.can(Action.CUSTOMER_MERGE):
            yield SystemCommand(
                _("Find duplicates"),
                _("Pairs that may be one customer, to merge (D)"),
                self.action_duplicates,
            )
        if self.service.can(Action.QUALITY_REPORT):
            yield SystemCommand(
                _("Cleaning report"),
                _("Duplicates, missing and invalid values, anomalies"),
                self.action_cleaning_report,
            )
        if self.service.can(Action.EXPORT):
            yield SystemCommand(
                _("Export this view"),
                _("These customers to a CSV or XLSX file (x)"),
                self.action_export,
            )
        for sort in SORTS:
            yield SystemCommand(
                _("Sort by {sort}").format(sort=_(SORT_LABELS[sort])),
                _("Order the list (s)"),
                lambda s=sort: self._filter(sort=s),
            )
        for kind in TYPES[1:]:
            yield SystemCommand(
                _("Filter: type {type}").format(type=label("customer_type", kind)),
                _("Customer type (t)"),
                lambda k=kind: self._filter(customer_type=k),
            )
        for tier in TIERS[1:]:
            yield SystemCommand(
                _("Filter: value tier {tier}").format(tier=label("value_tier", tier)),
                _("Value tier (v)"),
                lambda t=tier: self._filter(tier=t),
            )
        for due in DUES[1:]:
            yield SystemCommand(
                _("Filter: follow-up due {due}").format(due=_due_label(due)),
                _("Next follow-up (f)"),
                lambda d=due: self._filter(due=d),
            )
        for code, (zh, en) in v.INDUSTRY_SECTIONS.items():
            yield SystemCommand(
                _("Filter: industry {industry}").format(industry=industry_label(code)),
                en if is_chinese() else zh,  # the other language's name finds it too
                lambda c=code: self._filter(industry=c),
                discover=False,
            )
        if self.service.can(Action.IMPORT):
            yield SystemCommand(
                _("Import customers"),
                _("From a CSV or XLSX file, with a dry run first (I)"),
                self.action_import_customers,
            )
            yield SystemCommand(
                _("Import runs"), _("Past imports: undo or finish one"), self.action_import_runs
            )


def _due_label(due: str) -> str:
    """A follow-up filter's code (`today`, `overdue`) as the list shows it."""
    names = {
        "today": pgettext("follow-up filter", "today"),
        "overdue": pgettext("follow-up filter", "overdue"),
    }
    return names.get(due, due)


def _styled(template: str, value: str, style: str) -> Text:
    """A translated `template` with its one `{field}` filled with `value` in `style`: the
    sentence stays whole for the translator, the value stands out and is never markup."""
    before, _field, after = template.partition("{")
    after = after.partition("}")[2]
    return Text.assemble(before, (value, style), after)


def _next(values: tuple[str | None, ...], current: str | None) -> str | None:
    return values[(values.index(current) + 1) % len(values)]
