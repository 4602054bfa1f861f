"""The language a CLI run speaks: chosen once at start, used by our messages and by
click's own words; help texts translated when they are shown; text tables whose columns
line up whether a cell is Latin or Chinese."""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.cells import cell_len

from ..config import ConfigError, Settings
from ..i18n import DOMAIN, LOCALE_DIR, _, activate, active_language, choose_language
from ..i18n.formats import pad


def cli_language() -> str:
    """config.toml's `[ui] language`, else the locale, else English. A broken config file
    is reported by the command that reads it; here it only leaves the choice to the locale."""
    try:
        configured = Settings.load().language
    except ConfigError:
        configured = ""
    return choose_language(configured=configured)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak `language` for one run: our messages, and click's own ("Usage:", "Error:",
    "Missing option"), which click looks up through the standard library's gettext in the
    default domain, for the languages named by LANGUAGE. Both are put back afterwards."""
    previous_language, previous_env = active_language(), os.environ.get("LANGUAGE")
    previous_domain = gettext.textdomain()
    activate(language)
    gettext.bindtextdomain(DOMAIN, LOCALE_DIR)
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = language
    try:
        yield
    finally:
        gettext.textdomain(previous_domain)
        if previous_env is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = previous_env
        activate(previous_language)


@contextmanager
def _translated_help(items: Iterable[Any]) -> Iterator[None]:
    saved = [(item, item.help) for item in items if getattr(item, "help", None)]
    try:
        for item, text in saved:
            item.help = _(text)
        yield
    finally:
        for item, text in saved:
            item.help = text


class TranslatedHelp(click.Command):
    """Help texts are English messages marked with N_() and translated when shown, so the
    same command tree prints help in whichever language the run speaks."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated_help([self, *self.get_params(ctx)]):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated_help([self]):
            return super().get_short_help_str(limit)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:  # click words it once, in the language of the first run
            option.help = _("Show this message and exit.")
        return option


def table(rows: list[list[str]], right: Iterable[int] = ()) -> list[str]:
    """Rows as aligned text columns, widths measured in terminal cells (CJK takes two)."""
    right = set(right)
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            pad(cell, width, right=i in right)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
