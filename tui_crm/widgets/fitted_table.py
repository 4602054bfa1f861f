"""A table laid out for the width it has, so the text that matters is never scrolled away.

Textual's DataTable sizes every column to its widest cell and scrolls sideways, so at 80
columns the last column (a backup's parent, an audit entry's details, a purge's reason)
showed a few letters. Here each column has a width, a narrower one (or none: left out)
for narrow tables, and the columns without a width share the room the others leave; a
cell longer than its column ends in an ellipsis. A resize lays the table out again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from ..i18n import _

NARROW_BELOW = 100  # a table narrower than this many cells uses the columns' narrow widths
SCROLLBAR = 2


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # an English message marked with N_(), shown translated
    width: int | None = None  # cells; None: a share of the room the fixed columns leave
    narrow: int | None = None  # the width in a narrow table; 0 leaves the column out
    least: int = 12  # the least a shared column gets (and its weight in the sharing)


class FittedTable(DataTable[Text]):
    """Rows are given whole (`show`, `extend`) as {column key: Text}; kept to lay out again."""

    def __init__(self, columns: Sequence[Column], **options: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **options)  # type: ignore[arg-type]
        self.specs = tuple(columns)
        self.kept: list[tuple[str, dict[str, Text]]] = []
        self.layout_widths: tuple[tuple[Column, int], ...] = ()

    def widths_for(self, width: int) -> tuple[tuple[Column, int], ...]:
        """Each shown column with its width in cells, for a table `width` cells wide."""
        narrow = width < NARROW_BELOW
        shown: list[tuple[Column, int | None]] = []
        for column in self.specs:
            fixed = column.narrow if narrow and column.narrow is not None else column.width
            if fixed != 0:
                shown.append((column, fixed))
        padding = 2 * self.cell_padding * len(shown)
        room = width - SCROLLBAR - padding - sum(fixed or 0 for _column, fixed in shown)
        weight = sum(column.least for column, fixed in shown if fixed is None) or 1
        return tuple(
            (
                column,
                fixed if fixed is not None else max(column.least, room * column.least // weight),
            )
            for column, fixed in shown
        )

    def on_mount(self) -> None:
        self._lay_out(self.size.width or self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out(event.size.width)

    def _lay_out(self, width: int) -> None:
        widths = self.widths_for(width)
        if widths == self.layout_widths:
            return
        self.layout_widths = widths
        row = self.cursor_row
        self.clear(columns=True)
        for column, cells in widths:
            self.add_column(Text(_(column.label)), width=cells, key=column.key)
        self._add(self.kept)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))

    def show(self, rows: Iterable[tuple[str, dict[str, Text]]]) -> None:
        """Replace every row: (row key, {column key: cell})."""
        self.kept = list(rows)
        self.clear()
        self._add(self.kept)

    def extend(self, rows: Iterable[tuple[str, dict[str, Text]]]) -> None:
        """Add rows below the others (a next page)."""
        added = list(rows)
        self.kept.extend(added)
        self._add(added)

    def _add(self, rows: Iterable[tuple[str, dict[str, Text]]]) -> None:
        for key, cells in rows:
            self.add_row(
                *(_one_line(cells[column.key]) for column, _width in self.layout_widths), key=key
            )


def _one_line(cell: Text) -> Text:
    """Cut at the column's edge with an ellipsis (unless the cell asks to be cropped)."""
    cell.no_wrap = True
    if cell.overflow is None:
        cell.overflow = "ellipsis"
    return cell
