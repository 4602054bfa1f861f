"""A customer's follow-ups and interactions, newest first, paged in as the operator scrolls.

A Line-API widget: only the visible lines are rendered and entries are fetched a page at a
time, so a customer with thousands of entries opens as fast as one with three.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .. import validation as v
from ..i18n import N_, _
from ..i18n.formats import fit_text, format_money
from ..labels import label
from ..service import Service, TimelineEntry

PAGE = 60
LINES_PER_ENTRY = 2


def entry_lines(entry: TimelineEntry, overdue: bool) -> tuple[Text, Text]:
    """The two lines shown for one entry; customer text is appended as plain text only."""
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(entry.at[:16].replace("T", " "), "bold")
    head.append("  ")
    followup = entry.source == "followup"
    kind = label("channel" if followup else "interaction_kind", entry.kind)
    head.append(v.clean_text(kind).upper(), "cyan" if followup else "magenta")
    head.append("  ")
    head.append(v.clean_text(entry.staff) or "—", "dim")
    if entry.result:
        head.append("  → ")
        head.append(v.clean_text(label("followup_result", entry.result)), "green")
    if entry.amount_cents is not None:
        head.append("  ")
        head.append(format_money(entry.amount_cents), "bold yellow")
    if entry.next_followup_date:
        head.append("  " + _("next") + " ")
        late = " " + _("OVERDUE") if overdue else ""
        head.append(entry.next_followup_date + late, "bold white on red" if overdue else "bold")
    body = Text("  ", no_wrap=True, overflow="ellipsis")
    body.append(v.clean_text(entry.content.replace("\n", " ⏎ ")))
    return head, body


class Timeline(ScrollView, can_focus=True):
    """Follow-ups and interactions merged; `set_kinds` filters; the cursor row is highlighted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", N_("Up"), show=False, system=True, id="timeline.up"),
        Binding("down", "move(1)", N_("Down"), show=False, system=True, id="timeline.down"),
        Binding(
            "pageup", "page(-1)", N_("Page up"), show=False, system=True, id="timeline.page_up"
        ),
        Binding(
            "pagedown", "page(1)", N_("Page down"), show=False, system=True, id="timeline.page_down"
        ),
        Binding("home", "first", N_("First"), show=False, system=True, id="timeline.first"),
        Binding("end", "last", N_("Last"), show=False, system=True, id="timeline.last"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"timeline--cursor"}

    DEFAULT_CSS = """
    Timeline { overflow-x: hidden; border: round $panel; }
    Timeline:focus { border: round $accent; }
    Timeline > .timeline--cursor { background: $block-cursor-background; }
    """

    cursor: reactive[int] = reactive(0)

    def __init__(
        self,
        service: Service,
        customer_id: int,
        *,
        pending_plan: str | None = None,
        today: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.service = service
        self.customer_id = customer_id
        self.pending_plan = (pending_plan or "")[:10]
        self.today = today or dt.date.today().isoformat()
        self.kinds: tuple[str, ...] = ()
        self.entries: list[TimelineEntry] = []
        self.exhausted = False
        self._strips: dict[int, Strip] = {}

    def on_mount(self) -> None:
        self.border_title = _("Timeline")
        self.reload()

    def reload(self, pending_plan: str | None = None) -> None:
        """Start over from the newest entry (after a save or a filter change)."""
        if pending_plan is not None:
            self.pending_plan = pending_plan[:10]
        self.entries = []
        self.exhausted = False
        self.cursor = 0
        self.load_more()
        self.scroll_to(y=0, animate=False)

    def set_kinds(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        self.reload()

    def load_more(self) -> None:
        if self.exhausted:
            return
        last = self.entries[-1] if self.entries else None
        page = self.service.activity.timeline(
            self.customer_id,
            limit=PAGE,
            kinds=self.kinds,
            after=(last.at, last.source, last.id) if last else None,
        )
        self.entries.extend(page)
        self.exhausted = len(page) < PAGE
        self._update_size()

    def _update_size(self) -> None:
        rows = max(1, len(self.entries)) * LINES_PER_ENTRY
        self._strips.clear()
        self.virtual_size = Size(self.size.width, rows)
        self.refresh()

    def on_resize(self) -> None:
        self._update_size()

    def is_overdue(self, entry: TimelineEntry) -> bool:
        plan = entry.next_followup_date
        return bool(plan) and plan == self.pending_plan and plan < self.today

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        index = row // LINES_PER_ENTRY
        if self.entries and index >= len(self.entries) - PAGE // 2 and not self.exhausted:
            self.call_later(self.load_more)
        strip = self._strips.get(row)
        if strip is None:
            strip = self._strips[row] = self._render_row(row)
        if index == self.cursor and self.entries:
            highlight = self.get_component_rich_style("timeline--cursor")
            strip = strip.apply_style(highlight if self.has_focus else Style(bgcolor="grey23"))
        return strip

    def _render_row(self, row: int) -> Strip:
        """One line of the list, cached until entries are loaded or the width changes."""
        width = self.size.width
        base = self.rich_style
        index = row // LINES_PER_ENTRY
        if not self.entries:
            text = Text(_("No follow-ups or interactions yet.") if row == 0 else "", "dim")
        elif index >= len(self.entries):
            return Strip.blank(width, base)
        else:
            entry = self.entries[index]
            text = entry_lines(entry, self.is_overdue(entry))[row % LINES_PER_ENTRY]
            fit_text(text, width)
        # Every segment carries the widget's style: a segment of unstyled text would otherwise
        # have none, drawn in the terminal's colours and fatal to Textual's NO_COLOR filter.
        segments = Segment.apply_style(text.render(self.app.console), base)
        return Strip(segments).crop_extend(0, width, base)

    def watch_cursor(self, old: int, new: int) -> None:
        for index in (old, new):
            top = index * LINES_PER_ENTRY - self.scroll_offset.y
            self.refresh_lines(top, LINES_PER_ENTRY)
        top = new * LINES_PER_ENTRY
        self.scroll_to_region_lines(top)

    def scroll_to_region_lines(self, top: int) -> None:
        height = self.scrollable_content_region.height
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False)
        elif top + LINES_PER_ENTRY > self.scroll_y + height:
            self.scroll_to(y=top + LINES_PER_ENTRY - height, animate=False)

    def _move_to(self, index: int) -> None:
        while index >= len(self.entries) - 1 and not self.exhausted:
            self.load_more()
        self.cursor = max(0, min(index, len(self.entries) - 1))

    def action_move(self, step: int) -> None:
        self._move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        per_page = max(1, self.scrollable_content_region.height // LINES_PER_ENTRY)
        self._move_to(self.cursor + direction * per_page)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(1 << 30)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
