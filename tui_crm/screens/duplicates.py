"""Duplicate candidates, strongest first, each with why it matched; Enter opens the merge.

The scan reads the whole base (a minute at a million customers), so it runs in a thread
worker with a progress bar; a sales rep sees pairs among their own customers only (the
service scopes it). After a merge the pair, and every other pair that named the record
merged away, leaves the list without a rescan.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from .. import validation as v
from ..i18n import N_, _, ngettext
from ..i18n.formats import fit, format_number
from ..service import Service, ServiceError
from ..service.cleaning import Candidate, MergeResult, ScanOptions, match_reasons
from ..widgets.job_progress import JobLeft, JobProgress
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings
from .merge import MergeScreen

SHOWN = 500  # pairs listed; the title says how many were found in all
REASON_CELLS = 18


def pair_label(candidate: Candidate, width: int) -> Text:
    """One pair on two lines, one per record (code, then the name as plain text): the
    score before the first, why they matched after it; fits `width` cells."""
    reasons = fit(match_reasons(candidate), REASON_CELLS).rstrip()  # last on its line
    name_cells = max(10, width - 8 - 13 - REASON_CELLS - 2)
    text = Text()
    for line, ref in enumerate((candidate.first, candidate.second)):
        text.append(f"{candidate.score:5.1f}  " if line == 0 else " " * 7, "bold")
        text.append(ref.code, "cyan")
        text.append("  ")
        text.append(fit(v.clean_text(ref.name), name_cells))
        if line == 0:
            text.append("  ")
            text.append(reasons, "italic")
            text.append("\n")
    return text


class DuplicatesScreen(TranslatedBindings, Screen[None]):
    """Pairs that may be one customer; Enter compares them side by side to merge."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="duplicates.back"),
        Binding("ctrl+r", "rescan", N_("Rescan"), id="duplicates.rescan"),
    ]

    DEFAULT_CSS = """
    DuplicatesScreen #duplicates-title { padding: 0 1; background: $boost; }
    DuplicatesScreen JobProgress { margin: 0 1; }
    DuplicatesScreen OptionList { height: 1fr; }
    """

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.candidates: list[Candidate] = []
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="duplicates-title", markup=False)
        yield JobProgress()
        yield OptionList(id="duplicates-list")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.action_rescan()

    def on_resize(self, event: events.Resize) -> None:
        if self.candidates:
            self._fill(self.query_one(OptionList).highlighted)

    def action_back(self) -> None:
        self.dismiss()

    def action_rescan(self) -> None:
        self.query_one(JobProgress).display = True
        self.query_one("#duplicates-title", Static).update(_("Looking for duplicates…"))
        self.query_one(OptionList).clear_options()
        self._scan()

    @work(thread=True, exclusive=True, group="duplicates")
    def _scan(self) -> None:
        worker = get_current_worker()

        def progress(fraction: float, message: str) -> None:
            if worker.is_cancelled:
                raise JobLeft
            self.app.call_from_thread(self._progress, fraction, message)

        try:
            found = self.service.cleaning.scan(ScanOptions(limit=SHOWN), progress=progress)
        except JobLeft:
            return
        except ServiceError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, list(found.candidates), found.total)

    def _progress(self, fraction: float, message: str) -> None:
        if self.is_attached:
            self.query_one(JobProgress).report(fraction, message)

    def _show(self, candidates: list[Candidate], total: int) -> None:
        if not self.is_attached:  # closed while scanning
            return
        self.candidates, self.total = candidates, total
        self.query_one(JobProgress).display = False
        self._fill()

    def _fill(self, highlighted: int | None = None) -> None:
        listing = self.query_one(OptionList)
        width = listing.scrollable_content_region.width or self.size.width - 4
        listing.clear_options()
        listing.add_options(
            Option(pair_label(c, width), id=str(i)) for i, c in enumerate(self.candidates)
        )
        if not self.candidates:
            listing.add_option(Option(Text(_("No duplicates found."), "dim"), disabled=True))
        else:
            listing.highlighted = min(highlighted or 0, len(self.candidates) - 1)
        shown = ngettext(
            "{count} pair that may be one customer, strongest first · Enter compares and merges",
            "{count} pairs that may be one customer, strongest first · Enter compares and merges",
            self.total,
        ).format(count=format_number(self.total))
        self.query_one("#duplicates-title", Static).update(shown)

    @on(OptionList.OptionSelected, "#duplicates-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None:
            return
        candidate = self.candidates[int(event.option.id)]
        self.app.push_screen(
            MergeScreen(self.service, candidate.first.id, candidate.second.id),
            lambda result: self._merged(result, event.option_index),
        )

    def _merged(self, result: MergeResult | None, index: int) -> None:
        if result is None:
            return
        gone = result.merged_id
        before = len(self.candidates)
        self.candidates = [c for c in self.candidates if gone not in (c.first.id, c.second.id)]
        self.total = max(0, self.total - (before - len(self.candidates)))
        self._fill(index)
        self.notify(
            _("Merged {merged} into {survivor}.").format(
                merged=result.merged_code, survivor=result.survivor_code
            ),
            markup=False,
        )
