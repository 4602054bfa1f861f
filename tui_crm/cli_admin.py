"""Admin commands for SSH and cron: backups, restore drills, retention purge, audit export.

Each runs through the service as the CLI user (who holds the key file), so it is checked
and audited like the same action in the app.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import audit
from .backup import BackupError, Manifest
from .cli import CrmGroup, Paths, audit_filter_options, emit, pass_paths
from .config import Settings
from .retention import RetentionError

F = TypeVar("F", bound=Callable[..., Any])


class AdminGroup(CrmGroup):
    """CrmGroup that also turns refused backups and purges into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (BackupError, RetentionError) as exc:
            raise click.ClickException(str(exc)) from None


def _one_line(command: F) -> F:
    """For commands registered directly on `main`, whose group does not know our errors."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (BackupError, RetentionError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Callable[[float, str], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(fraction: float, message: str) -> None:
        click.echo(f"\r{fraction:4.0%} {message:<50}", nl=False, err=True)
        if fraction >= 1:
            click.echo(err=True)

    return show


def _settings(backup_dir: Path | None) -> Settings:
    settings = Settings.load()
    if backup_dir is not None:
        settings = dataclasses.replace(settings, backup_dir=str(backup_dir))
    return settings


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _describe(m: Manifest) -> str:
    customers = m.row_counts.get("customers", 0)
    return (
        f"{m.id:<28} {m.kind:<11} {m.created_at[:19]}  {_size(m.size):>9}"
        f"  {customers:>10,} customers  {m.parent or '-'}"
    )


# --- backup ------------------------------------------------------------------------------


@click.group("backup", cls=AdminGroup)
@click.option(
    "--dir",
    "backup_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Backup directory (default: config [backup] dir, else <db dir>/backups).",
)
@click.pass_context
def backup_group(ctx: click.Context, backup_dir: Path | None) -> None:
    """Encrypted full and incremental backups, verification, restore and drills."""
    ctx.meta["backup_settings"] = _settings(backup_dir)


def _backup_settings() -> Settings:
    return click.get_current_context().meta["backup_settings"]


@backup_group.command("create")
@click.option("--full/--incremental", required=True, help="Whole database, or changes only.")
@pass_paths
def backup_create(paths: Paths, full: bool) -> None:
    """Take a backup while others keep working."""
    manifest = paths.service().create_backup(
        full=full, settings=_backup_settings(), progress=_progress()
    )
    click.echo(f"Backup {manifest.id} ({manifest.kind}, {_size(manifest.size)}) written.")


@backup_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def backup_list(paths: Paths, as_json: bool) -> None:
    """List backups, oldest first."""
    manifests = paths.service().list_backups(_backup_settings())

    def text() -> None:
        if not manifests:
            click.echo("No backups.")
        for m in manifests:
            click.echo(_describe(m))

    emit([dataclasses.asdict(m) for m in manifests], as_json, text)


@backup_group.command("verify")
@click.argument("backup_id", required=False)
@click.option("--all", "verify_all", is_flag=True, help="Verify every backup.")
@pass_paths
def backup_verify(paths: Paths, backup_id: str | None, verify_all: bool) -> None:
    """Decrypt, check hashes, restore to a scratch place and check integrity and the audit
    chain; exit 1 if any backup fails."""
    if bool(backup_id) == verify_all:
        raise click.UsageError("give a backup ID or --all")
    results = paths.service().verify_backups(
        None if verify_all else backup_id, _backup_settings(), _progress()
    )
    if not results:
        raise click.ClickException("no backups to verify")
    for result in results:
        click.echo(result.describe())
    failed = [r.id for r in results if not r.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} backup(s) failed")


@backup_group.command("restore")
@click.argument("backup_id")
@click.option("--to", "to_path", type=click.Path(path_type=Path), help="A new database file.")
@click.option("--yes", is_flag=True, help="Restore over the live database (after a safety backup).")
@pass_paths
def backup_restore(paths: Paths, backup_id: str, to_path: Path | None, yes: bool) -> None:
    """Restore a backup (its whole chain) to a new file, or over the live database."""
    service = paths.service()
    if to_path is not None:
        manifest = service.restore_backup(backup_id, to_path, _backup_settings(), _progress())
        click.echo(f"Restored {manifest.id} to {to_path}.")
        return
    if not yes:
        raise click.UsageError(
            "give --to PATH, or --yes to replace the live database (a safety backup is taken first)"
        )
    restored, safety = service.restore_backup_live(backup_id, _backup_settings(), _progress())
    click.echo(f"Restored {restored.id} over {paths.db}; safety backup {safety.id}.")


@backup_group.command("drill")
@pass_paths
def backup_drill(paths: Paths) -> None:
    """Restore the newest chain to a scratch place and prove it; exit 1 on failure."""
    result = paths.service().backup_drill(_backup_settings(), _progress())
    click.echo(result.describe())
    if not result.ok:
        raise click.ClickException("restore drill FAILED")


@backup_group.command("prune")
@pass_paths
def backup_prune(paths: Paths) -> None:
    """Delete backups beyond the configured daily and weekly sets (chains kept whole)."""
    deleted = paths.service().prune_backups(_backup_settings())
    click.echo(f"Deleted {len(deleted)} backup(s)." + "".join(f"\n  {d}" for d in deleted))


@backup_group.command("scheduled")
@pass_paths
def backup_scheduled(paths: Paths) -> None:
    """For cron, daily: full on the configured weekday, else incremental; then prune."""
    manifest, pruned = paths.service().scheduled_backup(_backup_settings())
    click.echo(
        f"Backup {manifest.id} ({manifest.kind}, {_size(manifest.size)}) written;"
        f" {len(pruned)} old backup(s) deleted."
    )


# --- purge -------------------------------------------------------------------------------


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="List who would be purged and why.")
@click.option("--yes", is_flag=True, help="Purge without asking (for cron).")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
@_one_line
def purge(paths: Paths, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete customers past retention (churned, no interaction for the configured years,
    no legal hold) with all their records; ask to type how many unless --yes."""
    service = paths.service()
    candidates = service.retention_preview()

    def text() -> None:
        for c in candidates:
            click.echo(f"{c.code}  {c.name}  {c.last_activity[:10]}  {c.reason}")
        click.echo(f"{len(candidates):,} customer(s) due for purging.")

    if dry_run or not candidates:
        emit([dataclasses.asdict(c) for c in candidates], as_json, text)
        return
    count = len(candidates)
    if not yes:
        text()
        typed = click.prompt(f"Type {count} to purge them", default="", show_default=False)
        if typed.strip() != str(count):
            raise click.ClickException("confirmation did not match; nothing was purged")
    purged = service.purge_customers(count, progress=_progress())
    click.echo(f"Purged {purged:,} customer(s).")


# --- audit export -------------------------------------------------------------------------


@click.command("export")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@audit_filter_options
@pass_paths
def audit_export(paths: Paths, out: Path, **filters: Any) -> None:
    """Export audit entries (filtered as `audit list`) as CSV; the export is audited."""
    written = paths.service().export_audit(audit.AuditFilter(**filters), out)
    click.echo(f"Exported {written:,} audit entries to {out}.")


def register(main: click.Group, audit_group: click.Group) -> None:
    main.add_command(backup_group)
    main.add_command(purge)
    audit_group.add_command(audit_export)
