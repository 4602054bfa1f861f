"""Keeping the base clean from the command line: `duplicates scan`, `merge SURVIVOR MERGED`
and `quality report`. Text for people (values masked as on screen), `--json` for programs.

A merge changes two records for good, so it shows the side-by-side choices first and asks;
from a script (no terminal) it needs `--yes`, and `--dry-run` only shows them.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from ..dedupe import ScanOptions, ScanResult
from ..i18n import N_, _, ngettext
from ..i18n.formats import fit, format_number, format_percent, pad
from ..merge import MERGE_FIELDS, SIDES, MergeResult, Side
from ..quality import QualityReport
from ..service.cleaning import (
    MergeView,
    anomaly_label,
    match_reasons,
    merge_field_label,
    reason_label,
)
from ..validation import clean_text, field_label
from .root import Paths, emit, main, pass_paths, progress_printer

VALUE_WIDTH = 26


def _one_line(text: str, width: int) -> str:
    """Customer text on one line in exactly `width` cells: no control characters, no
    line breaks."""
    return fit(" ".join(clean_text(text, multiline=True).split()), width)


# --- duplicates scan ---------------------------------------------------------------------------


@main.group("duplicates", help=N_("Find customers that may be the same one."))
def duplicates() -> None:
    pass


@duplicates.command(
    "scan",
    help=N_(
        "Candidate pairs by shared phone, email, ID number or credit code and by"
        " near-identical names, strongest first."
    ),
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help=N_("How many pairs to list."),
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 100),
    default=0.0,
    show_default=True,
    help=N_("Leave out pairs scoring below this (0-100)."),
)
@click.option("--persons", is_flag=True, help=N_("Also pair persons by a similar name alone."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def duplicates_scan(
    paths: Paths, limit: int, min_score: float, persons: bool, as_json: bool
) -> None:
    options = ScanOptions(min_score=min_score, limit=limit, person_names=persons)
    found = paths.service().cleaning.scan(options, progress=progress_printer())
    emit(_scan_json(found), as_json, lambda: _print_scan(found))


def _scan_json(found: ScanResult) -> dict[str, Any]:
    return {
        "total": found.total,
        "by_reason": found.by_reason,
        "candidates": [
            {
                "score": c.score,
                "first": {"code": c.first.code, "name": c.first.name},
                "second": {"code": c.second.code, "name": c.second.name},
                "matches": [dataclasses.asdict(m) for m in c.matches],
            }
            for c in found.candidates
        ],
    }


def _print_scan(found: ScanResult) -> None:
    if not found.total:
        click.echo(_("No duplicate candidates found."))
        return
    click.echo(
        ngettext(
            "{count} candidate pair, strongest first:",
            "{count} candidate pairs, strongest first:",
            found.total,
        ).format(count=format_number(found.total))
    )
    for c in found.candidates:
        click.echo(
            f"{c.score:5.1f}  {c.first.code} {_one_line(c.first.name, 20)}"
            f"  {c.second.code} {_one_line(c.second.name, 20)}  {match_reasons(c)}"
        )
    hidden = found.total - len(found.candidates)
    if hidden > 0:
        click.echo(
            ngettext(
                "... and {count} more pair (--limit shows more)",
                "... and {count} more pairs (--limit shows more)",
                hidden,
            ).format(count=format_number(hidden))
        )


# --- merge -------------------------------------------------------------------------------------


def _choices(takes: tuple[str, ...]) -> dict[str, Side]:
    """`--take field=merged|survivor` (a bare field means merged); `owner` names the owner."""
    choices: dict[str, Side] = {}
    for take in takes:
        name, sep, side = take.partition("=")
        name = name.strip().lower().replace("-", "_")
        name = "owner_id" if name == "owner" else name
        side = side.strip().lower() if sep else "merged"
        if name not in MERGE_FIELDS or side not in SIDES:
            raise click.BadParameter(
                _("{value} is not FIELD=merged or FIELD=survivor (fields: {fields})").format(
                    value=repr(take),
                    fields=", ".join("owner" if f == "owner_id" else f for f in MERGE_FIELDS),
                ),
                param_hint="--take",
            )
        choices[name] = side  # type: ignore[assignment]
    return choices


def _print_view(view: MergeView, choices: dict[str, Side]) -> None:
    click.echo(
        _(
            "Merge {merged} into {survivor}: {merged} goes and its code will name {survivor}."
        ).format(merged=view.merged_code, survivor=view.survivor_code)
    )
    field, keeps = _("field"), _("keeps")
    click.echo(
        f"  {pad(field, 18)} {pad(view.survivor_code, VALUE_WIDTH)} "
        f"{pad(view.merged_code, VALUE_WIDTH)} {keeps}"
    )
    for f in view.fields:
        if not f.survivor and not f.merged:
            continue
        side = choices.get(f.field, f.default)
        kept = view.survivor_code if side == "survivor" else view.merged_code
        mark = "*" if f.sensitive and f.differs and f.survivor == f.merged else " "
        survivor, merged = (_one_line(v, VALUE_WIDTH) for v in (f.survivor, f.merged))
        click.echo(f"  {pad(merge_field_label(f.field), 18)} {survivor} {merged} {kept}{mark}")
    if any(f.sensitive and f.differs and f.survivor == f.merged for f in view.fields):
        click.echo(_("  * the values differ, though they look alike masked"))
    click.echo(
        _(
            "Follow-ups, interactions and tags move to {survivor}. Take the other value"
            " with --take FIELD=merged."
        ).format(survivor=view.survivor_code)
    )


@main.command(
    "merge",
    help=N_(
        "Merge customer MERGED into SURVIVOR: shows both side by side, then asks"
        " (--yes from scripts). Managers and admins."
    ),
)
@click.argument("survivor_code")
@click.argument("merged_code")
@click.option(
    "--take",
    "takes",
    multiple=True,
    metavar="FIELD=merged",
    help=N_("Keep MERGED's value of FIELD (repeatable); FIELD=survivor keeps the survivor's."),
)
@click.option("--yes", is_flag=True, help=N_("Merge without asking."))
@click.option("--dry-run", is_flag=True, help=N_("Show what would be kept; change nothing."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def merge_command(
    paths: Paths,
    survivor_code: str,
    merged_code: str,
    takes: tuple[str, ...],
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    choices = _choices(takes)
    service = paths.service()
    view = service.cleaning.side_by_side(survivor_code, merged_code)
    if not as_json:
        _print_view(view, choices)
    if dry_run:
        if as_json:
            emit(_view_json(view, choices), True, lambda: None)
        click.echo(_("Dry run: nothing was merged."), err=as_json)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(_("Not merged: pass --yes to merge without a terminal."))
        if not click.confirm(_("Merge now?"), default=False):
            raise click.ClickException(_("Not merged."))
    result = service.cleaning.merge(
        view.survivor_id, view.merged_id, choices, view.expected_versions
    )
    emit(_result_json(result), as_json, lambda: _print_result(result))


def _view_json(view: MergeView, choices: dict[str, Side]) -> dict[str, Any]:
    return {
        "survivor": view.survivor_code,
        "merged": view.merged_code,
        "fields": [
            {**dataclasses.asdict(f), "kept": choices.get(f.field, f.default)} for f in view.fields
        ],
    }


def _result_json(result: MergeResult) -> dict[str, Any]:
    data = dataclasses.asdict(result)
    del data["survivor_id"], data["merged_id"]
    return data


def _print_result(result: MergeResult) -> None:
    click.echo(
        _(
            "Merged {merged} into {survivor} (now version {version}): moved {followups}"
            " follow-ups, {interactions} interactions, {tags} tags. {merged} now names"
            " {survivor}."
        ).format(
            merged=result.merged_code,
            survivor=result.survivor_code,
            version=result.version,
            followups=result.followups,
            interactions=result.interactions,
            tags=result.tags,
        )
    )


# --- quality report ----------------------------------------------------------------------------


@main.group("quality", help=N_("The cleaning report: duplicates, missing and invalid values."))
def quality_group() -> None:
    pass


@quality_group.command(
    "report",
    help=N_(
        "Duplicates found and merged, missing values per field, invalid values, anomalies"
        " and customers with no contact method; --run for one import run."
    ),
)
@click.option("--run", "run_id", type=int, metavar="RUN", help=N_("Only this import run."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def quality_report(paths: Paths, run_id: int | None, as_json: bool) -> None:
    report = paths.service().cleaning.report(run_id, progress=progress_printer())
    emit(report.to_dict(), as_json, lambda: _print_report(report))


def _print_report(report: QualityReport) -> None:
    click.echo(report.title())
    click.echo(
        _("Duplicate candidates: {found} · merged so far: {merged}").format(
            found=format_number(report.duplicate_candidates), merged=format_number(report.merged)
        )
    )
    for reason, count in sorted(report.duplicates_by_reason.items(), key=lambda r: -r[1]):
        click.echo(f"  {pad(reason_label(reason), 34)} {pad(format_number(count), 9, right=True)}")
    for first, second, reasons, score in report.duplicate_examples[:10]:
        click.echo(f"  {score:5.1f}  {first}  {second}  {reason_label(reasons)}")
    click.echo(_("Missing values:"))
    for m in report.missing:
        click.echo(
            f"  {pad(field_label(m.field), 20)} {pad(format_number(m.missing), 9, right=True)}"
            f" / {pad(format_number(m.applicable), 9, right=True)}"
            f"  {pad(format_percent(m.share), 7, right=True)}"
        )
    click.echo(_("Invalid values:") if report.invalid else _("Invalid values: none"))
    for i in report.invalid:
        examples = " ".join(i.examples[:3])
        click.echo(
            f"  {pad(field_label(i.field), 20)} {pad(format_number(i.count), 7, right=True)}"
            f"  {i.reason}  ({examples})"
        )
    click.echo(_("Anomalies:"))
    for kind, count in report.anomaly_counts.items():
        click.echo(f"  {pad(anomaly_label(kind), 40)} {format_number(count)}")
    click.echo(
        _("Customers with no contact method: {count}").format(
            count=format_number(report.no_contact)
        )
        + (f"  ({' '.join(report.no_contact_examples[:5])})" if report.no_contact else "")
    )
