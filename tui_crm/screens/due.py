"""My work: follow-ups due today and overdue, opening straight into the customer."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from .. import validation as v
from ..service import DueFollowup, Service

DUE_LIMIT = 500


def due_label(item: DueFollowup, *, indent: bool) -> Text:
    text = Text("    " if indent else "  ")
    if item.days_overdue > 0:
        text.append(f"{item.due} {item.days_overdue:>3}d overdue", "bold red")
    else:
        text.append(f"{item.due} today        ", "bold")
    text.append("  ")
    text.append(item.code, "cyan")
    text.append("  ")
    text.append(v.clean_text(item.name))
    return text


class DueScreen(Screen[None]):
    """Due follow-ups for the signed-in user (everyone's, grouped by rep, for managers)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "refresh_list", "Refresh"),
    ]

    DEFAULT_CSS = """
    DueScreen #due-title { padding: 0 1; background: $boost; }
    DueScreen OptionList { height: 1fr; }
    """

    def __init__(self, service: Service, today: dt.date | None = None) -> None:
        super().__init__()
        self.service = service
        self.today = today

    def compose(self) -> ComposeResult:
        yield Static("", id="due-title", markup=False)
        yield OptionList(id="due-list")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh_list()
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        self.action_refresh_list()

    def action_refresh_list(self) -> None:
        items = self.service.due_followups(limit=DUE_LIMIT, today=self.today)
        grouped = self.service.user.role in ("manager", "admin")
        options: list[Option] = []
        owner: str | None = None
        for item in items:
            if grouped and item.owner != owner:
                owner = item.owner
                options.append(Option(Text(owner or "unassigned", "bold underline"), disabled=True))
            options.append(Option(due_label(item, indent=grouped), id=str(item.customer_id)))
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(options)
        if not items:
            listing.add_option(Option(Text("Nothing due. Well done.", "dim"), disabled=True))
        else:
            first = next(i for i, option in enumerate(options) if not option.disabled)
            listing.highlighted = (
                first if highlighted is None else min(highlighted, len(options) - 1)
            )
        overdue = sum(1 for i in items if i.days_overdue > 0)
        whose = "Everyone's" if grouped else "My"
        shown = f"first {len(items)} shown" if len(items) >= DUE_LIMIT else str(len(items))
        self.query_one("#due-title", Static).update(
            f"{whose} follow-ups due: {shown} ({overdue} overdue) · Enter opens the customer"
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.app.open_customer(int(event.option.id))  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
