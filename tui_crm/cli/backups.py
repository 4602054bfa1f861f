"""Backups for SSH and cron: create, list, verify, restore, drill, prune, scheduled."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from ..backup import Manifest
from ..config import Settings
from .root import Paths, emit, main, pass_paths, progress_printer


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


@main.group("backup")
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
    manifest = paths.service().backups.create(
        full=full, settings=_backup_settings(), progress=progress_printer()
    )
    click.echo(f"Backup {manifest.id} ({manifest.kind}, {_size(manifest.size)}) written.")


@backup_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def backup_list(paths: Paths, as_json: bool) -> None:
    """List backups, oldest first."""
    manifests = paths.service().backups.list(_backup_settings())

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
    results = paths.service().backups.verify(
        None if verify_all else backup_id, _backup_settings(), progress_printer()
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
        manifest = service.backups.restore(
            backup_id, to_path, _backup_settings(), progress_printer()
        )
        click.echo(f"Restored {manifest.id} to {to_path}.")
        return
    if not yes:
        raise click.UsageError(
            "give --to PATH, or --yes to replace the live database (a safety backup is taken first)"
        )
    restored, safety = service.backups.restore_live(
        backup_id, _backup_settings(), progress_printer()
    )
    click.echo(f"Restored {restored.id} over {paths.db}; safety backup {safety.id}.")


@backup_group.command("drill")
@pass_paths
def backup_drill(paths: Paths) -> None:
    """Restore the newest chain to a scratch place and prove it; exit 1 on failure."""
    result = paths.service().backups.drill(_backup_settings(), progress_printer())
    click.echo(result.describe())
    if not result.ok:
        raise click.ClickException("restore drill FAILED")


@backup_group.command("prune")
@pass_paths
def backup_prune(paths: Paths) -> None:
    """Delete backups beyond the configured daily and weekly sets (chains kept whole)."""
    deleted = paths.service().backups.prune(_backup_settings())
    click.echo(f"Deleted {len(deleted)} backup(s)." + "".join(f"\n  {d}" for d in deleted))


@backup_group.command("scheduled")
@pass_paths
def backup_scheduled(paths: Paths) -> None:
    """For cron, daily: full on the configured weekday, else incremental; then prune."""
    manifest, pruned = paths.service().backups.scheduled(_backup_settings())
    click.echo(
        f"Backup {manifest.id} ({manifest.kind}, {_size(manifest.size)}) written;"
        f" {len(pruned)} old backup(s) deleted."
    )
