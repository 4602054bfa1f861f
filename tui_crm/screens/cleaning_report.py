"""The cleaning report (数据清洗报告) for managers and admins, as readable tables.

Loaded in a thread worker with a progress bar (it reads and checks every customer); the
tables are plain text with a bar beside each share, so they read at 80x24 and with
NO_COLOR. Customer codes appear, never a value: the report holds none.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from ..i18n import N_, _, ngettext
from ..i18n.formats import fit, format_number, format_percent, pad
from ..service import Service, ServiceError
from ..service.cleaning import QualityReport, anomaly_label, reason_label
from ..validation import field_label
from ..widgets.job_progress import JobLeft, JobProgress
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings

BAR = 16


def _bar(share: float) -> str:
    return "█" * round(BAR * share) if share > 0 else ""


def report_text(report: QualityReport) -> Text:
    """Every section of the report as aligned plain-text tables."""
    text = Text()

    def heading(title: str) -> None:
        text.append("\n" + title + "\n", "bold underline")

    heading(_("Duplicates"))
    text.append(
        _("{found} candidate pairs · {merged} merged so far").format(
            found=format_number(report.duplicate_candidates), merged=format_number(report.merged)
        )
        + "\n"
    )
    for reason, count in sorted(report.duplicates_by_reason.items(), key=lambda r: -r[1]):
        why = fit(reason_label(reason), 34)
        text.append(f"  {why} {pad(format_number(count), 9, right=True)}\n")
    heading(_("Missing values"))
    field, missing, applicable, share = _("field"), _("missing"), _("out of"), _("share")
    text.append(
        f"  {pad(field, 18)} {pad(missing, 9, right=True)}"
        f" {pad(applicable, 9, right=True)} {pad(share, 7, right=True)}\n",
        "bold",
    )
    for m in report.missing:
        name = fit(field_label(m.field), 18)
        text.append(
            f"  {name} {pad(format_number(m.missing), 9, right=True)}"
            f" {pad(format_number(m.applicable), 9, right=True)}"
            f" {pad(format_percent(m.share), 7, right=True)} "
        )
        text.append(_bar(m.share), "yellow")
        text.append("\n")
    heading(_("Invalid values"))
    if not report.invalid:
        text.append("  " + _("none") + "\n")
    for i in report.invalid:
        name = fit(field_label(i.field), 18)
        text.append(f"  {name} {pad(format_number(i.count), 7, right=True)}  ")
        text.append(i.reason)
        text.append("  " + " ".join(i.examples[:2]) + "\n", "dim")
    heading(_("Anomalies"))
    for kind, count in report.anomaly_counts.items():
        name = fit(anomaly_label(kind), 42)
        text.append(f"  {name} {pad(format_number(count), 7, right=True)}\n")
    heading(_("No contact method"))
    text.append(
        ngettext(
            "{count} customer has neither phone nor email",
            "{count} customers have neither phone nor email",
            report.no_contact,
        ).format(count=format_number(report.no_contact))
        + "\n"
    )
    if report.no_contact_examples:
        text.append("  " + " ".join(report.no_contact_examples[:6]) + "\n", "dim")
    return text


class CleaningReportScreen(TranslatedBindings, Screen[None]):
    """The report over every customer, or over one import run's (`run_id`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="cleaning_report.back"),
        Binding("ctrl+r", "refresh_report", N_("Refresh"), id="cleaning_report.refresh"),
    ]

    DEFAULT_CSS = """
    CleaningReportScreen #report-title { padding: 0 1; background: $boost; }
    CleaningReportScreen JobProgress { margin: 0 1; }
    CleaningReportScreen VerticalScroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, service: Service, run_id: int | None = None) -> None:
        super().__init__()
        self.service = service
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        yield Static("", id="report-title", markup=False)
        yield JobProgress()
        with VerticalScroll(id="report-scroll"):
            yield Static("", id="report-body", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.action_refresh_report()

    def action_back(self) -> None:
        self.dismiss()

    def action_refresh_report(self) -> None:
        self.query_one(JobProgress).display = True
        self.query_one("#report-title", Static).update(_("Checking every customer…"))
        self._load()

    @work(thread=True, exclusive=True, group="cleaning-report")
    def _load(self) -> None:
        worker = get_current_worker()

        def progress(fraction: float, message: str) -> None:
            if worker.is_cancelled:
                raise JobLeft
            self.app.call_from_thread(self._progress, fraction, message)

        try:
            report = self.service.cleaning.report(self.run_id, progress=progress)
        except JobLeft:
            return
        except ServiceError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, report)

    def _progress(self, fraction: float, message: str) -> None:
        if self.is_attached:
            self.query_one(JobProgress).report(fraction, message)

    def _show(self, report: QualityReport) -> None:
        if not self.is_attached:
            return
        self.query_one(JobProgress).display = False
        self.query_one("#report-title", Static).update(report.title())
        self.query_one("#report-body", Static).update(report_text(report))
