"""Nothing below the UI line imports textual, so every rule runs without a terminal."""

from __future__ import annotations

import ast
from pathlib import Path

UI = {"app.py"}
PACKAGE = Path(__file__).resolve().parents[1] / "tui_crm"


def test_no_textual_below_the_line() -> None:
    offenders = []
    for path in PACKAGE.glob("*.py"):
        if path.name in UI:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "textual"]
    assert offenders == []


def test_screens_and_widgets_write_no_sql() -> None:
    for folder in ("screens", "widgets"):
        for path in (PACKAGE / folder).glob("*.py"):
            text = path.read_text()
            assert ".execute(" not in text and "sqlite3" not in text, path.name
