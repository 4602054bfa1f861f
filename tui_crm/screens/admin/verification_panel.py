"""The Verification tab: the monthly sample's report (outcome shares, error rate per field,
progress per assignee, overdue checks) and, once a month, the draw itself.

Drawing asks first (it cannot be repeated for the month); both the draw and the report go
through the service, which checks the role again and audits the draw.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...config import Settings
from ...i18n import N_, _
from ...i18n.formats import format_percent
from ...labels import field_label
from ...service import NotFound, Service, ServiceError
from ...service.verification import this_month
from ...verification import VerificationReport
from ..confirm import ConfirmScreen

OUTCOMES = (
    ("verified", N_("verified")),
    ("corrected", N_("corrected")),
    ("unreachable", N_("unreachable")),
    ("wrong_person", N_("wrong person")),
    ("pending", N_("pending")),
)


class VerificationPanel(Vertical):
    """`n` draws this month's sample; ctrl+r reloads the report."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "draw", N_("Draw sample"), id="admin.verification_draw"),
        Binding("ctrl+r", "reload", N_("Refresh"), id="admin.verification_reload"),
    ]

    DEFAULT_CSS = """
    VerificationPanel { height: 1fr; }
    VerificationPanel .verification-summary { height: auto; padding: 0 1; }
    VerificationPanel DataTable { height: 1fr; }
    """

    def __init__(self, service: Service, settings: Settings) -> None:
        super().__init__()
        self.service = service
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Static(Text(_("Loading the verification report…")), classes="verification-summary")
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="admin-verification")
    def _load(self) -> None:
        try:
            report: VerificationReport | None = self.service.verification.report()
        except NotFound:
            report = None
        except ServiceError as exc:
            self.app.call_from_thread(self._summary, Text(str(exc), style="red"))
            return
        self.app.call_from_thread(self._show, report)

    def _show(self, report: VerificationReport | None) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        if report is None:
            self._summary(Text(_("No sample has been drawn yet. Press n to draw this month's.")))
            return
        self._summary(self._headline(report))
        table.add_columns(_("Assignee"), _("Done"), *(_(label) for _code, label in OUTCOMES))
        for step in report.progress:
            table.add_row(
                Text(step.assignee or _("unassigned"), overflow="ellipsis", no_wrap=True),
                Text(f"{step.done}/{step.total}"),
                *(Text(str(step.counts.get(code, 0))) for code, _label in OUTCOMES),
            )

    def _headline(self, report: VerificationReport) -> Text:
        sample = report.sample
        text = Text(
            _(
                "Sample {month}: {size} of {population} customers ({percent}), drawn "
                "{drawn_at} by {drawn_by}, seed {seed}, due {due_on}."
            ).format(
                month=sample.month,
                size=sample.size,
                population=sample.population,
                percent=format_percent(sample.percent / 100),
                drawn_at=sample.drawn_at[:10],
                drawn_by=sample.drawn_by,
                seed=sample.seed,
                due_on=sample.due_on,
            )
        )
        shares = ", ".join(
            " ".join((_(label), format_percent(report.shares.get(code, 0.0))))
            for code, label in OUTCOMES
        )
        text.append("\n" + shares)
        errors = ", ".join(
            " ".join((field_label(e.field), format_percent(e.rate))) for e in report.field_errors
        )
        text.append("\n" + _("Error rate per field: {errors}").format(errors=errors or "-"))
        if report.overdue:
            text.append("\n" + _("{count} check(s) overdue.").format(count=report.overdue), "bold")
        return text

    def _summary(self, text: Text) -> None:
        self.query_one(".verification-summary", Static).update(text)

    def action_draw(self) -> None:
        percent = format_percent(self.settings.verification.percent / 100)
        question = _("Draw the {percent} verification sample for {month}?").format(
            percent=percent, month=this_month()
        )
        details = Text(
            _(
                "Customers are picked at random across owners and assigned to service staff "
                "(without service staff, each rep checks their own). A month's sample can be "
                "drawn only once."
            )
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._draw()

        self.app.push_screen(ConfirmScreen(question, details), answered)

    @work(thread=True, exclusive=True, group="admin-verification")
    def _draw(self) -> None:
        try:
            sample = self.service.verification.draw(settings=self.settings)
        except ServiceError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error", markup=False)
            return
        message = _("Drew {size} customers for {month}.").format(
            size=sample.size, month=sample.month
        )
        self.app.call_from_thread(self.app.notify, message, markup=False)
        self.app.call_from_thread(self._load)
