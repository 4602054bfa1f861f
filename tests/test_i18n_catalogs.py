"""No half-translated screens: every marked message is in the catalogs, Chinese has them all
(none fuzzy), translations keep their `{fields}`, the shipped .mo files match the .po, and
no English sentence reaches a user-facing sink without going through a catalog."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tui_crm import i18n
from tui_crm.i18n import catalogs

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tui_crm"
# Calls whose argument at this position (or keyword) is shown to a user as it is.
MESSAGE_ARGUMENT = {
    "ValidationError": 1,
    "ServiceError": 0,
    "AuthError": 0,
    "PermissionDenied": 0,
    "NotFound": 0,
    "BackupError": 0,
    "RetentionError": 0,
    "KeyFileError": 0,
    "DecryptionError": 0,
    "DatabaseError": 0,
    "ConfigError": 0,
    "ExportError": 0,
    "ImportFileError": 0,
    "ClickException": 0,
    "UsageError": 0,
    "BadParameter": 0,
    "echo": 0,
    "secho": 0,
    "prompt": 0,
    "confirm": 0,
    "VerifyResult": 3,
    "report": 1,
    "Check": 2,
    # the UI's sinks (Textual and Rich): what they are given is drawn as it is
    "notify": 0,
    "Static": 0,
    "Label": 0,
    "Button": 0,
    "TabPane": 0,
    "Text": 0,
    "update": 0,
    "SystemCommand": 0,
    "Binding": 2,
    "ConfirmScreen": 0,
    "ChoiceScreen": 0,
}
# Sinks whose every positional argument is shown (table headers).
EVERY_ARGUMENT = {"add_columns", "add_column"}
MESSAGE_KEYWORDS = {
    "help",
    "reason",
    "message",
    "prompt",
    "placeholder",
    "description",
    "tooltip",
    "title",
    "any_label",
}
# Attributes that put their value in a title or border, or an import row's review note.
MESSAGE_ATTRIBUTES = {"title", "sub_title", "border_title", "border_subtitle", "review"}
# Sentences that may stay as they are, each with the reason; keyed by file and text.
ALLOWED: dict[tuple[str, str], str] = {
    ("i18n/catalogs.py", "usage: python -m tui_crm.i18n.catalogs update | compile | check"): (
        "a developer tool's usage line"
    ),
}
WORDS = re.compile(r"[A-Za-z]{2,}")


def _covered_files() -> Iterator[Path]:
    """Every module of the package: no screen, widget or engine is left out."""
    yield from sorted(PACKAGE.rglob("*.py"))


def _literal_text(node: ast.AST) -> str | None:
    """The English a node spells out by itself (not through a lookup), if it has words."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if WORDS.search(node.value) else None
    if isinstance(node, ast.JoinedStr):
        parts = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
        return ast.unparse(node) if WORDS.search(parts) else None
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) or _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) or _literal_text(node.orelse)
    if isinstance(node, ast.Tuple):  # (field code, message) pairs: the message is last
        return _literal_text(node.elts[-1]) if node.elts else None
    return None


def _called_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _messages(tree: ast.AST) -> Iterator[tuple[int, ast.AST]]:
    """Every expression handed to a user-facing sink."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            position = MESSAGE_ARGUMENT.get(_called_name(node))
            if position is not None and len(node.args) > position:
                yield node.lineno, node.args[position]
            for keyword in node.keywords:
                if keyword.arg in MESSAGE_KEYWORDS:
                    yield node.lineno, keyword.value
            if _called_name(node) in ("setdefault", "append") and len(node.args) >= 1:
                target = node.func.value if isinstance(node.func, ast.Attribute) else None
                if isinstance(target, ast.Name) and target.id in ("errors", "problems"):
                    yield node.lineno, node.args[-1]
        if isinstance(node, ast.Call) and _called_name(node) in EVERY_ARGUMENT:
            for argument in node.args:
                yield node.lineno, argument
        is_command = isinstance(node, ast.Call) and _called_name(node) == "SystemCommand"
        if is_command and len(node.args) > 1:
            yield node.lineno, node.args[1]  # its help line
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Attribute) and target.attr in MESSAGE_ATTRIBUTES:
            yield node.lineno, node.value
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            target = node.targets[0].value
            if isinstance(target, ast.Name) and target.id == "errors":
                yield node.lineno, node.value
        is_errors = isinstance(target, ast.Name) and target.id == "errors"
        if is_errors and isinstance(node.value, ast.DictComp):  # errors = {f: msg for ...}
            yield node.lineno, node.value.value
        if is_errors and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                yield node.lineno, value


def unwrapped_messages() -> list[str]:
    found = []
    for path in _covered_files():
        relative = path.relative_to(PACKAGE).as_posix()
        for lineno, node in _messages(ast.parse(path.read_text(), str(path))):
            text = _literal_text(node)
            if text is not None and (relative, text) not in ALLOWED:
                found.append(f"{relative}:{lineno}: {text!r}")
    return found


def test_no_user_facing_english_bypasses_the_catalog() -> None:
    assert unwrapped_messages() == []


LOOKUPS = {
    "_",
    "gettext",
    "ngettext",
    "pgettext",
    "npgettext",
    "N_",
    "lazy_gettext",
    "lazy_pgettext",
}


def lookups_inside_fstrings(tree: ast.AST) -> list[int]:
    """Lines where a message is looked up inside an f-string: Babel's extractor does not
    see those, so the message would silently never reach the catalog."""
    return sorted(
        call.lineno
        for fstring in ast.walk(tree)
        if isinstance(fstring, ast.JoinedStr)
        for call in ast.walk(fstring)
        if isinstance(call, ast.Call) and _called_name(call) in LOOKUPS
    )


def _everywhere(find: Callable[[ast.AST], list[int]]) -> dict[str, list[int]]:
    """The lines `find` reports in each module of the package."""
    return {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := find(ast.parse(path.read_text())))
    }


def test_no_message_is_looked_up_inside_an_fstring() -> None:
    assert _everywhere(lookups_inside_fstrings) == {}
    assert lookups_inside_fstrings(ast.parse("x = f\"{_('USER'):<8} {n}\"")) == [1]


def rebinds_the_lookup(tree: ast.AST) -> list[int]:
    """Lines that assign to `_` in a module that imports `_` from i18n: `_, x = pair` in a
    function makes every `_("...")` in it call the tuple's first item instead."""
    imports_it = any(
        isinstance(node, ast.ImportFrom)
        and (node.module or "").endswith("i18n")
        and any(alias.name == "_" for alias in node.names)
        for node in ast.walk(tree)
    )
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if imports_it and isinstance(node, ast.Name) and node.id == "_"
        if isinstance(node.ctx, ast.Store)
    )


def test_no_module_rebinds_the_lookup() -> None:
    assert _everywhere(rebinds_the_lookup) == {}
    source = "from ..i18n import _\n\ndef f(pair):\n    _, b = pair\n    return _('x')\n"
    assert rebinds_the_lookup(ast.parse(source)) == [4]


def test_the_scan_catches_an_unwrapped_message(tmp_path: Path) -> None:
    """Proof the heuristic can fail: each kind of sink, written without `_()`."""
    source = (
        'raise ValidationError("phone", "is not a number")\n'
        'raise PermissionDenied(f"You may not see {code}")\n'
        'click.echo("Added " + code)\n'
        'click.option("--x", help="Some help.")\n'
        'errors["amount"] = "needs an amount"\n'
        'errors.setdefault("phone", "is required")\n'
        'raise ServiceError(_("wrapped is fine"))\n'
        'click.echo(f"{code}  {name}")\n'
        'self.notify("Saved the customer.")\n'
        'Binding("n", "new_customer", "New customer", id="customers.new")\n'
        'yield Input(placeholder="Name or phone")\n'
        'table.add_columns(_("Code"), "Last login")\n'
        'self.border_title = "Follow-ups"\n'
        'yield SystemCommand(_("Help"), "Every key binding")\n'
        'yield Static(Text("No tags yet"))\n'
    )
    texts = [
        _literal_text(node) for _, node in sorted(_messages(ast.parse(source)), key=lambda m: m[0])
    ]
    assert [t for t in texts if t] == [
        "is not a number",
        "f'You may not see {code}'",
        "Added ",
        "Some help.",
        "needs an amount",
        "is required",
        "Saved the customer.",
        "New customer",
        "Name or phone",
        "Last login",
        "Follow-ups",
        "Every key binding",
        "No tags yet",
    ]


def test_every_marked_message_is_in_every_catalog() -> None:
    for language in i18n.LANGUAGES:
        assert catalogs.missing_from_catalog(language) == [], (
            f"run `make i18n` and translate the new entries of {language}"
        )


def test_chinese_catalog_has_every_entry_translated_and_none_fuzzy() -> None:
    assert catalogs.untranslated("zh_CN") == []


def test_chinese_calls_an_import_run_an_import_batch_throughout() -> None:
    """导入批次, never 运行 (which reads as running a program) for the noun."""
    noun = re.compile(r"导入运行|运行编号|^运行 \{|随运行")
    found = []
    for message in catalogs.read_catalog("zh_CN"):
        strings = [message.string] if isinstance(message.string, str) else message.string
        found += [text for text in strings if noun.search(text or "")]
    assert found == []


def test_translations_keep_their_placeholders() -> None:
    assert catalogs.broken_placeholders("zh_CN") == []


def test_compiled_catalogs_match_their_sources() -> None:
    for language in i18n.LANGUAGES:
        assert catalogs.stale_compiled(language) == [], "run `make i18n`"


def test_catalog_checks_find_what_they_look_for(tmp_path: Path, monkeypatch) -> None:
    """Proof the catalog checks can fail: a fuzzy entry, an empty one, a lost placeholder,
    a message the catalog lacks, and a .mo that no longer matches its .po."""
    locale = tmp_path / "locale"
    for language in i18n.LANGUAGES:
        folder = locale / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        for suffix in ("po", "mo"):
            source = catalogs.po_path(language).with_suffix(f".{suffix}")
            (folder / source.name).write_bytes(source.read_bytes())
    monkeypatch.setattr(catalogs, "LOCALE_DIR", locale)
    po = locale / "zh_CN" / "LC_MESSAGES" / "tui_crm.po"
    text = po.read_text()
    text = text.replace('msgid "is required"\nmsgstr "不能为空"', 'msgid "is required"\nmsgstr ""')
    text = text.replace(
        'msgid "No user named {name}."\nmsgstr "没有名为 {name} 的用户。"',
        '#, fuzzy\nmsgid "No user named {name}."\nmsgstr "没有名为 {name} 的用户。"',
    )
    text = text.replace('msgstr "{name} 已存在"', 'msgstr "{用户} 已存在"')
    text = text.replace('msgid "Added {code} {name}"', 'msgid "Added {code}"')
    po.write_text(text)
    assert ("is required", None) in catalogs.untranslated("zh_CN")
    assert ("No user named {name}.", None) in catalogs.untranslated("zh_CN")
    assert ("{name} already exists", None) in catalogs.broken_placeholders("zh_CN")
    assert ("Added {code} {name}", None) in catalogs.missing_from_catalog("zh_CN")
    assert ("is required", None) in catalogs.stale_compiled("zh_CN")


def test_catalogs_ship_as_package_data() -> None:
    """The compiled catalogs are where the package data rule of pyproject.toml finds them,
    so a plain `pip install` carries them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["tui_crm.i18n"]
    for language in i18n.LANGUAGES:
        shipped = catalogs.mo_path(language).relative_to(PACKAGE / "i18n").as_posix()
        assert any(fnmatch(shipped, pattern) for pattern in patterns)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_language_loads(language: str) -> None:
    with i18n.using(language):
        assert i18n.active_language() == language
