"""Dates, numbers, money and percentages as the active language writes them (Babel).

These are for reading: lists, reports, the detail screen, the CLI. What an operator types
stays ISO `YYYY-MM-DD` in both languages (`validation.parse_date` reads only that), and
what is stored never depends on the language.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from babel import dates, lists, numbers
from rich.cells import cell_len, set_cell_size
from rich.text import Text

from . import active_locale

DateStyle = Literal["short", "medium", "long", "full"]


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value[:10])


def format_date(value: dt.date | str | None, style: DateStyle = "medium") -> str:
    """`2026年11月23日` in Chinese, `Nov 23, 2026` in English; empty for no date."""
    if not value:
        return ""
    return dates.format_date(_as_date(value), style, locale=active_locale())


def format_datetime(value: dt.datetime | str | None, *, seconds: bool = False) -> str:
    """The date as `format_date` writes it, then a 24-hour time: `2026年11月23日 14:05`."""
    if not value:
        return ""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    time = dates.format_time(moment, "HH:mm:ss" if seconds else "HH:mm", locale=active_locale())
    return f"{format_date(moment)} {time}"


def format_number(value: int | float | Decimal) -> str:
    """`1,234,567` (both languages group by thousands with commas)."""
    return numbers.format_decimal(value, locale=active_locale())


def format_money(cents: int | None, currency: str = "CNY") -> str:
    """`¥1,234.50` from 123450 cents. Yuan are written `¥` in both languages (Babel's
    English would say `CN¥`); other currencies as the locale writes them."""
    if cents is None:
        return ""
    amount = Decimal(cents) / 100
    if currency == "CNY":
        return numbers.format_decimal(amount, "¥#,##0.00", locale=active_locale())
    return numbers.format_currency(amount, currency, locale=active_locale())


def format_percent(fraction: float, digits: int = 1) -> str:
    """`12.5%` from 0.125, with `digits` decimals."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return numbers.format_percent(fraction, pattern, locale=active_locale())


def format_list(items: list[str]) -> str:
    """`phone and email` / `电话和邮箱`: the items joined as the language lists them."""
    return lists.format_list(items, locale=active_locale()) if items else ""


def pad(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded to `width` terminal cells: a CJK character takes two, so
    `f"{text:<10}"` would leave Chinese columns ragged."""
    fill = " " * max(0, width - cell_len(text))
    return fill + text if right else text + fill


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` terminal cells: padded, or cut with `…` when longer (never
    half a CJK character), so a column after it stays put."""
    if cell_len(text) <= width:
        return pad(text, width)
    # rstrip: where half a double-width character would be left, no gap before the …
    return pad(set_cell_size(text, width - 1).rstrip() + "…", width)


def fit_text(text: Text, width: int) -> None:
    """Cut a styled `text` to at most `width` cells in place, ending in `…` when cut, as
    `fit` does: Rich's own ellipsis leaves a gap where half a CJK character would be."""
    if text.cell_len <= width:
        return
    text.truncate(width, overflow="ellipsis")
    if text.plain.endswith(" …"):
        text.right_crop(2)
        text.rstrip()
        text.append("…")
