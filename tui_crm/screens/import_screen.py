"""Import customers from a CSV or XLSX file (managers and admins), by keyboard.

Four steps on one screen: the file; each column's field and the run's choices; a dry run
saying exactly what would happen (nothing is written); then the run in a thread worker
with rows/s and the time left, and its summary. Reading, checking and writing are the
engine's, through `service.imports`: every refusal is its one-line message, shown next to
the field it is about. The file's own text (headers, cells in reasons) is shown as plain
text, never as markup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Input, Label, Select, Static

from .. import labels
from ..i18n import N_, _, ngettext
from ..i18n.formats import format_number, pad
from ..import_mapping import (
    DATE_FIELDS,
    IMPORT_FIELDS,
    import_field_label,
    rejection_reasons,
    suggest_mapping,
)
from ..importer import (
    FilePreview,
    ImportFileError,
    ImportOptions,
    ImportProgress,
    ImportRunError,
    ImportSummary,
    LegalBasis,
    Strategy,
    legal_basis_label,
)
from ..service import Service, ServiceError
from ..tabular import SheetNotFoundError, shown
from ..widgets.job_progress import JobProgress
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings

SHOWN_ROWS = 10
AUTO = "auto"
IGNORE = ""
IMPORT_ERRORS = (ImportFileError, ImportRunError, ServiceError, OSError)
# The fields a column can feed, in the order a person looks for them.
FIELD_ORDER = (
    "name", "contact_name", "first_name", "last_name", "contact_title", "phone",
    "extra_phone", "email", "extra_email", "customer_type", "kind", "industry",
    "company_size", "source", "owner", "credit_code", "id_number", "address", "province",
    "city", "country", "postcode", "notes", "created_at", "last_interaction_at",
)  # fmt: skip


def summary_text(summary: ImportSummary) -> Text:
    """What a run did (or a dry run would do): counts, first rejected rows with reasons,
    rows only sharing a name with a customer (for review), first rows skipped."""
    text = Text()
    if summary.dry_run:
        heading = _("Dry run of {file}: nothing was written.").format(file=shown(summary.file_name))
    else:
        heading = _("Imported {file} as run {run}.").format(
            file=shown(summary.file_name), run=summary.run_id
        )
    text.append(heading + "\n", style="bold")
    counts = summary.counts()
    text.append(_("{rows} rows:").format(rows=format_number(summary.rows)) + "\n")
    width = max(cell_len(name) for name, _count in counts) + 2
    for name, count in counts:
        text.append("  " + pad(name, width))
        text.append(format_number(count).rjust(7) + "\n", style="bold" if count else "")
    if summary.unknown_columns:
        columns = ", ".join(summary.unknown_columns)
        text.append(_("Columns not imported: {columns}").format(columns=columns) + "\n")
    if summary.report_path and summary.rejected:
        path = summary.report_path
        text.append(_("Rejected rows are written to {path}").format(path=path) + "\n")
    _rows_section(
        text,
        _("Rejected rows (line: reasons):"),
        [(line, rejection_reasons(errors)) for line, errors in summary.rejected_rows],
        summary.rejected,
    )
    _rows_section(
        text,
        _("Imported, for a person to review: they only share a name with another customer:"),
        summary.review_rows,
        summary.review,
    )
    _rows_section(text, _("Skipped rows:"), summary.skipped_rows, summary.skipped)
    return text


def _rows_section(text: Text, title: str, rows: list[tuple[int, str]], count: int) -> None:
    if not rows:
        return
    text.append("\n" + title + "\n", style="bold")
    for line, why in rows[:SHOWN_ROWS]:
        text.append("  " + _("line {line}").format(line=line) + "  ", style="bold")
        text.append(why + "\n")
    hidden = count - min(len(rows), SHOWN_ROWS)
    if hidden > 0:
        more = ngettext("  … and {count} more", "  … and {count} more", hidden)
        text.append(more.format(count=format_number(hidden)) + "\n")


def default_report_path(source: Path, now: dt.datetime | None = None) -> Path:
    """Beside the file, so the rejected rows are fixed and re-imported from where it is."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return source.with_name(f"{source.stem}.rejected-{stamp}.csv")


def report_problem(path: Path) -> str:
    """Why the rejected-rows report cannot be written there, or ""."""
    if path.exists() or path.is_symlink():
        return _("{path} already exists; choose another path").format(path=path)
    if not path.parent.is_dir():
        return _("the folder {folder} does not exist").format(folder=path.parent)
    if not os.access(path.parent, os.W_OK):
        return _("the folder {folder} cannot be written to").format(folder=path.parent)
    return ""


class ImportScreen(TranslatedBindings, Screen[None]):
    """File, columns, dry run, run; Esc goes one step back (and closes from the first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="import.back"),
        Binding("ctrl+n", "read_file", N_("Columns"), id="import.read"),
        Binding("ctrl+r", "dry_run", N_("Dry run"), id="import.dry_run"),
        Binding("ctrl+s", "run_import", N_("Import"), id="import.run"),
        Binding("ctrl+l", "past_runs", N_("Past runs"), id="import.runs"),
    ]

    DEFAULT_CSS = """
    ImportScreen .step-title { background: $boost; padding: 0 1; text-style: bold; }
    ImportScreen ContentSwitcher { height: 1fr; }
    ImportScreen VerticalScroll { height: 1fr; padding: 0 1; }
    ImportScreen .field-label { margin-top: 1; }
    ImportScreen .error { color: $error; text-style: bold; }
    ImportScreen #columns { height: auto; }
    ImportScreen .hint { color: $text-muted; }
    ImportScreen .column { height: 1; }
    ImportScreen .column-name { width: 30; }
    ImportScreen .column Select { width: 1fr; }
    ImportScreen .choice { height: 1; margin-top: 1; }
    ImportScreen .choice Label { width: 22; }
    ImportScreen .choice Select { width: 1fr; }
    ImportScreen Input { margin: 0; }
    ImportScreen #date-box { height: auto; }
    ImportScreen JobProgress { margin: 0 1; }
    ImportScreen JobProgress ProgressBar { width: 20; }
    /* Compact fields have no border: the focused row's name shows reversed, with NO_COLOR too. */
    ImportScreen .-current .column-name, ImportScreen .-current Label { text-style: reverse; }
    ImportScreen Select:focus > SelectCurrent { text-style: bold; }
    ImportScreen Input.-textual-compact:focus { text-style: underline; }
    """

    def __init__(self, service: Service, path: str = "") -> None:
        super().__init__()
        self.service = service
        self.initial_path = path
        self.path: Path | None = None
        self.preview: FilePreview | None = None
        self.column_keys: list[str] = []
        self.dates: dict[str, str] = {}
        self.dry: ImportSummary | None = None
        self.dry_options: ImportOptions | None = None
        self.summary: ImportSummary | None = None
        self.busy = False

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="step-file"):
            with Vertical(id="step-file"):
                yield Static(_("Import customers · 1 of 4: the file"), classes="step-title")
                with VerticalScroll():
                    yield Label(_("File (CSV or XLSX)"), classes="field-label")
                    yield Input(
                        self.initial_path,
                        placeholder=_("path of the file, e.g. ~/customers.csv"),
                        id="path",
                    )
                    yield Static("", id="path-error", classes="error", markup=False)
                    yield from _choice(
                        _("Encoding"),
                        Select(
                            [(_("auto"), AUTO), ("UTF-8", "utf-8"), ("GB18030 / GBK", "gb18030")],
                            value=AUTO,
                            allow_blank=False,
                            compact=True,
                            id="encoding",
                        ),
                    )
                    yield from _choice(
                        _("Delimiter"),
                        Select(
                            [
                                (_("auto"), AUTO),
                                (_("comma ,"), ","),
                                (_("semicolon ;"), ";"),
                                (_("tab"), "\t"),
                                (_("bar |"), "|"),
                            ],
                            value=AUTO,
                            allow_blank=False,
                            compact=True,
                            id="delimiter",
                        ),
                    )
                    yield from _choice(
                        _("Saved mapping"),
                        Select(
                            [(_("none: match the headers"), IGNORE)],
                            value=IGNORE,
                            allow_blank=False,
                            compact=True,
                            id="saved-mapping",
                        ),
                    )
                    yield Static("", id="mapping-load-error", classes="error", markup=False)
                    yield Label(_("Sheet (XLSX only; empty: the first)"), classes="field-label")
                    yield Input(placeholder=_("sheet name"), id="sheet", compact=True)
                    yield Static("", id="sheet-error", classes="error", markup=False)
                    yield Static(
                        _("Enter or ctrl+n reads the file and shows its columns."),
                        classes="hint field-label",
                    )
            with Vertical(id="step-columns"):
                yield Static(
                    _("Import customers · 2 of 4: columns and choices"), classes="step-title"
                )
                with VerticalScroll():
                    yield Static("", id="file-info", markup=False)
                    yield Vertical(id="columns")
                    yield Static("", id="unknown-note", classes="hint", markup=False)
                    yield Static("", id="mapping-error", classes="error", markup=False)
                    with Vertical(id="date-box"):
                        yield from _choice(
                            _("Date format"),
                            Select(
                                [
                                    (_("as the file shows"), AUTO),
                                    ("YYYY-MM-DD", "ymd"),
                                    ("DD/MM/YYYY", "dmy"),
                                    ("MM/DD/YYYY", "mdy"),
                                ],
                                value=AUTO,
                                allow_blank=False,
                                compact=True,
                                id="date-format",
                            ),
                        )
                        yield Static("", id="date-note", markup=False)
                    yield from _choice(
                        _("Duplicates"),
                        Select(
                            [
                                (_("skip: keep the customer as it is"), Strategy.SKIP.value),
                                (_("update: fill in the file's values"), Strategy.UPDATE.value),
                                (_("create: import them anyway"), Strategy.CREATE.value),
                            ],
                            value=Strategy.SKIP.value,
                            allow_blank=False,
                            compact=True,
                            id="strategy",
                        ),
                    )
                    yield from _choice(
                        _("Legal basis"),
                        Select(
                            [(legal_basis_label(b), b.value) for b in LegalBasis],
                            prompt=_("choose one (required)"),
                            compact=True,
                            id="legal-basis",
                        ),
                    )
                    yield Static("", id="legal-error", classes="error", markup=False)
                    yield from _choice(
                        _("Default type"),
                        Select(
                            [
                                (_("none: a column gives it"), IGNORE),
                                *labels.choices("customer_type"),
                            ],
                            value=IGNORE,
                            allow_blank=False,
                            compact=True,
                            id="default-type",
                        ),
                    )
                    yield Label(_("Source (where the file came from)"), classes="field-label")
                    yield Input(
                        placeholder=_("e.g. 2019 trade show list"), id="source", compact=True
                    )
                    yield Label(_("Rejected rows report"), classes="field-label")
                    yield Input(id="report", compact=True)
                    yield Static("", id="report-error", classes="error", markup=False)
                    yield Label(_("Save this mapping as"), classes="field-label")
                    yield Input(
                        placeholder=_("name (Enter saves it)"), id="mapping-name", compact=True
                    )
                    yield Static("", id="save-error", classes="error", markup=False)
                    yield Static(
                        _("ctrl+r: dry run (nothing is written) · Esc: back to the file"),
                        classes="hint field-label",
                    )
            with Vertical(id="step-dry"):
                yield Static(
                    _("Import customers · 3 of 4: dry run, nothing written"),
                    classes="step-title",
                )
                with VerticalScroll():
                    yield Static("", id="dry-result")
                    yield Static(
                        _("ctrl+s: import now · Esc: change the choices"),
                        classes="hint field-label",
                    )
            with Vertical(id="step-run"):
                yield Static(_("Import customers · 4 of 4: the run"), classes="step-title")
                with VerticalScroll():
                    yield Static("", id="run-result")
                    yield Static(
                        _("ctrl+l: past runs (undo) · Esc: close"), classes="hint field-label"
                    )
        yield JobProgress()
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(JobProgress).display = False
        for error in self.query(".error"):
            error.display = False
        self.query_one("#path", Input).focus()
        self._load_mappings()

    @work(thread=True, group="import.mappings")
    def _load_mappings(self) -> None:
        try:
            names = [name for name, _by, _at in self.service.imports.mappings()]
        except IMPORT_ERRORS:
            return
        self.app.call_from_thread(self._show_mappings, names)

    def _show_mappings(self, names: list[str]) -> None:
        select = self.query_one("#saved-mapping", Select)
        # A name is text someone typed: shown as typed, never read as markup.
        select.set_options([(_("none: match the headers"), IGNORE), *((Text(n), n) for n in names)])
        select.value = IGNORE

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        for row in self.query(".column, .choice"):
            row.set_class(row is event.widget.parent, "-current")

    def _say(self, selector: str, message: str) -> None:
        """A problem (or none) next to the field it is about; the text is shown as it is."""
        shown = self.query_one(selector, Static)
        shown.update(Text(message))
        shown.display = bool(message)
        if message:
            shown.scroll_visible()

    @property
    def step(self) -> str:
        return str(self.query_one(ContentSwitcher).current)

    def _go(self, step: str) -> None:
        self.query_one(ContentSwitcher).current = step
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "read_file":
            return self.step == "step-file" and not self.busy
        if action == "dry_run":
            return self.step == "step-columns" and not self.busy
        if action == "run_import":
            return self.step == "step-dry" and self.dry is not None and not self.busy
        if action == "back":
            return not self.busy
        return True

    def action_back(self) -> None:
        step = self.step
        if step == "step-file" or step == "step-run":
            self.dismiss(None)
        elif step == "step-columns":
            self._go("step-file")
            self.query_one("#path", Input).focus()
        else:
            self._go("step-columns")
            self.query_one("#legal-basis", Select).focus()

    def action_past_runs(self) -> None:
        self.app.open_import_runs(self.path)  # type: ignore[attr-defined]

    # --- progress -------------------------------------------------------------------------

    def _started(self, message: str) -> None:
        self.busy = True
        bar = self.query_one(JobProgress)
        bar.display = True
        bar.report(0.0, message)
        self.refresh_bindings()

    def _stopped(self) -> None:
        self.busy = False
        self.query_one(JobProgress).display = False
        self.refresh_bindings()

    def _progress(self) -> Callable[[ImportProgress], None]:
        bar = self.query_one(JobProgress)

        def show(progress: ImportProgress) -> None:
            self.app.call_from_thread(bar.report, *progress.described())

        return show

    # --- step 1: the file -------------------------------------------------------------------

    @on(Input.Submitted, "#path")
    @on(Input.Submitted, "#sheet")
    def _path_submitted(self) -> None:
        self.action_read_file()

    def action_read_file(self) -> None:
        text = self.query_one("#path", Input).value.strip()
        for selector in ("#path-error", "#mapping-load-error", "#sheet-error"):
            self._say(selector, "")
        if not text:
            self._file_error(_("Type the path of a CSV or XLSX file."))
            return
        self.path = Path(text).expanduser()
        self._started(_("Reading {file}…").format(file=shown(self.path.name)))
        self._read(self.path, self._reading_options(), self._saved_mapping_name())

    def _saved_mapping_name(self) -> str:
        value = self.query_one("#saved-mapping", Select).value
        return value if isinstance(value, str) else ""

    def _reading_options(self, mapping: dict[str, str] | None = None) -> ImportOptions:
        """How to read the file. The legal basis is asked for before a dry run, not to
        read headers; the first one stands in until then."""
        encoding = self.query_one("#encoding", Select).value
        delimiter = self.query_one("#delimiter", Select).value
        return ImportOptions(
            legal_basis=LegalBasis.CONSENT,
            mapping=mapping or {},
            encoding=None if encoding == AUTO else str(encoding),
            delimiter=None if delimiter == AUTO else str(delimiter),
            sheet=self.query_one("#sheet", Input).value.strip() or None,
        )

    @work(thread=True, exclusive=True, group="import.read")
    def _read(self, path: Path, options: ImportOptions, mapping_name: str) -> None:
        try:
            mapping = self.service.imports.load_mapping(mapping_name) if mapping_name else {}
        except IMPORT_ERRORS as exc:
            self.app.call_from_thread(self._file_error, str(exc), "#mapping-load-error")
            return
        try:
            options = dataclasses.replace(options, mapping=mapping)
            preview = self.service.imports.preview(path, options)
            dates = self.service.imports.scan_dates(path, options)
        except SheetNotFoundError as exc:
            self.app.call_from_thread(self._file_error, str(exc), "#sheet-error")
            return
        except IMPORT_ERRORS as exc:
            where = "#mapping-load-error" if mapping and "mapping" in str(exc) else "#path-error"
            self.app.call_from_thread(self._file_error, str(exc), where)
            return
        self.app.call_from_thread(self._show_columns, preview, dates)

    def _file_error(self, message: str, where: str = "#path-error") -> None:
        self._stopped()
        self._say(where, message)
        fields = {"#sheet-error": "#sheet", "#mapping-load-error": "#saved-mapping"}
        self.query_one(fields.get(where, "#path")).focus()  # the field the problem is with

    # --- step 2: columns and choices --------------------------------------------------------

    async def _show_columns(self, preview: FilePreview, dates: dict[str, str]) -> None:
        self._stopped()
        self.preview = preview
        self.column_keys = list(preview.mapping.as_saved())
        source = preview.source
        if source.kind == "csv":
            delimiter = {"\t": _("tab")}.get(source.delimiter, source.delimiter)
            shape = _("{file}: CSV, {encoding}, delimiter {delimiter}, header on line {line}")
            info = shape.format(
                file=shown(source.path.name),
                encoding=source.encoding,
                delimiter=delimiter,
                line=source.header_line,
            )
        else:
            shape = _("{file}: XLSX, sheet {sheet}, header on row {line}")
            info = shape.format(
                file=shown(source.path.name), sheet=shown(source.sheet), line=source.header_line
            )
        self.query_one("#file-info", Static).update(Text(info, style="bold"))
        box = self.query_one("#columns", Vertical)
        await box.remove_children()
        await box.mount_all(self._column_rows(preview))
        self.query_one("#report", Input).value = str(default_report_path(source.path))
        for selector in ("#mapping-error", "#legal-error", "#report-error", "#save-error"):
            self._say(selector, "")
        self._show_unknown()
        self._show_dates(dates)
        self._go("step-columns")
        self.call_after_refresh(self._focus_first_column)

    def _focus_first_column(self) -> None:
        selects = self.query("#columns Select")
        if selects:
            selects.first().focus()

    def _column_rows(self, preview: FilePreview) -> Iterable[Widget]:
        fields = [f for f in FIELD_ORDER if f in IMPORT_FIELDS]
        fields += [f for f in IMPORT_FIELDS if f not in fields]
        choices = [(_("(ignore)"), IGNORE), *((import_field_label(f), f) for f in fields)]
        mapping = preview.mapping
        for index, (header, field) in enumerate(zip(mapping.headers, mapping.fields, strict=True)):
            name = Text(header or f"#{index + 1}", overflow="ellipsis", no_wrap=True)
            yield Horizontal(
                Static(name, classes="column-name"),
                Select(
                    choices,
                    value=field or IGNORE,
                    allow_blank=False,
                    compact=True,
                    id=f"column-{index}",
                    classes="column-field",
                ),
                classes="column",
            )

    def _mapping(self) -> dict[str, str]:
        """Every column's field, as chosen on screen (`""`: ignored)."""
        mapping = {}
        for index, key in enumerate(self.column_keys):
            value = self.query_one(f"#column-{index}", Select).value
            mapping[key] = value if isinstance(value, str) else IGNORE
        return mapping

    @on(Select.Changed, ".column-field")
    def _column_changed(self) -> None:
        if self.preview is None:
            return
        self._show_unknown()
        try:
            checked = suggest_mapping(self.preview.mapping.headers, self._mapping())
        except ImportFileError as exc:
            self._say("#mapping-error", str(exc))
            return
        self._say("#mapping-error", "")
        date_columns = {h for h, f in zip(checked.headers, checked.fields, strict=True)
                        if f in DATE_FIELDS}  # fmt: skip
        if date_columns != set(self.dates) and self.path is not None:
            self._rescan(self.path, self._reading_options(self._mapping()))

    @on(Select.Changed, "#legal-basis")
    def _legal_basis_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._say("#legal-error", "")

    @work(thread=True, exclusive=True, group="import.dates")
    def _rescan(self, path: Path, options: ImportOptions) -> None:
        try:
            dates = self.service.imports.scan_dates(path, options)
        except IMPORT_ERRORS:
            return
        self.app.call_from_thread(self._show_dates, dates)

    def _show_unknown(self) -> None:
        note = self.query_one("#unknown-note", Static)
        if self.preview is None:
            return
        mapping = self._mapping()
        ignored = [key for key, field in mapping.items() if not field]
        text = _("Not imported: {columns}. Choose a field for a column to import it.")
        note.update(Text(text.format(columns=", ".join(ignored))))
        note.display = bool(ignored)

    def _show_dates(self, dates: dict[str, str]) -> None:
        self.dates = dates
        box = self.query_one("#date-box", Vertical)
        box.display = bool(dates)
        lines = Text()
        for header, order in dates.items():
            if order in ("ambiguous", "mixed"):
                why = (
                    _("{column}: dates like 04/05/2021 read both day-first and month-first;"
                      " choose the date format.")
                    if order == "ambiguous"
                    else _("{column}: mixes day-first and month-first dates; choose the date"
                           " format (rows that do not fit it are rejected).")
                )  # fmt: skip
                lines.append(why.format(column=header) + "\n", style="bold")
            elif order:
                shown = {"ymd": "YYYY-MM-DD", "dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}[order]
                lines.append(_("{column}: read as {format}").format(column=header, format=shown))
                lines.append("\n")
        lines.rstrip()
        self.query_one("#date-note", Static).update(lines)

    def _choices(self) -> ImportOptions | None:
        """The run's options from the screen, or None with the problem shown by its field."""
        legal = self.query_one("#legal-basis", Select)
        problem = None
        if not isinstance(legal.value, str):
            self._say(
                "#legal-error",
                _("Choose the grounds on which the data was collected (PIPL art. 13)."),
            )
            problem = legal
        else:
            self._say("#legal-error", "")
        report = self._report_path()
        why = report_problem(report) if report else _("Give a path for the rejected rows.")
        self._say("#report-error", why)
        if why and problem is None:
            problem = self.query_one("#report", Input)
        date_format = self.query_one("#date-format", Select).value
        undeclared = [h for h, order in self.dates.items() if order in ("ambiguous", "mixed")]
        if undeclared and date_format == AUTO and problem is None:
            problem = self.query_one("#date-format", Select)
        if problem is not None:
            problem.focus()
            return None
        default_type = self.query_one("#default-type", Select).value
        return dataclasses.replace(
            self._reading_options(self._mapping()),
            legal_basis=str(legal.value),
            source=self.query_one("#source", Input).value,
            strategy=str(self.query_one("#strategy", Select).value),
            date_format=None if date_format == AUTO else str(date_format),
            default_type=str(default_type) if default_type else None,
        )

    def _report_path(self) -> Path | None:
        text = self.query_one("#report", Input).value.strip()
        return Path(text).expanduser() if text else None

    @on(Input.Submitted, "#mapping-name")
    def _save_mapping(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        try:
            self.service.imports.save_mapping(name, self._mapping())
        except IMPORT_ERRORS as exc:
            self._say("#save-error", str(exc))
            return
        self._say("#save-error", "")
        self.notify(_("Mapping {name} saved.").format(name=name), markup=False)

    # --- step 3: dry run --------------------------------------------------------------------

    def action_dry_run(self) -> None:
        if self.path is None or self.preview is None:
            return
        options = self._choices()
        if options is None:
            return
        self._started(_("Dry run of {file}…").format(file=shown(self.path.name)))
        self._dry_run(self.path, options)

    @work(thread=True, exclusive=True, group="import.dry")
    def _dry_run(self, path: Path, options: ImportOptions) -> None:
        try:
            summary = self.service.imports.run(
                path, options, dry_run=True, progress=self._progress()
            )
        except IMPORT_ERRORS as exc:
            self.app.call_from_thread(self._columns_error, str(exc))
            return
        self.app.call_from_thread(self._show_dry, summary, options)

    def _columns_error(self, message: str) -> None:
        self._stopped()
        self._say("#mapping-error", message)

    def _show_dry(self, summary: ImportSummary, options: ImportOptions) -> None:
        self._stopped()
        self._say("#mapping-error", "")
        self.dry, self.dry_options = summary, options
        self.query_one("#dry-result", Static).update(summary_text(summary))
        self._go("step-dry")
        self.query_one("#step-dry VerticalScroll").focus()

    # --- step 4: the run --------------------------------------------------------------------

    def action_run_import(self) -> None:
        if self.path is None or self.dry is None or self.dry_options is None:
            return
        report = self._report_path() if self.dry.rejected else None
        name = self.query_one("#mapping-name", Input).value.strip()
        self._started(_("Importing {file}…").format(file=shown(self.path.name)))
        self._run(self.path, self.dry_options, report, name)

    @work(thread=True, exclusive=True, group="import.run")
    def _run(
        self, path: Path, options: ImportOptions, report: Path | None, mapping_name: str
    ) -> None:
        try:
            if mapping_name:
                self.service.imports.save_mapping(mapping_name, dict(options.mapping))
            summary = self.service.imports.run(
                path, options, report_path=report, progress=self._progress()
            )
        except IMPORT_ERRORS as exc:
            self.app.call_from_thread(self._run_error, str(exc))
            return
        self.app.call_from_thread(self._show_summary, summary)

    def _run_error(self, message: str) -> None:
        self._stopped()
        shown = Text(message + "\n\n", style="bold")
        if self.dry is not None:
            shown.append_text(summary_text(self.dry))
        self.query_one("#dry-result", Static).update(shown)

    def _show_summary(self, summary: ImportSummary) -> None:
        self._stopped()
        self.summary = summary
        self.dry = None
        self.query_one("#run-result", Static).update(summary_text(summary))
        self._go("step-run")
        self.query_one("#step-run VerticalScroll").focus()
        self.app.notify(_("Import run {run} finished.").format(run=summary.run_id), markup=False)


def _choice(title: str, select: Select[Any]) -> Iterable[Widget]:
    yield Horizontal(Label(title), select, classes="choice")
