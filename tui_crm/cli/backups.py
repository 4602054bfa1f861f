"""Backups for SSH and cron: create, list, verify, restore, drill, prune, scheduled."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from ..backup import Manifest
from ..config import Settings
from ..i18n import N_, _, ngettext
from ..i18n.formats import format_number, pad
from ..labels import label
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
    count = ngettext("{count} customer", "{count} customers", customers).format(
        count=pad(format_number(customers), 10, right=True)
    )
    return (
        f"{m.id:<28} {pad(label('backup_kind', m.kind), 11)} {m.created_at[:19]}"
        f"  {_size(m.size):>9}  {count}  {m.parent or '-'}"
    )


# --- backup ------------------------------------------------------------------------------


@main.group(
    "backup", help=N_("Encrypted full and incremental backups, verification, restore and drills.")
)
@click.option(
    "--dir",
    "backup_dir",
    type=click.Path(path_type=Path),
    default=None,
    help=N_("Backup directory (default: config [backup] dir, else <db dir>/backups)."),
)
@click.pass_context
def backup_group(ctx: click.Context, backup_dir: Path | None) -> None:
    ctx.meta["backup_settings"] = _settings(backup_dir)


def _backup_settings() -> Settings:
    return click.get_current_context().meta["backup_settings"]


@backup_group.command("create", help=N_("Take a backup while others keep working."))
@click.option("--full/--incremental", required=True, help=N_("Whole database, or changes only."))
@pass_paths
def backup_create(paths: Paths, full: bool) -> None:
    manifest = paths.service().backups.create(
        full=full, settings=_backup_settings(), progress=progress_printer()
    )
    click.echo(
        _("Backup {backup} ({kind}, {size}) written.").format(
            backup=manifest.id, kind=label("backup_kind", manifest.kind), size=_size(manifest.size)
        )
    )


@backup_group.command("list", help=N_("List backups, oldest first."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def backup_list(paths: Paths, as_json: bool) -> None:
    manifests = paths.service().backups.list(_backup_settings())

    def text() -> None:
        if not manifests:
            click.echo(_("No backups."))
        for m in manifests:
            click.echo(_describe(m))

    emit([dataclasses.asdict(m) for m in manifests], as_json, text)


@backup_group.command(
    "verify",
    help=N_(
        "Decrypt, check hashes, restore to a scratch place and check integrity and the audit"
        " chain; exit 1 if any backup fails."
    ),
)
@click.argument("backup_id", required=False)
@click.option("--all", "verify_all", is_flag=True, help=N_("Verify every backup."))
@pass_paths
def backup_verify(paths: Paths, backup_id: str | None, verify_all: bool) -> None:
    if bool(backup_id) == verify_all:
        raise click.UsageError(_("give a backup ID or --all"))
    results = paths.service().backups.verify(
        None if verify_all else backup_id, _backup_settings(), progress_printer()
    )
    if not results:
        raise click.ClickException(_("no backups to verify"))
    for result in results:
        click.echo(result.describe())
    failed = [r.id for r in results if not r.ok]
    if failed:
        raise click.ClickException(
            ngettext(
                "{failed} of {count} backup failed",
                "{failed} of {count} backups failed",
                len(results),
            ).format(failed=len(failed), count=len(results))
        )


@backup_group.command(
    "restore",
    help=N_("Restore a backup (its whole chain) to a new file, or over the live database."),
)
@click.argument("backup_id")
@click.option("--to", "to_path", type=click.Path(path_type=Path), help=N_("A new database file."))
@click.option(
    "--yes", is_flag=True, help=N_("Restore over the live database (after a safety backup).")
)
@pass_paths
def backup_restore(paths: Paths, backup_id: str, to_path: Path | None, yes: bool) -> None:
    service = paths.service()
    if to_path is not None:
        manifest = service.backups.restore(
            backup_id, to_path, _backup_settings(), progress_printer()
        )
        click.echo(_("Restored {backup} to {path}.").format(backup=manifest.id, path=to_path))
        return
    if not yes:
        raise click.UsageError(
            _(
                "give --to PATH, or --yes to replace the live database"
                " (a safety backup is taken first)"
            )
        )
    restored, safety = service.backups.restore_live(
        backup_id, _backup_settings(), progress_printer()
    )
    click.echo(
        _("Restored {backup} over {path}; safety backup {safety}.").format(
            backup=restored.id, path=paths.db, safety=safety.id
        )
    )


@backup_group.command(
    "drill", help=N_("Restore the newest chain to a scratch place and prove it; exit 1 on failure.")
)
@pass_paths
def backup_drill(paths: Paths) -> None:
    result = paths.service().backups.drill(_backup_settings(), progress_printer())
    click.echo(result.describe())
    if not result.ok:
        raise click.ClickException(_("restore drill FAILED"))


@backup_group.command(
    "prune",
    help=N_("Delete backups beyond the configured daily and weekly sets (chains kept whole)."),
)
@pass_paths
def backup_prune(paths: Paths) -> None:
    deleted = paths.service().backups.prune(_backup_settings())
    summary = ngettext("Deleted {count} backup.", "Deleted {count} backups.", len(deleted))
    click.echo(summary.format(count=len(deleted)) + "".join(f"\n  {d}" for d in deleted))


@backup_group.command(
    "scheduled",
    help=N_("For cron, daily: full on the configured weekday, else incremental; then prune."),
)
@pass_paths
def backup_scheduled(paths: Paths) -> None:
    manifest, pruned = paths.service().backups.scheduled(_backup_settings())
    click.echo(
        ngettext(
            "Backup {backup} ({kind}, {size}) written; {count} old backup deleted.",
            "Backup {backup} ({kind}, {size}) written; {count} old backups deleted.",
            len(pruned),
        ).format(
            backup=manifest.id,
            kind=label("backup_kind", manifest.kind),
            size=_size(manifest.size),
            count=len(pruned),
        )
    )
