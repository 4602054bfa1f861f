"""Issue 9's figures, asserted: the attacks of the outside audit re-run after the fixes
(`python -m bench attacks` prints the same figures, the kill rounds on a demo database)."""

from __future__ import annotations

from pathlib import Path

from bench.attacks import (
    KILL_ROUNDS,
    RESTORED,
    ROLLED_BACK,
    kill_restore_figures,
    role_bypass_figures,
    small_database,
    truncation_figures,
)


def test_every_truncation_variant_is_detected(tmp_path: Path) -> None:
    figures = truncation_figures(tmp_path)
    assert sum(figures.detected.values()) == len(figures.detected) == 8, figures.detected
    assert not figures.undetectable_limit_detected, "the README's stated limit still holds"


def test_every_role_bypass_attempt_is_refused(tmp_path: Path) -> None:
    figures = role_bypass_figures(tmp_path)
    assert figures.problems == {}
    assert figures.refused == figures.attempts > 0


def test_kill_9_during_restore_leaves_it_whole_or_undone_and_no_residue(tmp_path: Path) -> None:
    db_path, key_path = small_database(tmp_path, customers=150)
    figures = kill_restore_figures(db_path, key_path, rounds=KILL_ROUNDS)
    assert len(figures.outcomes) == KILL_ROUNDS
    assert figures.count(RESTORED) + figures.count(ROLLED_BACK) == KILL_ROUNDS, figures.outcomes
    assert figures.count(ROLLED_BACK) > 0, "some kills landed before the swap"
    assert figures.verified == KILL_ROUNDS
    assert figures.residue_after_backup == 0
