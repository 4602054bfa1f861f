"""A progress bar with a one-line status, for long admin jobs running in workers."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from ..i18n import _


class JobLeft(Exception):
    """Raised from a job's progress callback once its screen is gone: a thread cannot be
    stopped from outside, so the job stops itself at its next step."""


class JobProgress(Horizontal):
    """Shows how far a job is and what it is doing; messages are plain text."""

    DEFAULT_CSS = """
    JobProgress { height: 1; }
    JobProgress ProgressBar { width: auto; }
    JobProgress .job-status { width: 1fr; margin-left: 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=100, show_eta=False)
        yield Static(Text(_("Idle.")), classes="job-status")

    def report(self, fraction: float, message: str) -> None:
        self.query_one(ProgressBar).update(progress=round(100 * max(0.0, min(1.0, fraction))))
        self.query_one(".job-status", Static).update(Text(message))
