"""The retention purge: preview, then confirm by typing the count (or --yes for cron)."""

from __future__ import annotations

import dataclasses

import click

from ..i18n import N_, _, ngettext
from .root import Paths, emit, main, pass_paths, progress_printer


@main.command(
    "purge",
    help=N_(
        "Delete customers past retention (churned, no interaction for the configured years,"
        " no legal hold) with all their records; ask to type how many unless --yes."
    ),
)
@click.option("--dry-run", is_flag=True, help=N_("List who would be purged and why."))
@click.option("--yes", is_flag=True, help=N_("Purge without asking (for cron)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def purge(paths: Paths, dry_run: bool, yes: bool, as_json: bool) -> None:
    if dry_run and yes:
        raise click.UsageError(_("--dry-run and --yes exclude each other"))
    service = paths.service()
    candidates = service.retention.preview()

    def text() -> None:
        for c in candidates:
            click.echo(f"{c.code}  {c.name}  {c.last_activity[:10]}  {c.reason}")
        click.echo(
            ngettext(
                "{count:,} customer due for purging.",
                "{count:,} customers due for purging.",
                len(candidates),
            ).format(count=len(candidates))
        )

    if dry_run or not candidates:
        emit([dataclasses.asdict(c) for c in candidates], as_json, text)
        return
    count = len(candidates)
    if not yes:
        text()
        try:
            typed = click.prompt(
                _("Type {count} to purge them").format(count=count), default="", show_default=False
            )
        except click.Abort:
            raise click.ClickException(
                _("nothing was typed, so nothing was purged (--yes purges without asking)")
            ) from None
        if typed.strip() != str(count):
            raise click.ClickException(_("confirmation did not match; nothing was purged"))
    purged = service.retention.purge(count, progress=progress_printer())
    click.echo(
        ngettext("Purged {count:,} customer.", "Purged {count:,} customers.", purged).format(
            count=purged
        )
    )
