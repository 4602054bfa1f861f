"""Staff accounts: add, list, disable and enable, unlock, roles, passwords."""

from __future__ import annotations

import dataclasses

import click

from ..roles import Role
from .root import Paths, emit, main, pass_paths, read_password


@main.group()
def user() -> None:
    """Manage staff accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--display-name", default="")
@click.option("--password-stdin", is_flag=True)
@pass_paths
def user_add(paths: Paths, name: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Add a user with a role."""
    service = paths.service()
    password = read_password(password_stdin, f"Password for {name}")
    service.users.add(name, role, password, display_name)
    click.echo(f"Added {role} {name}.")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def user_list(paths: Paths, as_json: bool) -> None:
    """List users with role, status and last login."""
    users = paths.service().users.list()

    def text() -> None:
        click.echo(f"{'USER':<16} {'ROLE':<8} {'STATUS':<8} {'FAILED':>6}  LAST LOGIN")
        for u in users:
            status = "active" if u.active else "disabled"
            if u.locked_until:
                status = "locked"
            click.echo(
                f"{u.username:<16} {u.role:<8} {status:<8} {u.failed_attempts:>6}  "
                f"{u.last_login_at or '-'}"
            )

    emit([dataclasses.asdict(u) for u in users], as_json, text)


@user.command("disable")
@click.argument("name")
@pass_paths
def user_disable(paths: Paths, name: str) -> None:
    """Disable a user (they can no longer log in)."""
    paths.service().users.set_active(name, False)
    click.echo(f"Disabled {name}.")


@user.command("enable")
@click.argument("name")
@pass_paths
def user_enable(paths: Paths, name: str) -> None:
    """Enable a disabled user."""
    paths.service().users.set_active(name, True)
    click.echo(f"Enabled {name}.")


@user.command("unlock")
@click.argument("name")
@pass_paths
def user_unlock(paths: Paths, name: str) -> None:
    """Clear a lockout after failed logins."""
    paths.service().users.unlock(name)
    click.echo(f"Unlocked {name}.")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@pass_paths
def user_role(paths: Paths, name: str, role: str) -> None:
    """Change a user's role."""
    paths.service().users.set_role(name, role)
    click.echo(f"{name} is now {role}.")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@pass_paths
def user_passwd(paths: Paths, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    service = paths.service()
    service.users.set_password(name, read_password(password_stdin, f"New password for {name}"))
    click.echo(f"Password of {name} changed.")
