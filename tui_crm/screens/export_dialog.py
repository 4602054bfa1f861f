"""Export this view: the customer list as it is filtered now, to a CSV or XLSX file.

The file name defaults to a timestamped one in the user's documents folder (else home);
the reveal box is only there for roles that may reveal. The export runs in a worker with
a progress bar; a refusal (folder missing, file exists, symlink) is shown under the file
field and nothing is written. The dialog closes with the result, for the list to announce.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar

import platformdirs
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, ProgressBar, RadioButton, RadioSet, Static

from ..export import ExportError, ExportResult, ExportTargetExists
from ..i18n import N_, _
from ..listing import CustomerQuery
from ..service import Service, ServiceError
from ..widgets.translated_bindings import TranslatedBindings

FORMATS = ("csv", "xlsx")


def default_path(fmt: str = "csv", now: dt.datetime | None = None) -> Path:
    """`customers-YYYYMMDD-HHMMSS.csv` in the documents folder if there is one, else home."""
    documents = Path(platformdirs.user_documents_dir())
    folder = documents if documents.is_dir() else Path.home()
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return folder / f"customers-{stamp}.{fmt}"


class ExportDialog(TranslatedBindings, ModalScreen[ExportResult | None]):
    """Where to, which format, masked or revealed; then the export with its progress."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", N_("Export"), id="export.run"),
        Binding("escape", "cancel", N_("Cancel"), id="export.cancel"),
    ]
    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ExportDialog #export-what { margin-bottom: 1; }
    ExportDialog #export-path { width: 1fr; }
    ExportDialog #export-path-error { color: $error; height: auto; }
    ExportDialog #export-format-row { height: 1; margin-bottom: 1; }
    ExportDialog #export-format-row Label { padding: 0 1 0 0; }
    ExportDialog #export-format {
        layout: horizontal; height: 1; width: auto; border: none; padding: 0;
    }
    ExportDialog #export-format:focus { border: none; }
    ExportDialog #export-format RadioButton { width: auto; margin-right: 2; }
    ExportDialog #export-progress { margin-top: 1; }
    ExportDialog .export-keys { color: $text-muted; }
    """

    def __init__(self, service: Service, query: CustomerQuery, what: Text) -> None:
        super().__init__()
        self.service = service
        self.query_to_export = query
        self.what = what
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.what, id="export-what")
            yield Label(_("File"))
            yield Input(str(default_path()), id="export-path")
            yield Static("", id="export-path-error")
            with Horizontal(id="export-format-row"):
                yield Label(_("Format"))
                with RadioSet(id="export-format"):
                    yield RadioButton("CSV", value=True, id="format-csv")
                    yield RadioButton("XLSX", id="format-xlsx")
            if self.service.exports.may_reveal():
                yield Checkbox(
                    _("Reveal phones, emails, ID numbers and addresses (audited)"),
                    id="export-reveal",
                )
            yield ProgressBar(id="export-progress", show_eta=False)
            yield Static(_("ctrl+s export    Esc cancel"), classes="export-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#export-progress", ProgressBar).display = False
        self.query_one("#export-path", Input).focus()

    @property
    def fmt(self) -> str:
        pressed = self.query_one("#export-format", RadioSet).pressed_index
        return FORMATS[max(pressed, 0)]

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self) -> None:
        """The file name follows the format while it still ends in the other one."""
        field = self.query_one("#export-path", Input)
        path = Path(field.value.strip())
        if path.suffix.lower().lstrip(".") in FORMATS:
            field.value = str(path.with_suffix(f".{self.fmt}"))

    @on(Input.Submitted, "#export-path")
    def _submitted(self) -> None:
        self.action_export()

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(None)

    def action_export(self) -> None:
        if self.running:
            return
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self._error(_("Name the file to write."))
            return
        reveal = (
            bool(self.query("#export-reveal")) and self.query_one("#export-reveal", Checkbox).value
        )
        self.running = True
        self._error("")
        for widget in self.query("Input, RadioSet, Checkbox"):
            widget.disabled = True
        self.query_one("#export-progress", ProgressBar).display = True
        self._run(Path(text).expanduser(), self.fmt, reveal)

    @work(thread=True, exclusive=True, group="export")
    def _run(self, out: Path, fmt: str, reveal: bool) -> None:
        try:
            result = self.service.exports.customers(
                self.query_to_export,
                out,
                fmt=fmt,
                reveal=reveal,
                progress=lambda done, total: self.app.call_from_thread(self._progress, done, total),
            )
        except ExportTargetExists:
            message = _("{path} already exists; choose another path").format(path=out)
            self.app.call_from_thread(self._failed, message)
            return
        except (ExportError, ServiceError, OSError) as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.dismiss, result)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#export-progress", ProgressBar).update(total=max(total, 1), progress=done)

    def _failed(self, message: str) -> None:
        self.running = False
        for widget in self.query("Input, RadioSet, Checkbox"):
            widget.disabled = False
        self.query_one("#export-progress", ProgressBar).display = False
        self._error(message)
        self.query_one("#export-path", Input).focus()

    def _error(self, message: str) -> None:
        self.query_one("#export-path-error", Static).update(Text(message))
