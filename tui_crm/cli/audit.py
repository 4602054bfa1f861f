"""The audit log: verify the chain, list and export filtered views."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import audit
from ..validation import ValidationError, parse_date
from .root import Paths, emit, main, pass_paths


@main.group("audit")
def audit_group() -> None:
    """Verify and read the audit log."""


@audit_group.command("verify")
@pass_paths
def audit_verify(paths: Paths) -> None:
    """Check the whole hash chain; exit 1 naming the first broken entry."""
    result = paths.service().audit_log.verify()
    if not result.ok:
        raise click.ClickException(result.describe())
    click.echo(result.describe())


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_date(value, f"--{param.name}")
    except ValidationError as exc:
        raise click.ClickException(f"{exc.field} {exc.message}") from None


def audit_filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters of an audit view, the same for listing and exporting."""
    for option in reversed(
        (
            click.option("--user", "actor", default=None, help="Only entries by this user."),
            click.option("--action", default=None, help="e.g. login, customer.update, reveal"),
            click.option("--customer", "customer_code", default=None, help="Only this code."),
            click.option("--since", default=None, help="YYYY-MM-DD", callback=_date_option),
            click.option("--until", default=None, help="YYYY-MM-DD", callback=_date_option),
            click.option("--text", default=None, help="Free text in the details."),
        )
    ):
        command = option(command)
    return command


@audit_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@audit_filter_options
@click.option("--limit", default=100, show_default=True)
@pass_paths
def audit_list(paths: Paths, as_json: bool, limit: int, **filters: Any) -> None:
    """List audit entries, newest first."""
    entries = paths.service().audit_log.entries(audit.AuditFilter(**filters), limit=limit)

    def text() -> None:
        for e in entries:
            details = json.dumps(e.details, ensure_ascii=False)
            click.echo(f"{e.id:>7} {e.at} {e.actor:<14} {e.action:<18} {e.customer_code} {details}")

    emit([dataclasses.asdict(e) for e in entries], as_json, text)


@audit_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@audit_filter_options
@pass_paths
def audit_export(paths: Paths, out: Path, **filters: Any) -> None:
    """Export audit entries (filtered as `audit list`) as CSV; the export is audited."""
    written = paths.service().audit_log.export(audit.AuditFilter(**filters), out)
    click.echo(f"Exported {written:,} audit entries to {out}.")
