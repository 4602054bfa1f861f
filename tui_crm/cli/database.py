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
from ..passwords import check_password_policy, hash_password
from ..service import Service, os_identity
from ..validation import clean_text, now
from .root import Paths, main, pass_paths, read_password, run_app


@main.command()
@click.option("--admin", "admin_name", required=True, help="Name of the first admin user.")
@click.option("--password-stdin", is_flag=True, help="Read the admin's password from stdin.")
@pass_paths
def init(paths: Paths, admin_name: str, password_stdin: bool) -> None:
    """Create a new database, its key file and the first admin."""
    if paths.db.exists():
        raise click.ClickException(f"{paths.db} already exists; refusing to overwrite it")
    key_path = paths.key_path()
    password = read_password(password_stdin, f"Password for {admin_name}")
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
    click.echo(f"Created {paths.db} with admin {admin_name}.")
    click.echo(f"Key file: {key_path} (keep it safe and separate from backups).")


@main.command()
@click.option("--customers", default=5000, show_default=True, help="How many customers.")
@click.option("--seed", default=2026, show_default=True)
@click.option("--no-run", is_flag=True, help="Build the database only; do not open the app.")
@click.pass_context
def demo(ctx: click.Context, customers: int, seed: int, no_run: bool) -> None:
    """Build a fresh demo database (users admin, manager, service, sales1.. ; password demo)."""
    from ..demo import DEMO_PASSWORD, build_demo

    paths: Paths = ctx.obj
    db_path = paths.db if paths.db_given else default_demo_db_path()
    key_path = demo_key_path(db_path)  # never a real key file named by flag or environment
    _remove_old_demo(db_path, key_path)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            click.echo(f"\rBuilding demo data: {done:,}/{total:,} customers", nl=False, err=True)

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
        f"Demo database {db_path}: {stats.customers:,} customers, {stats.followups:,} follow-ups,"
        f" {stats.interactions:,} interactions in {stats.seconds:.1f}s."
    )
    click.echo(f"Users (password '{DEMO_PASSWORD}'): {', '.join(stats.users)}")
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
        raise click.ClickException(f"{db_path} exists and is not a demo database; not touching it")
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), key_path):
        if path.exists():
            path.unlink()
