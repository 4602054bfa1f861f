"""Past import runs: who imported which file when, with what result; undo a run or finish
one that was cut short, each in a thread worker with a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ..i18n import N_, _, ngettext
from ..i18n.formats import format_number
from ..importer import (
    ImportOptions,
    ImportProgress,
    ImportSummary,
    RunInfo,
    UndoSummary,
    legal_basis_label,
)
from ..service import Service
from ..tabular import shown
from ..widgets.job_progress import JobProgress
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings
from .cleaning_report import CleaningReportScreen
from .confirm import ConfirmScreen
from .import_screen import IMPORT_ERRORS, summary_text
from .prompt import PromptScreen

COLUMNS = (
    N_("Run"),
    N_("Started"),
    N_("By"),
    N_("File"),
    N_("New"),
    N_("Upd."),
    N_("Skip"),
    N_("Rej."),
    N_("Status"),
)
FILE_WIDTH = 16
STATUS_STYLES = {"interrupted": "bold", "undone": "dim"}


def status_label(status: str) -> str:
    return {
        "running": _("running"),
        "done": _("done"),
        "interrupted": _("cut short"),
        "undone": _("undone"),
    }.get(status, status)


def run_details(run: RunInfo, undo_cut_short: bool = False) -> Text:
    """The selected run in full: file and hash, source, legal basis, report, undo."""
    text = Text()
    text.append(_("Run {id}: {file}").format(id=run.id, file=shown(run.file_name)), style="bold")
    text.append(f"  sha256 {run.file_sha256[:12]}…\n")
    text.append(_("Source: {source} · legal basis: {basis}").format(
        source=run.source or "-", basis=legal_basis_label(run.legal_basis)))  # fmt: skip
    text.append("\n")
    counts = _(
        "created {created}, updated {updated}, skipped {skipped}, rejected {rejected},"
        " to review {review}"
    )
    text.append(
        counts.format(
            created=format_number(run.created),
            updated=format_number(run.updated),
            skipped=format_number(run.skipped),
            rejected=format_number(run.rejected),
            review=format_number(run.review),
        )
    )
    if run.report_path:
        text.append("\n" + _("Rejected rows: {path}").format(path=run.report_path))
    if run.status == "interrupted":
        text.append("\n")
        text.append(
            _("Cut short after line {line}: r finishes it (resume), u undoes it.").format(
                line=format_number(run.last_line)
            ),
            style="bold",
        )
    if undo_cut_short:
        text.append("\n")
        text.append(_("Its undo was cut short: u finishes it."), style="bold")
    if run.undone_at:
        text.append("\n" + _("Undone by {who} at {when}").format(
            who=run.undone_by, when=run.undone_at[:16].replace("T", " ")))  # fmt: skip
    return text


def undo_text(summary: UndoSummary) -> Text:
    text = Text(
        _("Run {id} undone: {deleted} removed, {restored} restored, {kept} kept.").format(
            id=summary.run_id,
            deleted=format_number(summary.deleted),
            restored=format_number(summary.restored),
            kept=format_number(len(summary.kept)),
        ),
        style="bold",
    )
    for code, why in summary.kept[:20]:
        text.append("\n  " + _("kept {code}: {why}").format(code=code, why=why))
    hidden = len(summary.kept) - 20
    if hidden > 0:
        more = ngettext("  … and {count} more", "  … and {count} more", hidden)
        text.append("\n" + more.format(count=format_number(hidden)))
    return text


class ImportRunsScreen(TranslatedBindings, Screen[None]):
    """Every import run, newest first; `u` undoes the selected one after a confirmation,
    `r` finishes one that was cut short."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="import_runs.back"),
        Binding("u", "undo", N_("Undo run"), id="import_runs.undo"),
        Binding("r", "resume", N_("Resume"), id="import_runs.resume"),
        Binding("ctrl+r", "refresh_list", N_("Refresh"), id="import_runs.refresh"),
        Binding("c", "cleaning_report", N_("Cleaning report"), id="import_runs.cleaning_report"),
    ]

    DEFAULT_CSS = """
    ImportRunsScreen #runs-title { background: $boost; padding: 0 1; text-style: bold; }
    ImportRunsScreen DataTable { height: 1fr; }
    ImportRunsScreen #run-detail { height: auto; max-height: 7; padding: 0 1;
        border-top: solid $panel; }
    ImportRunsScreen #runs-result-box { height: auto; max-height: 12;
        border-top: solid $panel; }
    ImportRunsScreen #runs-result { padding: 0 1; }
    ImportRunsScreen JobProgress { margin: 0 1; }
    ImportRunsScreen JobProgress ProgressBar { width: 20; }
    """

    def __init__(self, service: Service, last_path: Path | None = None) -> None:
        super().__init__()
        self.service = service
        self.last_path = last_path
        self.runs: dict[int, RunInfo] = {}
        self.undos_cut_short: set[int] = set()  # runs half undone: the list says so
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Static(_("Import runs"), id="runs-title", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=True, id="runs")
        yield Static("", id="run-detail")
        with VerticalScroll(id="runs-result-box"):  # Tab, then the arrows, scroll a long one
            yield Static("", id="runs-result")
        yield JobProgress()
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for title in COLUMNS:
            table.add_column(_(title), key=title)
        self.query_one(JobProgress).display = False
        self.query_one("#runs-result-box").display = False
        table.focus()
        self.action_refresh_list()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("undo", "resume", "back") and self.busy:
            return None
        return True

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh_list(self) -> None:
        self._load()

    def action_cleaning_report(self) -> None:
        """The cleaning report of the selected run's customers."""
        run = self._selected()
        if run is not None:
            self.app.push_screen(CleaningReportScreen(self.service, run.id))

    @work(thread=True, exclusive=True, group="import_runs.load")
    def _load(self) -> None:
        try:
            runs = self.service.imports.runs()
            cut_short = {run.id for run in self.service.imports.undos_cut_short()}
        except IMPORT_ERRORS as exc:
            self.app.call_from_thread(self._show_result, Text(str(exc), style="bold"))
            return
        self.app.call_from_thread(self._show_runs, runs, cut_short)

    def _show_runs(self, runs: list[RunInfo], cut_short: set[int]) -> None:
        table = self.query_one(DataTable)
        selected = self._selected()
        self.runs = {run.id: run for run in runs}
        self.undos_cut_short = cut_short
        table.clear()
        for run in runs:
            name = Text(shown(run.file_name), overflow="ellipsis", no_wrap=True)
            name.truncate(FILE_WIDTH, overflow="ellipsis")
            table.add_row(
                str(run.id),
                run.started_at[5:16].replace("T", " "),
                Text(run.actor),
                name,
                format_number(run.created),
                format_number(run.updated),
                format_number(run.skipped),
                format_number(run.rejected),
                self._status(run),
                key=str(run.id),
            )
        if selected is not None and selected.id in self.runs:
            table.move_cursor(row=table.get_row_index(str(selected.id)))
        if not runs:
            self.query_one("#run-detail", Static).update(_("No import runs yet."))
        else:
            self._show_detail()

    def _status(self, run: RunInfo) -> Text:
        if run.id in self.undos_cut_short:
            return Text(_("undo cut short"), style="bold")
        return Text(status_label(run.status), style=STATUS_STYLES.get(run.status, ""))

    def _selected(self) -> RunInfo | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.runs.get(int(str(key.value)))

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        run = self._selected()
        if run is not None:
            details = run_details(run, run.id in self.undos_cut_short)
            self.query_one("#run-detail", Static).update(details)

    def _show_result(self, text: Text) -> None:
        self.query_one("#runs-result", Static).update(text)
        self.query_one("#runs-result-box").display = bool(text.plain)

    # --- undo and resume --------------------------------------------------------------------

    def action_undo(self) -> None:
        run = self._selected()
        if run is None or self.busy:
            return
        if run.status in ("undone", "running"):
            self.notify(
                _("Run {id} is {status}; it cannot be undone.").format(
                    id=run.id, status=status_label(run.status)
                ),
                severity="warning",
                markup=False,
            )
            return
        question = _("Undo import run {id} ({file})?").format(id=run.id, file=shown(run.file_name))
        details = Text(
            _("This removes the {created} customers it created and restores the fields of the"
              " {updated} it updated. Customers changed since the import are kept.").format(
                created=format_number(run.created), updated=format_number(run.updated))
        )  # fmt: skip

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(_("Undoing run {id}…").format(id=run.id))
                self._undo(run.id)

        self.app.push_screen(ConfirmScreen(question, details), answered)

    @work(thread=True, exclusive=True, group="import_runs.job")
    def _undo(self, run_id: int) -> None:
        try:
            summary = self.service.imports.undo(run_id, progress=self._progress())
        except IMPORT_ERRORS as exc:
            self.app.call_from_thread(self._finish, Text(str(exc), style="bold"))
            return
        self.app.call_from_thread(self._finish, undo_text(summary))

    def action_resume(self) -> None:
        run = self._selected()
        if run is None or self.busy:
            return
        if run.status != "interrupted":
            self.notify(
                _("Only a run that was cut short can be resumed."),
                severity="warning",
                markup=False,
            )
            return
        known = self.last_path if self.last_path and self.last_path.name == run.file_name else None
        question = _(
            "Run {id} stopped after line {line}. Path of {file} (the same file) to finish it:"
        ).format(id=run.id, line=format_number(run.last_line), file=shown(run.file_name))

        def answered(path: str | None) -> None:
            if path:
                self._start(_("Finishing run {id}…").format(id=run.id))
                self._resume(run, Path(path).expanduser())

        self.app.push_screen(PromptScreen(question, shown(known or run.file_name)), answered)

    @work(thread=True, exclusive=True, group="import_runs.job")
    def _resume(self, run: RunInfo, path: Path) -> None:
        try:
            summary: ImportSummary = self.service.imports.run(
                path,
                ImportOptions(legal_basis=run.legal_basis),
                resume_run_id=run.id,
                progress=self._progress(),
            )
        except IMPORT_ERRORS as exc:
            self.app.call_from_thread(self._finish, Text(str(exc), style="bold"))
            return
        self.app.call_from_thread(self._finish, summary_text(summary))

    def _start(self, message: str) -> None:
        self.busy = True
        self._show_result(Text())  # the last job's result is not this one's
        bar = self.query_one(JobProgress)
        bar.display = True
        bar.report(0.0, message)
        self.refresh_bindings()

    def _progress(self) -> Callable[[ImportProgress], None]:
        bar = self.query_one(JobProgress)

        def show(progress: ImportProgress) -> None:
            self.app.call_from_thread(bar.report, *progress.described())

        return show

    def _finish(self, text: Text) -> None:
        self.busy = False
        self.query_one(JobProgress).display = False
        self._show_result(text)
        self.refresh_bindings()
        self.action_refresh_list()
