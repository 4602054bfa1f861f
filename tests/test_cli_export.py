"""`tui-crm export`: the list's filters, masked unless --reveal, JSON summary, owner-only
files, one-line refusals (missing folder, existing file, symlink, unknown owner)."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_crm.cli import main


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    values = cli_env
    for name, kind, phone, extra in (
        ("北京星辰科技有限公司", "customer", "13800138000", ["--notes", "第一行, 逗号\n第二行"]),
        ('=HYPERLINK("http://x","y")', "prospect", "13912345678", ["--contact", "@王芳"]),
        ("Plain Prospect", "prospect", "13700001111", ["--email", "p@example.com"]),
    ):
        code, out = run(values, "customer", "add", "--name", name, "--type", kind,
                        "--phone", phone, *extra)  # fmt: skip
        assert code == 0, out
    return values


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_export_masked_then_revealed(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    code, text = run(env, "export", "--out", str(out))
    assert code == 0, text
    assert "Exported 3 customers" in text and "masked" in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    body = out.read_text(encoding="utf-8-sig")
    assert "13800138000" not in body and "138****8000" in body
    assert "'=HYPERLINK" in body and "'@王芳" in body
    assert '"第一行, 逗号\r\n第二行"' in body or '"第一行, 逗号\n第二行"' in body

    code, text = run(env, "export", "--out", str(out), "--reveal", "--force", "--json")
    assert code == 0, text
    assert json.loads(text) == {"path": str(out), "rows": 3, "format": "csv", "revealed": True}
    assert "13800138000" in out.read_text(encoding="utf-8-sig")
    code, text = run(env, "audit", "list", "--action", "customer.export", "--json")
    entries = json.loads(text)
    assert [e["details"]["revealed"] for e in entries] == [True, False]


def test_filters_and_sort_are_the_lists(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "prospects.xlsx"
    code, text = run(env, "export", "--out", str(out), "--type", "prospect", "--json")
    assert code == 0, text
    assert json.loads(text)["rows"] == 2 and json.loads(text)["format"] == "xlsx"
    out = tmp_path / "found.csv"
    code, text = run(env, "export", "--out", str(out), "--search", "星辰")
    assert code == 0, text
    assert [r[1] for r in rows(out)[1:]] == ["北京星辰科技有限公司"]
    out = tmp_path / "sorted.csv"
    code, text = run(env, "export", "--out", str(out), "--sort", "name", "--desc")
    assert code == 0, text
    names = [r[1] for r in rows(out)[1:]]
    assert names == sorted(names, reverse=True)


def test_bad_input_is_one_line_and_writes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "x.csv"
    code, text = run(env, "export", "--out", str(missing))
    assert code != 0 and "no-such-folder" in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1

    existing = tmp_path / "existing.csv"
    existing.write_text("keep")
    code, text = run(env, "export", "--out", str(existing))
    assert code != 0 and "--force" in text and existing.read_text() == "keep"

    link = tmp_path / "link.csv"
    link.symlink_to(existing)
    code, text = run(env, "export", "--out", str(link), "--force")
    assert code != 0 and "symbolic link" in text and existing.read_text() == "keep"

    for args, words in (
        (["--owner", "nobody"], "nobody"),
        (["--tag", "nothing"], "nothing"),
        (["--industry", "Z"], "A-T"),
        (["--format", "ods"], "ods"),
    ):
        code, text = run(env, "export", "--out", str(tmp_path / "y.csv"), *args)
        assert code != 0 and words in text, (args, text)
        assert not (tmp_path / "y.csv").exists()
    code, text = run(env, "audit", "list", "--action", "customer.export", "--json")
    assert json.loads(text) == []


def test_a_departed_reps_customers_can_still_be_exported(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A rep who left is disabled; their customers are what the manager must hand over,
    so `--owner` still finds them. A disabled account owning nothing is no owner."""
    for name in ("leaver", "idle"):
        added = CliRunner().invoke(
            main,
            ["user", "add", name, "--role", "sales", "--password-stdin"],
            input="Str0ng-pass-word\n",
            env=env,
        )
        assert added.exit_code == 0, added.output
    code, text = run(env, "customer", "add", "--name", "留下的客户", "--type", "customer",
                     "--phone", "13600136000", "--owner", "leaver")  # fmt: skip
    assert code == 0, text
    for name in ("leaver", "idle"):
        assert run(env, "user", "disable", name)[0] == 0
    out = tmp_path / "leaver.csv"
    code, text = run(env, "export", "--out", str(out), "--owner", "leaver")
    assert code == 0, text
    assert [r[1] for r in rows(out)[1:]] == ["留下的客户"]
    code, text = run(env, "export", "--out", str(tmp_path / "idle.csv"), "--owner", "idle")
    assert code != 0 and "idle" in text and not (tmp_path / "idle.csv").exists()
