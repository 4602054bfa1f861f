"""Creating databases: a new one with its key file and first admin, or a demo."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from .. import audit
from ..config import default_demo_db_path, demo_key_path
from ..crypto import create_key_file, load_key_file
from ..db import Database
from ..i18n import N_, _
from ..passwords import check_password_policy, hash_password
from ..service import Service, os_identity
from ..validation import clean_text, now
from .root import Paths, main, pass_paths, password_prompt, read_password, run_app


@main.command(help=N_("Create a new database, its key file and the first admin."))
@click.option("--admin", "admin_name", required=True, help=N_("Name of the first admin user."))
@click.option("--password-stdin", is_flag=True, help=N_("Read the admin's password from stdin."))
@pass_paths
def init(paths: Paths, admin_name: str, password_stdin: bool) -> None:
    if paths.db.exists():
        raise click.ClickException(
            _("{path} already exists; refusing to overwrite it").format(path=paths.db)
        )
    key_path = paths.key_path()
    password = read_password(password_stdin, password_prompt(admin_name))
    check_password_policy(password, username=clean_text(admin_name))
    keys = create_key_file(key_path)
    db = Database.create(paths.db, keys)
    service = Service.for_cli(db)
    with db.write() as tx:
        tx.execute(
            "INSERT INTO users(username, role, password_hash, created_at)"
            " VALUES (?, 'admin', ?, datetime('now'))",
            (clean_text(admin_name), hash_password(password)),
        )
        audit.append(
            tx,
            keys,
            at=now(),
            actor=service.actor,
            action="init",
            details={"admin": clean_text(admin_name)},
        )
    click.echo(_("Created {path} with admin {name}.").format(path=paths.db, name=admin_name))
    click.echo(
        _("Key file: {path} (keep it safe and separate from backups).").format(path=key_path)
    )


@main.command(
    help=N_(
        "Build a fresh demo database (users admin, manager, service, sales1.. ; password demo)."
    )
)
@click.option(
    "--customers",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help=N_("How many customers."),
)
@click.option("--seed", default=2026, show_default=True, help=N_("Random seed."))
@click.option("--no-run", is_flag=True, help=N_("Build the database only; do not open the app."))
@click.pass_context
def demo(ctx: click.Context, customers: int, seed: int, no_run: bool) -> None:
    from ..demo import DEMO_PASSWORD, build_demo

    paths: Paths = ctx.obj
    db_path = paths.db if paths.db_given else default_demo_db_path()
    key_path = demo_key_path(db_path)  # never a real key file named by flag or environment
    _remove_old_demo(db_path, key_path)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            click.echo(
                "\r"
                + _("Building demo data: {done:,}/{total:,} customers").format(
                    done=done, total=total
                ),
                nl=False,
                err=True,
            )

    stats = build_demo(
        db_path,
        key_path,
        customers=customers,
        seed=seed,
        actor=f"cli:{os_identity()}",
        progress=progress,
    )
    if show:
        click.echo(err=True)
    click.echo(
        _(
            "Demo database {path}: {customers:,} customers, {followups:,} follow-ups,"
            " {interactions:,} interactions in {seconds:.1f}s."
        ).format(
            path=db_path,
            customers=stats.customers,
            followups=stats.followups,
            interactions=stats.interactions,
            seconds=stats.seconds,
        )
    )
    click.echo(
        _("Users (password '{password}'): {users}").format(
            password=DEMO_PASSWORD, users=", ".join(stats.users)
        )
    )
    if not no_run:
        run_app(Database.open(db_path, load_key_file(key_path)))


def _remove_old_demo(db_path: Path, key_path: Path) -> None:
    """Replace a previous demo database, but never a real one."""
    if not db_path.exists():
        if key_path.exists():
            key_path.unlink()
        return
    try:
        conn = sqlite3.connect(db_path)
        is_demo = conn.execute("SELECT value FROM meta WHERE key='demo'").fetchone()
        conn.close()
    except sqlite3.Error:
        is_demo = None
    if not is_demo:
        raise click.ClickException(
            _("{path} exists and is not a demo database; not touching it").format(path=db_path)
        )
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), key_path):
        if path.exists():
            path.unlink()
