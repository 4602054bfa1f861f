"""The virtual customer table: renders only the visible rows of a keyset-paged list.

It holds a bounded window of rows (a few pages) around the cursor and fetches the next or
previous page by keyset when the cursor nears an edge, dropping pages at the other end,
so memory and the cost of every keystroke stay the same at 1k and at 1M customers.
Nothing here knows the total: Home and End fetch the first or last page directly.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..crypto import mask_phone
from ..i18n import N_, _, active_language, pgettext
from ..labels import label
from ..listing import SortKey, is_overdue
from ..service import CustomerRow
from .terminal_text import terminal_safe

Fetch = Callable[[SortKey | None, int, bool], list[CustomerRow]]
PAGE = 100
WINDOW = 4 * PAGE
OVERDUE_MARK = "!"  # after an overdue plan's date: seen without colour too


def _tier_marks() -> dict[str, str]:
    return {
        "high": pgettext("value tier mark", "H"),
        "medium": pgettext("value tier mark", "M"),
        "low": pgettext("value tier mark", "L"),
        "none": "–",
    }


def value_mark(row: CustomerRow) -> str:
    """The tier as one letter (blank before tiers are scored), `!` when at risk of churning."""
    return _tier_marks().get(row.value_tier or "", " ") + ("!" if row.churn_risk else "")


# The widest masked phone: `mask_phone` keeps at most "+", 3 leading and 4 trailing digits.
PHONE_WIDTH = cell_len(mask_phone("+" + "9" * 15))
# The name column keeps at least this many cells before any other column grows.
NAME_COMFORT = 24


@dataclass(frozen=True)
class Column:
    title: str  # English; drawn as `heading()`
    width: int  # 0: takes the width left over; else at least the translated title's cells
    keep: int  # the narrowest screen width at which the column is shown
    value: Callable[[CustomerRow], str]
    grow: int = 0  # extra cells taken when the name column can spare them

    def heading(self) -> str:
        """The title in the active language."""
        return _headings().get(self.title, self.title)


def _headings() -> dict[str, str]:
    return {
        "Code": _("Code"),
        "Name": _("Name"),
        "Contact": pgettext("customer list", "Contact"),
        "Phone": _("Phone"),
        "Type": _("Type"),
        "V": pgettext("customer list", "V"),
        "Ind": pgettext("customer list", "Ind"),
        "Owner": _("Owner"),
        "Last contact": _("Last contact"),
        "Next f/u": _("Next f/u"),
    }


# The plan's date; an overdue one is marked (width: the date and `OVERDUE_MARK`).
NEXT_FOLLOWUP = Column("Next f/u", 11, 0, lambda r: (r.next_followup_at or "")[:10])
COLUMNS = (
    Column("Code", 11, 0, lambda r: r.code),
    Column("Name", 0, 0, lambda r: r.name),
    Column("Contact", 10, 0, lambda r: r.contact_name, grow=4),
    Column("Phone", PHONE_WIDTH, 0, lambda r: r.phone),
    Column("Type", 8, 0, lambda r: label("customer_type", r.customer_type)),
    Column("V", 2, 110, value_mark),
    Column("Ind", 3, 110, lambda r: r.industry),
    Column("Owner", 8, 100, lambda r: r.owner),
    Column("Last contact", 12, 90, lambda r: (r.last_interaction_at or "")[:10]),
    NEXT_FOLLOWUP,
)


def plain(text: str) -> str:
    """Customer text made safe to write to a terminal cell by cell, at the width every
    terminal draws it."""
    return terminal_safe(text)


def layout(width: int) -> tuple[tuple[Column, int], ...]:
    """The columns shown at `width` and their widths, in the active language."""
    return _layout(width, active_language())


@functools.lru_cache(maxsize=8)
def _layout(width: int, language: str) -> tuple[tuple[Column, int], ...]:
    """The name takes what is left. A fixed column is at least as wide as its title (a
    Chinese title may be wider than the English one). Columns with `grow` widen only while
    the name column keeps `NAME_COMFORT` cells."""
    shown = [c for c in COLUMNS if width >= c.keep]
    widths = {c: max(c.width, cell_len(c.heading())) if c.width else 0 for c in shown}
    fixed = sum(widths.values()) + len(shown) - 1
    grows = sum(c.grow for c in shown)
    grown = width - fixed - grows >= NAME_COMFORT
    if grown:
        fixed += grows
    return tuple((c, widths[c] + (c.grow if grown else 0) or max(8, width - fixed)) for c in shown)


class CustomerTable(ScrollView, can_focus=True):
    """A keyboard-driven window onto the customer list."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "customer-table--header",
        "customer-table--cursor",
        "customer-table--empty",
        "customer-table--overdue",
    }
    DEFAULT_CSS = """
    CustomerTable {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    CustomerTable > .customer-table--header { text-style: bold underline; }
    CustomerTable > .customer-table--cursor {
        background: $block-cursor-blurred-background;
        text-style: bold;
    }
    CustomerTable:focus > .customer-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold reverse;
    }
    CustomerTable > .customer-table--empty { color: $text-muted; text-style: italic; }
    CustomerTable > .customer-table--overdue { color: $text-error; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", N_("Down"), show=False, system=True, id="list.down"),
        Binding("up,k", "cursor_up", N_("Up"), show=False, system=True, id="list.up"),
        Binding(
            "pagedown", "page_down", N_("Page down"), show=False, system=True, id="list.page_down"
        ),
        Binding("pageup", "page_up", N_("Page up"), show=False, system=True, id="list.page_up"),
        Binding("home", "first", N_("First"), show=False, system=True, id="list.first"),
        Binding("end,G", "last", N_("Last"), show=False, system=True, id="list.last"),
        Binding("enter", "open", N_("Open"), id="list.open"),
    ]

    class Opened(Message):
        """The operator asked to open the customer under the cursor."""

        def __init__(self, customer_id: int) -> None:
            super().__init__()
            self.customer_id = customer_id

    def __init__(
        self, fetch: Fetch, *, today: dt.date | None = None, id: str | None = None
    ) -> None:
        """`today` fixes the day plans are overdue against (tests); else the clock's."""
        super().__init__(id=id)
        self.fetch = fetch
        self.fixed_today = today
        self.rows: list[CustomerRow] = []
        self.cursor = 0
        self.at_start = True
        self.at_end = True
        self.empty_message = _("Loading…")

    # --- data -------------------------------------------------------------------------------

    @property
    def today(self) -> str:
        return (self.fixed_today or dt.date.today()).isoformat()

    @property
    def current(self) -> CustomerRow | None:
        return self.rows[self.cursor] if self.rows else None

    def show(self, rows: list[CustomerRow], *, at_end: bool, empty_message: str) -> None:
        """Replace the list with a freshly fetched first page."""
        self.rows = rows
        self.cursor = 0
        self.at_start = True
        self.at_end = at_end
        self.empty_message = empty_message
        self._resized()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def set_fetch(self, fetch: Fetch) -> None:
        self.fetch = fetch

    def reload(self) -> None:
        """Fetch the rows in the window again (a record may have changed), keeping the cursor."""
        if not self.rows:
            return
        keep_id = self.rows[self.cursor].id
        count = len(self.rows)
        before = self.fetch(self.rows[0].key, 1, True)
        anchor = before[0].key if before else None
        self.rows = self.fetch(anchor, count, False)
        self.at_start = anchor is None
        self.at_end = len(self.rows) < count and self.at_end
        ids = [row.id for row in self.rows]
        self._place(ids.index(keep_id) if keep_id in ids else self.cursor, int(self.scroll_y))

    def _extend_forward(self) -> int:
        """Fetch the next page; returns how many rows were dropped from the front."""
        if self.at_end or not self.rows:
            return 0
        more = self.fetch(self.rows[-1].key, PAGE, False)
        self.at_end = len(more) < PAGE
        self.rows.extend(more)
        dropped = max(0, len(self.rows) - WINDOW)
        if dropped:
            del self.rows[:dropped]
            self.at_start = False
        return dropped

    def _extend_backward(self) -> int:
        """Fetch the previous page; returns how many rows were added at the front."""
        if self.at_start or not self.rows:
            return 0
        more = self.fetch(self.rows[0].key, PAGE, True)
        self.at_start = len(more) < PAGE
        self.rows[:0] = more
        dropped = max(0, len(self.rows) - WINDOW)
        if dropped:
            del self.rows[-dropped:]
            self.at_end = False
        return len(more)

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    # --- movement ---------------------------------------------------------------------------

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_by(self, delta: int) -> None:
        """Move the cursor, fetching neighbouring pages when it nears the window's edge."""
        if not self.rows:
            return
        target = self.cursor + delta
        top = int(self.scroll_y)
        shift = 0
        if target >= len(self.rows) - self.page_height:
            shift = -self._extend_forward()
        elif target < self.page_height:
            shift = self._extend_backward()
        target += shift
        top += shift
        self._place(target, top)

    def _place(self, cursor: int, top: int) -> None:
        self.cursor = max(0, min(cursor, len(self.rows) - 1))
        top = min(max(top, self.cursor - self.page_height + 1), self.cursor)
        self._resized()
        self.scroll_to(y=max(0, top), animate=False, immediate=True)
        self.refresh()

    def action_cursor_down(self) -> None:
        self.move_by(1)

    def action_cursor_up(self) -> None:
        self.move_by(-1)

    def action_page_down(self) -> None:
        self.move_by(self.page_height)

    def action_page_up(self) -> None:
        self.move_by(-self.page_height)

    def action_first(self) -> None:
        rows = self.fetch(None, PAGE, False)
        self.show(rows, at_end=len(rows) < PAGE, empty_message=self.empty_message)

    def action_last(self) -> None:
        rows = self.fetch(None, PAGE, True)
        self.rows = rows
        self.at_start = len(rows) < PAGE
        self.at_end = True
        self._place(len(rows) - 1, len(rows) - self.page_height)

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self.current.id))

    # --- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("customer-table--header")
            titles = [column.heading() for column, _width in layout(width)]
            return self._strip(titles, width, base + header)
        index = int(self.scroll_y) + y - 1
        if not self.rows and y == 1:
            muted = base + self.get_component_rich_style("customer-table--empty")
            return Strip([Segment(set_cell_size(self.empty_message, width), muted)], width)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        style = base
        if index == self.cursor:
            style = base + self.get_component_rich_style("customer-table--cursor")
        columns = layout(width)
        values = [c.value(row) for c, _width in columns]
        if not is_overdue(row.next_followup_at, self.today):
            return self._strip(values, width, style)
        late = next(i for i, (c, _width) in enumerate(columns) if c is NEXT_FOLLOWUP)
        values[late] += OVERDUE_MARK
        overdue = style + self.get_component_rich_style("customer-table--overdue")
        return self._strip(values, width, style, {late: overdue})

    @staticmethod
    def _strip(
        values: list[str], width: int, style: Style, styles: dict[int, Style] | None = None
    ) -> Strip:
        """One row of cells; `styles` gives some cells (by column index) a style of their own."""
        cells = [
            set_cell_size(plain(value), size)
            for value, (_column, size) in zip(values, layout(width), strict=True)
        ]
        if not styles:
            text = " ".join(cells)
            text = set_cell_size(text, width) if cell_len(text) != width else text
            return Strip([Segment(text, style)], width)
        segments: list[Segment] = []
        for i, cell in enumerate(cells):
            if segments:
                segments.append(Segment(" ", style))
            segments.append(Segment(cell, styles.get(i, style)))
        return Strip(segments).adjust_cell_length(width, style)
