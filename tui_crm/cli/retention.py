"""The retention purge: preview, then confirm by typing the count (or --yes for cron)."""

from __future__ import annotations

import dataclasses

import click

from .root import Paths, emit, main, pass_paths, progress_printer


@main.command("purge")
@click.option("--dry-run", is_flag=True, help="List who would be purged and why.")
@click.option("--yes", is_flag=True, help="Purge without asking (for cron).")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def purge(paths: Paths, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete customers past retention (churned, no interaction for the configured years,
    no legal hold) with all their records; ask to type how many unless --yes."""
    service = paths.service()
    candidates = service.retention.preview()

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
    purged = service.retention.purge(count, progress=progress_printer())
    click.echo(f"Purged {purged:,} customer(s).")
