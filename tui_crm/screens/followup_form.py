"""Log a follow-up just made and plan the next one."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from ..i18n import N_, _
from ..labels import choices
from ..service import Service
from .form_base import FormScreen

QUICK_CHOICES = (
    ("tomorrow", N_("Tomorrow")),
    ("3days", N_("In 3 days")),
    ("nextweek", N_("Next week (Monday)")),
    ("date", N_("A date…")),
)


def quick_date(choice: str, today: dt.date) -> str:
    """The date a quick choice stands for; '' for 'a date' (typed by hand)."""
    if choice == "tomorrow":
        return (today + dt.timedelta(days=1)).isoformat()
    if choice == "3days":
        return (today + dt.timedelta(days=3)).isoformat()
    if choice == "nextweek":
        return (today + dt.timedelta(days=7 - today.weekday())).isoformat()
    return ""


class FollowUpFormScreen(FormScreen[int | None]):
    """Channel, what was discussed, the result and the next date; dismisses with the new id.

    The customer's planned follow-up is shown; a blank date keeps it, and only the
    "clear" box drops it."""

    title_text = N_("Log a follow-up")
    field_names = ("channel", "content", "result", "next_followup_date")
    first_field = "content"  # the channel is usually right: the cursor starts on the talk

    def __init__(
        self,
        service: Service,
        customer_id: int,
        today: dt.date | None = None,
        *,
        plan: str | None = None,
    ) -> None:
        """`plan`: the customer's planned follow-up (`next_followup_at`), if any."""
        super().__init__()
        self.service = service
        self.customer_id = customer_id
        self.today = today or dt.date.today()
        self.plan = (plan or "")[:10]
        if self.plan:  # only a plan can be cleared
            self.field_names = (*self.field_names, "clear_plan")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form"):
            yield from self.header()
            yield from self.field(
                "channel",
                _("Channel *"),
                Select(choices("channel"), value="phone", allow_blank=False),
            )
            yield from self.field("content", _("What was discussed *"), TextArea())
            yield from self.field(
                "result",
                _("Result"),
                Select(choices("followup_result")),
            )
            yield Select(
                [(_(label), key) for key, label in QUICK_CHOICES],
                prompt=_("Next follow-up: quick choice"),
                id="quick",
                compact=True,
            )
            yield from self.field(
                "next_followup_date",
                _("Next follow-up date (YYYY-MM-DD)"),
                Input(placeholder=_("keep {date}").format(date=self.plan) if self.plan else ""),
            )
            if self.plan:
                yield Static(
                    Text(_("Planned: {date}. Left blank, the plan stays.").format(date=self.plan)),
                    id="current-plan",
                )
                yield from self.field(
                    "clear_plan", "", Checkbox(_("Clear the planned follow-up"), compact=True)
                )
            yield self.footer()

    @on(Select.Changed, "#quick")
    def quick_chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        target = self.query_one("#f-next_followup_date", Input)
        target.value = quick_date(str(event.value), self.today)
        if event.value == "date":
            target.focus()

    def save(self) -> None:
        values = self.values()
        self.submit(
            lambda: self.service.activity.add_followup(
                self.customer_id,
                channel=values["channel"],
                content=values["content"],
                result=values["result"],
                next_followup_date=values["next_followup_date"],
                clear_plan=bool(values.get("clear_plan")),
            )
        )
