"""The one place words are looked up, and which language they are looked up in.

Messages are English in the code, marked with `_()` (or `ngettext`, `pgettext`, ...) and
translated through gettext catalogs compiled from `locale/<lang>/LC_MESSAGES/tui_crm.po`
(`make i18n` extracts, updates and compiles them). One language is active per process:
a CLI run or one operator's app session. It is chosen by `choose_language` (the signed-in
user's remembered choice, else `[ui] language` in config.toml, else the locale, else
English) and switched with `activate`.

Text is translated when it is produced. A constant made at import time (a binding's
description, a command's help) holds the English message marked with `N_()` and is
translated where it is shown; `lazy_gettext` is for the rare value that must be handed
over as an object and turned into text later. Nothing below the UI imports textual, and
this package imports nothing of tui_crm, so every layer may use it.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Babel is imported where it is used: a CLI run that formats nothing
    from babel import Locale  # should not pay for loading it
    from babel.support import LazyProxy

DOMAIN = "tui_crm"
LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("zh_CN", "en")
# Each language's name in itself, as a language menu shows it (never translated).
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}
# Where the locale is looked for, in the order GNU gettext reads it.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_active_language = DEFAULT_LANGUAGE


class UnknownLanguage(ValueError):
    """A language tag that names no catalog we have."""


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of a supported language (English falls back to the source)."""
    return _gettext.translation(
        DOMAIN, LOCALE_DIR, [language], fallback=language == DEFAULT_LANGUAGE
    )


@cache
def babel_locale(language: str) -> Locale:
    from babel import Locale

    return Locale.parse(language)


def normalise_language(tag: str | None) -> str | None:
    """The supported language a tag asks for (`zh_CN.UTF-8`, `zh-Hans`, `en_GB`, `C`), or
    None. Any Chinese tag reads Simplified Chinese, the only Chinese catalog there is."""
    if not tag:
        return None
    base = tag.split(".", 1)[0].split("@", 1)[0].replace("-", "_").strip()
    language = base.split("_", 1)[0].lower()
    if language == "zh":
        return "zh_CN"
    if language == "en" or base in ("C", "POSIX"):
        return "en"
    return None


def environment_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The language the locale asks for, read as gettext does: the first of LANGUAGE,
    LC_ALL, LC_MESSAGES, LANG that is set (LANGUAGE may list several, `zh_CN:en`)."""
    environ = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            for tag in value.split(":"):
                if found := normalise_language(tag):
                    return found
            return None
    return None


def choose_language(
    *,
    user: str | None = None,
    configured: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The signed-in user's remembered choice, else config.toml's `[ui] language`, else the
    locale, else English."""
    return (
        normalise_language(user)
        or normalise_language(configured)
        or environment_language(environ)
        or DEFAULT_LANGUAGE
    )


def activate(language: str) -> str:
    """Make `language` the one every lookup uses from now on; returns its normal form."""
    global _active_language
    found = normalise_language(language)
    if found is None:
        raise UnknownLanguage(language)
    translations(found)  # a missing catalog fails here, not in the middle of a screen
    _active_language = found
    return found


def active_language() -> str:
    return _active_language


def active_locale() -> Locale:
    """The Babel locale of the active language, for dates, numbers and money."""
    return babel_locale(_active_language)


def is_chinese() -> bool:
    return _active_language.startswith("zh")


@contextmanager
def using(language: str) -> Iterator[str]:
    """Speak `language` inside the block and the previous one after it (tests, one-off
    reports); the active language is process-wide, so not for concurrent threads."""
    previous = _active_language
    try:
        yield activate(language)
    finally:
        activate(previous)


def gettext(message: str) -> str:
    return translations(_active_language).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_active_language).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """A message whose English is ambiguous (`customer` the type vs. a customer)."""
    return translations(_active_language).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_active_language).npgettext(context, singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it yet (it is translated where
    it is shown: a Binding description, a command's help)."""
    return message


def lazy_gettext(message: str) -> LazyProxy:
    """A message that becomes text in the language active when it is used, every time."""
    from babel.support import LazyProxy

    return LazyProxy(gettext, message, enable_cache=False)


def lazy_pgettext(context: str, message: str) -> LazyProxy:
    from babel.support import LazyProxy

    return LazyProxy(pgettext, context, message, enable_cache=False)


__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LOCALE_DIR",
    "N_",
    "UnknownLanguage",
    "_",
    "activate",
    "active_language",
    "active_locale",
    "babel_locale",
    "choose_language",
    "environment_language",
    "gettext",
    "is_chinese",
    "lazy_gettext",
    "lazy_pgettext",
    "ngettext",
    "normalise_language",
    "npgettext",
    "pgettext",
    "translations",
    "using",
]
