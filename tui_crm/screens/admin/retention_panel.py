"""The Retention tab: a dry run of who the policy would purge and why, then a purge that
runs only after the admin types how many customers will go."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from ...config import Settings
from ...i18n import N_, _, ngettext
from ...i18n.formats import format_number
from ...retention import Candidate, RetentionError
from ...service import Service, ServiceError
from ...widgets.fitted_table import Column, FittedTable
from ...widgets.job_progress import JobProgress

SHOWN = 500
# Every reason restates the policy in the summary above with the last activity's date, so a
# narrow table leaves it out and gives the room to the name.
COLUMNS = (
    Column("code", N_("Code"), 11),
    Column("name", N_("Name"), least=24),
    Column("last", N_("Last activity"), 13),
    Column("why", N_("Why"), narrow=0, least=40),
)


class RetentionPanel(Vertical):
    """ctrl+r re-runs the dry run; the purge button needs the typed count."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "preview", N_("Dry run"), id="admin.retention_preview"),
    ]

    DEFAULT_CSS = """
    RetentionPanel { height: 1fr; }
    RetentionPanel DataTable { height: 1fr; }
    RetentionPanel .retention-summary { height: auto; }
    RetentionPanel .retention-confirm { height: 3; }
    RetentionPanel .retention-confirm Input { width: 30; }
    """

    def __init__(self, service: Service, settings: Settings) -> None:
        super().__init__()
        self.service = service
        self.settings = settings
        self.candidates: list[Candidate] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(_("Running the dry run…")), classes="retention-summary")
        yield FittedTable(COLUMNS)
        with Horizontal(classes="retention-confirm"):
            yield Input(placeholder=_("type the number to purge"), id="retention-count")
            yield Button(_("Purge"), variant="error", id="retention-purge")
        yield JobProgress()

    def on_mount(self) -> None:
        self.action_preview()

    def action_preview(self) -> None:
        self._preview()

    @work(thread=True, exclusive=True, group="admin-retention")
    def _preview(self) -> None:
        try:
            found = self.service.retention.preview(self.settings)
        except ServiceError as exc:
            self.app.call_from_thread(self._summary, Text(str(exc), style="red"))
            return
        self.app.call_from_thread(self._show, found)

    def _show(self, found: list[Candidate]) -> None:
        self.candidates = found
        self.query_one(FittedTable).show(
            (
                str(c.id),
                {
                    "code": Text(c.code),
                    "name": Text(c.name),
                    "last": Text(c.last_activity[:10]),
                    "why": Text(c.reason),
                },
            )
            for c in found[:SHOWN]
        )
        years = self.service.retention.policy(self.settings).years
        policy = ngettext(
            "Policy: churned, no interaction for {years} year, no legal hold.",
            "Policy: churned, no interaction for {years} years, no legal hold.",
            years,
        ).format(years=years)
        count = len(found)
        if count > SHOWN:
            would = ngettext(
                "{count} customer would be purged (first {shown} shown).",
                "{count} customers would be purged (first {shown} shown).",
                count,
            )
        else:
            would = ngettext(
                "{count} customer would be purged.", "{count} customers would be purged.", count
            )
        how = _("Type that number below and press Purge to delete them for good.")
        purged = would.format(count=format_number(count), shown=SHOWN)
        # Translators: three sentences in a row (Chinese puts no space between them).
        summary = _("{policy} {purged} {how}").format(policy=policy, purged=purged, how=how)
        self._summary(Text(summary))

    def _summary(self, text: Text) -> None:
        self.query_one(".retention-summary", Static).update(text)

    @on(Button.Pressed, "#retention-purge")
    @on(Input.Submitted, "#retention-count")
    def _purge_pressed(self) -> None:
        typed = self.query_one("#retention-count", Input).value.strip()
        if not typed.isdigit() or int(typed) != len(self.candidates):
            self.app.notify(
                _("Type {count} (the number of customers listed) to purge.").format(
                    count=len(self.candidates)
                ),
                severity="warning",
                markup=False,
            )
            return
        if not self.candidates:
            self.app.notify(_("Nobody is due for purging."), markup=False)
            return
        self._purge(int(typed))

    @work(thread=True, exclusive=True, group="admin-retention")
    def _purge(self, count: int) -> None:
        bar = self.query_one(JobProgress)

        def progress(fraction: float, message: str) -> None:
            self.app.call_from_thread(bar.report, fraction, message)

        try:
            purged = self.service.retention.purge(count, self.settings, progress)
        except (ServiceError, RetentionError) as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error", markup=False)
            return
        self.app.call_from_thread(self._done, purged)

    def _done(self, purged: int) -> None:
        self.query_one("#retention-count", Input).value = ""
        message = ngettext("Purged {count} customer.", "Purged {count} customers.", purged).format(
            count=format_number(purged)
        )
        self.app.notify(message, markup=False)
        self._preview()
