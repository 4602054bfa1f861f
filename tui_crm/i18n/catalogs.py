"""Keeping the message catalogs in step with the code: `make i18n`.

`update` extracts every marked message of tui_crm (`babel.cfg` at the project root names
the files and keywords) and click's own messages ("Usage:", "Error: ..."), merges them
into each language's `.po` (new entries empty, vanished ones dropped, translations kept)
and compiles the `.mo` files the package ships. `check` lists what stops a catalog from
being complete; the tests run the same checks. A development tool: the app never imports it.

    python -m tui_crm.i18n.catalogs update | compile | check
"""

from __future__ import annotations

import string
import sys
from collections import Counter
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

import click
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from . import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPPING_FILE = PROJECT_ROOT / "babel.cfg"
CLICK_DIR = Path(click.__file__).parent
CLICK_LOCATION = "click"
MessageKey = tuple[str, str | None]  # (msgid, msgctxt)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _add(catalog: Catalog, found: Iterable[tuple], prefix: str = "") -> None:
    for filename, lineno, message, comments, context in found:
        catalog.add(
            message,
            None,
            [(f"{prefix}{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )


def extract_messages() -> Catalog:
    """Every message marked in tui_crm's code, as `babel.cfg` says where to look."""
    with open(MAPPING_FILE) as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(MAPPING_FILE))
    catalog = Catalog(project="tui-crm", domain=DOMAIN)
    _add(catalog, extract_from_dir(PROJECT_ROOT, method_map, options_map, strip_comment_tags=True))
    return catalog


# click looks these up through a variable (`_(extra["required"])`), so no extractor sees them.
CLICK_LOOKED_UP = ("required",)


def click_messages() -> Catalog:
    """click's own messages, which it looks up through the standard library's gettext."""
    catalog = Catalog(project="tui-crm", domain=DOMAIN)
    found = extract_from_dir(CLICK_DIR, [("**.py", "python")], {}, DEFAULT_KEYWORDS)
    _add(catalog, found, prefix=f"{CLICK_LOCATION}/")
    for message in CLICK_LOOKED_UP:
        catalog.add(message, None, [(f"{CLICK_LOCATION}/core.py", 0)])
    return catalog


def template() -> Catalog:
    catalog = extract_messages()
    for message in click_messages():
        if message.id:
            catalog.add(message.id, None, message.locations, context=message.context)
    return catalog


def read_catalog(language: str) -> Catalog:
    with open(po_path(language), "rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def write_catalog(catalog: Catalog, language: str) -> None:
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        write_po(
            handle,
            catalog,
            width=100,
            sort_output=True,
            include_lineno=False,
            ignore_obsolete=True,
        )


def compile_catalog(language: str) -> None:
    catalog = read_catalog(language)
    with open(mo_path(language), "wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def update() -> None:
    """Bring every language's .po up to the code, then compile them all."""
    fresh = template()
    for language in LANGUAGES:
        if po_path(language).exists():
            catalog = read_catalog(language)
            fresh.creation_date = catalog.creation_date  # no date churn in the diff
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="tui-crm")
        catalog.update(fresh, no_fuzzy_matching=True)
        catalog.header_comment = (
            f"# tui-crm messages in {language}. `make i18n` keeps this file in step with the"
            "\n# code; translate the empty entries, then run it again to compile them."
        )
        catalog.fuzzy = False
        catalog.project, catalog.version = "tui-crm", "1"
        catalog.copyright_holder = catalog.language_team = catalog.last_translator = "tui-crm"
        write_catalog(catalog, language)
        compile_catalog(language)


def _key(message: Message) -> MessageKey:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return msgid, message.context


def _placeholders(text: str) -> Counter[str]:
    """The `{name!r:>10}` fields of a str.format message, as they must survive translation."""
    fields: Counter[str] = Counter()
    try:
        for _, name, spec, conversion in string.Formatter().parse(text):
            if name is not None:
                fields[f"{name}!{conversion or ''}:{spec or ''}"] += 1
    except ValueError:
        fields["<unbalanced braces>"] += 1
    return fields


def missing_from_catalog(language: str) -> list[MessageKey]:
    """Messages marked in the code that the language's .po does not hold at all."""
    held = {_key(m) for m in read_catalog(language) if m.id}
    return sorted(
        (k for k in (_key(m) for m in extract_messages() if m.id) if k not in held),
        key=str,
    )


def untranslated(language: str) -> list[MessageKey]:
    """Entries with no translation, or marked fuzzy (a guess nobody checked)."""
    problems = []
    for message in read_catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(_key(message))
    return problems


def broken_placeholders(language: str) -> list[MessageKey]:
    """Translations whose `{fields}` differ from the English (they would raise KeyError)."""
    problems = []
    for message in read_catalog(language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = _placeholders(ids[-1])
        if any(s and _placeholders(s) != wanted for s in strings):
            problems.append(_key(message))
    return problems


def stale_compiled(language: str) -> list[MessageKey]:
    """Messages whose compiled .mo translation differs from the .po (run `make i18n`)."""
    buffer = BytesIO()
    write_mo(buffer, read_catalog(language), use_fuzzy=False)
    buffer.seek(0)
    with open(mo_path(language), "rb") as handle:
        compiled, expected = _translations(read_mo(handle)), _translations(read_mo(buffer))
    changed = expected.keys() | compiled.keys()
    return sorted((k for k in changed if expected.get(k) != compiled.get(k)), key=str)


def _translations(catalog: Catalog) -> dict[MessageKey, tuple[str, ...]]:
    return {
        _key(m): (m.string,) if isinstance(m.string, str) else tuple(m.string)
        for m in catalog
        if m.id
    }


def check() -> list[str]:
    """Every reason the catalogs are not complete, one line each."""
    lines = []
    for language in LANGUAGES:
        for msgid, context in missing_from_catalog(language):
            lines.append(f"{language}: not in the catalog: {context or ''}|{msgid}")
        for msgid, context in stale_compiled(language):
            lines.append(f"{language}: .mo out of date: {context or ''}|{msgid}")
        if language == DEFAULT_LANGUAGE:
            continue
        for msgid, context in untranslated(language):
            lines.append(f"{language}: untranslated or fuzzy: {context or ''}|{msgid}")
        for msgid, context in broken_placeholders(language):
            lines.append(f"{language}: placeholders differ: {context or ''}|{msgid}")
    return lines


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        for language in LANGUAGES:
            compile_catalog(language)
    elif command != "check":
        print("usage: python -m tui_crm.i18n.catalogs update | compile | check", file=sys.stderr)
        return 2
    problems = check()
    for line in problems:
        print(line)
    return 1 if problems and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
