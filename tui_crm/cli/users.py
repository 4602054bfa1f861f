"""Staff accounts: add, list, disable and enable, unlock, roles, passwords, language."""

from __future__ import annotations

import dataclasses

import click

from ..i18n import LANGUAGE_NAMES, LANGUAGES, N_, _
from ..labels import label
from ..roles import Role
from .root import Paths, emit, main, pass_paths, password_prompt, read_password
from .speaking import table

AUTO_LANGUAGE = "auto"


@main.group(help=N_("Manage staff accounts."))
def user() -> None:
    pass


@user.command("add", help=N_("Add a user with a role."))
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help=N_("Role."))
@click.option("--display-name", default="", help=N_("Name shown in the app."))
@click.option("--password-stdin", is_flag=True, help=N_("Read the password from stdin."))
@pass_paths
def user_add(paths: Paths, name: str, role: str, display_name: str, password_stdin: bool) -> None:
    service = paths.service()
    password = read_password(password_stdin, password_prompt(name))
    service.users.add(name, role, password, display_name)
    click.echo(_("Added {role} {name}.").format(role=label("role", role), name=name))


@user.command(
    "list",
    help=N_(
        "List users with role, status, failed sign-ins of the last day (over every source) and"
        " last login; a user is waiting while some source must wait before trying again."
    ),
)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def user_list(paths: Paths, as_json: bool) -> None:
    users = paths.service().users.list()

    def text() -> None:
        rows = [
            [
                *(_("USER"), _("ROLE"), _("STATUS"), _("FAILED"), _("SOURCES")),
                *(_("WAITING UNTIL"), _("LAST LOGIN")),
            ]
        ]
        for u in users:
            rows.append(
                [
                    u.username,
                    label("role", u.role),
                    label("user_status", u.status),
                    str(u.failed_attempts),
                    str(u.failure_sources),
                    u.waiting_until or "-",
                    u.last_login_at or "-",
                ]
            )
        for line in table(rows, right={3, 4}):
            click.echo(line)

    emit([dataclasses.asdict(u) for u in users], as_json, text)


@user.command("disable", help=N_("Disable a user (they can no longer log in)."))
@click.argument("name")
@pass_paths
def user_disable(paths: Paths, name: str) -> None:
    paths.service().users.set_active(name, False)
    click.echo(_("Disabled {name}.").format(name=name))


@user.command("enable", help=N_("Enable a disabled user."))
@click.argument("name")
@pass_paths
def user_enable(paths: Paths, name: str) -> None:
    paths.service().users.set_active(name, True)
    click.echo(_("Enabled {name}.").format(name=name))


@user.command("unlock", help=N_("Forget a user's failed sign-ins from every source."))
@click.argument("name")
@pass_paths
def user_unlock(paths: Paths, name: str) -> None:
    paths.service().users.unlock(name)
    click.echo(_("Unlocked {name}.").format(name=name))


@user.command("role", help=N_("Change a user's role."))
@click.argument("name")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@pass_paths
def user_role(paths: Paths, name: str, role: str) -> None:
    paths.service().users.set_role(name, role)
    click.echo(_("{name} is now {role}.").format(name=name, role=label("role", role)))


@user.command("passwd", help=N_("Set a user's password."))
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=N_("Read the password from stdin."))
@pass_paths
def user_passwd(paths: Paths, name: str, password_stdin: bool) -> None:
    service = paths.service()
    service.users.set_password(name, read_password(password_stdin, password_prompt(name, new=True)))
    click.echo(_("Password of {name} changed.").format(name=name))


@user.command(
    "language",
    help=N_(
        "Set the language the app speaks to a user after they sign in"
        " (auto: config.toml, else the locale)."
    ),
)
@click.argument("name")
@click.argument("language", type=click.Choice([*LANGUAGES, AUTO_LANGUAGE]))
@pass_paths
def user_language(paths: Paths, name: str, language: str) -> None:
    chosen = "" if language == AUTO_LANGUAGE else language
    paths.service().users.set_language(chosen, name)
    if chosen:
        click.echo(
            _("{name} now sees the app in {language}.").format(
                name=name, language=LANGUAGE_NAMES[chosen]
            )
        )
    else:
        click.echo(_("{name} now sees the app in the configured language.").format(name=name))
