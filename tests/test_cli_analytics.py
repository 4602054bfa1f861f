"""`tui-crm report|analytics|churn|verify` on the hand-built shop of test_analytics."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests import test_analytics
from tui_crm.cli import main
from tui_crm.db import Database

shop = test_analytics.shop  # the hand-built customers, as a fixture of this module too


@pytest.fixture
def run(tmp_path: Path, db: Database, shop: dict[str, int]):
    env = {
        "TUI_CRM_DB": str(tmp_path / "crm.db"),
        "TUI_CRM_KEY_FILE": str(tmp_path / "keys" / "crm.key"),
    }

    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(main, list(args), env=env)
        assert "Traceback" not in result.output
        return result

    return invoke


def test_funnel_and_activity_reports(run) -> None:
    period = ("--since", "2026-01-01", "--until", "2026-06-30")
    funnel = json.loads(run("report", "funnel", *period, "--by", "rep", "--json").output)
    assert [s["count"] for s in funnel["total"]["steps"]] == [7, 6, 5, 2]
    assert {g["label"]: [s["count"] for s in g["steps"]] for g in funnel["groups"]} == {
        "sales2": [4, 3, 2, 0],
        "sales1": [3, 3, 3, 2],
    }
    rows = list(csv.DictReader(io.StringIO(run("report", "funnel", *period, "--csv").output)))
    assert (rows[0]["leads"], rows[0]["repeat"]) == ("7", "2")
    text = run("report", "funnel", *period).output
    assert "repeat customers" in text and "85.7%" in text  # 6 of 7 leads interested
    weeks = json.loads(
        run("report", "activity", "--since", "2026-06-01", "--until", "2026-06-30", "--json").output
    )["weeks"]
    assert [(w["followups"], w["orders"]) for w in weeks] == [
        (2, 0),
        (0, 0),
        (0, 1),
        (0, 0),
        (1, 0),
    ]
    bad = run("report", "funnel", "--by", "planet")
    assert bad.exit_code != 0
    both = run("report", "tiers", "--json", "--csv")
    assert both.exit_code != 0 and "not both" in both.output


def test_daily_jobs_then_tier_and_churn_reports(run, db: Database) -> None:
    recompute = run("analytics", "recompute", "--json")
    assert recompute.exit_code == 0, recompute.output
    counts = json.loads(recompute.output)["counts"]
    assert counts["none"] == 3 and sum(counts.values()) == 8  # Gamma, Delta, Zeta never ordered
    refreshed = run("churn", "refresh")
    assert refreshed.exit_code == 0 and "customers at risk" in refreshed.output
    tiers = list(csv.DictReader(io.StringIO(run("report", "tiers", "--csv").output)))
    assert [row["tier"] for row in tiers] == ["high", "medium", "low", "none"]
    assert sum(int(row["customers"]) for row in tiers) == 8
    churn = json.loads(run("report", "churn", "--json").output)
    assert churn["customers"] == 8 and churn["refreshed_on"]
    actions = [r[0] for r in db.conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert "analytics.recompute_tiers" in actions and "analytics.refresh_churn" in actions


def test_verify_draw_once_and_report(run) -> None:
    drawn = run("verify", "draw", "--month", "2026-05", "--percent", "25", "--json")
    assert drawn.exit_code == 0, drawn.output
    sample = json.loads(drawn.output)
    assert (sample["population"], sample["size"], sample["month"]) == (8, 2, "2026-05")
    again = run("verify", "draw", "--month", "2026-05")
    assert again.exit_code != 0 and "only once" in again.output
    assert run("verify", "draw", "--month", "2026-13").exit_code != 0
    report = json.loads(run("verify", "report", "--json").output)
    assert report["counts"]["pending"] == 2 and report["sample"]["seed"] == sample["seed"]
    text = run("verify", "report", "--month", "2026-05").output
    assert "2026-05: 2 customers drawn" in text
    missing = run("verify", "report", "--month", "2026-04")
    assert missing.exit_code != 0 and "no verification sample" in missing.output
