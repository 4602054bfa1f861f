"""The audit log: verify the chain (against backups' and kept heads), print its head, list
and export filtered views."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import audit
from ..config import Settings
from ..i18n import N_, _, ngettext
from .root import Paths, day_option, emit, main, pass_paths


@main.group("audit", help=N_("Verify and read the audit log."))
def audit_group() -> None:
    pass


@audit_group.command(
    "verify",
    help=N_(
        "Check the whole hash chain, its signed head, the heads recorded by backups and"
        " optionally a head line kept elsewhere; exit 1 naming the first broken entry."
    ),
)
@click.option(
    "--against",
    metavar="LINE",
    default=None,
    help=N_("A line printed earlier by `audit head`: prove nothing up to it changed."),
)
@click.option(
    "--backups",
    "backup_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=N_(
        "Backup directory whose manifests' recorded heads are checked (default: as for backup)."
    ),
)
@pass_paths
def audit_verify(paths: Paths, against: str | None, backup_dir: Path | None) -> None:
    settings = Settings.load()
    if backup_dir is not None:
        settings = dataclasses.replace(settings, backup_dir=str(backup_dir))
    try:
        result = paths.service().audit_log.verify(against=against, settings=settings)
    except ValueError as exc:
        raise click.ClickException(_("--against: {problem}").format(problem=exc)) from None
    if not result.ok:
        raise click.ClickException(result.describe())
    click.echo(result.describe())


@audit_group.command(
    "head",
    help=N_(
        "Print the log's authenticated head as one line to keep apart from this server (mail,"
        " ticket, log host); `audit verify --against LINE` later proves nothing before it"
        " changed."
    ),
)
@pass_paths
def audit_head(paths: Paths) -> None:
    try:
        click.echo(paths.service().audit_log.head())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def audit_filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters of an audit view, the same for listing and exporting."""
    for option in reversed(
        (
            click.option("--user", "actor", default=None, help=N_("Only entries by this user.")),
            click.option("--action", default=None, help=N_("e.g. login, customer.update, reveal")),
            click.option(
                "--customer", "customer_code", default=None, help=N_("Only this customer code.")
            ),
            click.option(
                "--since",
                default=None,
                help=N_("From this day, YYYY-MM-DD."),
                callback=day_option,
            ),
            click.option(
                "--until",
                default=None,
                help=N_("Up to this day, YYYY-MM-DD."),
                callback=day_option,
            ),
            click.option("--text", default=None, help=N_("Free text in the details.")),
        )
    ):
        command = option(command)
    return command


@audit_group.command("list", help=N_("List audit entries, newest first."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@audit_filter_options
@click.option("--limit", default=100, show_default=True, help=N_("How many entries at most."))
@pass_paths
def audit_list(paths: Paths, as_json: bool, limit: int, **filters: Any) -> None:
    entries = paths.service().audit_log.entries(audit.AuditFilter(**filters), limit=limit)

    def text() -> None:
        for e in entries:
            details = json.dumps(e.details, ensure_ascii=False)
            click.echo(f"{e.id:>7} {e.at} {e.actor:<14} {e.action:<18} {e.customer_code} {details}")

    emit([dataclasses.asdict(e) for e in entries], as_json, text)


@audit_group.command(
    "export",
    help=N_(
        "Export audit entries (filtered as `audit list`) as CSV, readable by you only; the"
        " export is audited."
    ),
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help=N_("The CSV file to write."),
)
@click.option("--force", is_flag=True, help=N_("Replace an existing file (never a symlink)."))
@audit_filter_options
@pass_paths
def audit_export(paths: Paths, out: Path, force: bool, **filters: Any) -> None:
    written = paths.service().audit_log.export(audit.AuditFilter(**filters), out, force=force)
    click.echo(
        ngettext(
            "Exported {count:,} audit entry to {path}.",
            "Exported {count:,} audit entries to {path}.",
            written,
        ).format(count=written, path=out)
    )
