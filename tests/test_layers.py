"""The house plan holds: import contracts (pyproject.toml) checked by import-linter.

Layers point down only (cli > app > screens > widgets > service > engines > db > base),
nothing below the UI imports textual, and sibling modules never import in a circle.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tui_crm"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_every_module_sits_in_a_layer() -> None:
    """A new module must be placed in the plan, or the contracts would not see it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    top_level = {
        f"tui_crm.{p.stem}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert top_level - placed == set()


def test_contracts_catch_an_upward_import(tmp_path: Path) -> None:
    """Proof that the check can fail: a widget importing a screen, a cycle, textual below."""
    shutil.copytree(PACKAGE, tmp_path / "tui_crm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    widget = tmp_path / "tui_crm" / "widgets" / "tags_panel.py"
    widget.write_text(widget.read_text() + "\nfrom ..screens import help as _help  # noqa\n")
    roles = tmp_path / "tui_crm" / "roles.py"
    roles.write_text(roles.read_text() + "\nimport textual  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "tui_crm.widgets.tags_panel -> tui_crm.screens.help" in result.stdout
    assert "tui_crm.roles -> textual" in result.stdout


def test_screens_and_widgets_write_no_sql() -> None:
    for folder in ("screens", "widgets"):
        for path in (PACKAGE / folder).rglob("*.py"):
            text = path.read_text()
            assert ".execute(" not in text and "sqlite3" not in text, path.name
