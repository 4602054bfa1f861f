"""`tui-crm doctor`: is this installation healthy? One line per check, for an admin on the
server, cron or a monitoring system (exit 1 on any failed check)."""

from __future__ import annotations

import sys

import click

from ..config import Settings
from ..doctor import checks_json, failed, format_checks, run_checks
from ..i18n import N_
from .root import Paths, main, pass_paths


@main.command(
    "doctor",
    help=N_(
        "Check files and modes, the key, integrity, the audit chain, backup and drill ages,"
        " disk space, leftovers of interrupted jobs and the SSH keys; exit 1 on any fail."
    ),
)
@click.option("--json", "as_json", is_flag=True, help=N_("The checks as JSON."))
@pass_paths
def doctor(paths: Paths, as_json: bool) -> None:
    checks = run_checks(paths.db, paths.key_path(), Settings.load())
    click.echo(checks_json(checks) if as_json else format_checks(checks))
    if failed(checks):
        sys.exit(1)
