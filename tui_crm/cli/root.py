"""The `tui-crm` root group and what every command family shares: where the database and
key file are, turning a user's mistake into one line, JSON or text output, progress, and
the language it all is said in.

Errors a user can cause are printed as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..backup import BackupError
from ..config import ConfigError, default_db_path, key_path_for
from ..crypto import DecryptionError, KeyFileError, load_key_file
from ..db import Database, DatabaseError, not_found
from ..export import ExportError
from ..files import use_private_umask
from ..i18n import N_, _
from ..i18n.formats import pad
from ..importer import ImportFileError, ImportRunError
from ..retention import RetentionError
from ..service import Service, ServiceError
from ..validation import FormErrors, ValidationError, parse_date
from .speaking import TranslatedHelp, cli_language, speaking

USER_ERRORS = (
    ConfigError,
    ServiceError,
    ValidationError,
    FormErrors,
    KeyFileError,
    DatabaseError,
    DecryptionError,
    BackupError,
    ExportError,
    RetentionError,
    ImportFileError,
    ImportRunError,
    sqlite3.Error,
    OSError,
)


class OneLineUsageError(click.ClickException):
    """A command used wrongly (a bad option value, options that exclude each other): one
    line, as every other error, with where to read more; exit status 2 as click's own."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        message = " ".join(error.format_message().split())  # click's lists span lines
        ctx = error.ctx
        if ctx is not None and ctx.command.get_help_option(ctx) is not None:
            message = _("{problem} (see '{command} --help')").format(
                problem=message, command=ctx.command_path
            )
        super().__init__(message)


class CrmGroup(TranslatedHelp, click.Group):
    """Turns every error a user can cause into one line (exit status 1, 2 for a command
    used wrongly); speaks the configured language; its commands and groups are its own kind.

    When the reader of standard output goes away (`tui-crm audit list | head`), it exits
    quietly with status 1, as Python advises, instead of printing "Broken pipe"."""

    command_class = TranslatedHelp
    group_class = type

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with speaking(cli_language()):
            try:
                return super().main(*args, **kwargs)
            finally:
                _flush_or_leave_quietly()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # click's main leaves quietly
        except click.exceptions.NoArgsIsHelpError:
            raise  # the help text itself
        except click.UsageError as exc:
            raise OneLineUsageError(exc) from None
        except USER_ERRORS as exc:
            raise click.ClickException(user_message(exc)) from None


def user_message(error: Exception) -> str:
    """The one line an error a user can cause is told as; a file error names its path."""
    if isinstance(error, OSError) and error.strerror:
        if error.filename is not None:
            return _("{path}: {problem}").format(path=error.filename, problem=error.strerror)
        return error.strerror
    return str(error)


def _flush_or_leave_quietly() -> None:
    """Flush standard output now; if its reader has gone, point it at /dev/null so the
    interpreter's own flush at exit has nothing to complain about, and exit 1."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


@dataclasses.dataclass
class Paths:
    db: Path
    key: Path | None
    db_given: bool = False

    def key_path(self) -> Path:
        return key_path_for(self.db, self.key)

    def open(self) -> Database:
        if not self.db.exists():
            raise DatabaseError(not_found(self.db))
        return Database.open(self.db, load_key_file(self.key_path()))

    def service(self) -> Service:
        return Service.for_cli(self.open())


pass_paths = click.make_pass_decorator(Paths)


def read_password(from_stdin: bool, prompt: str | None = None) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException(_("no password on standard input"))
        return line.rstrip("\r\n")
    require_terminal(_("the password"), "--password-stdin")
    return click.prompt(prompt or _("Password"), hide_input=True, confirmation_prompt=True)


def require_terminal(what: str, instead: str) -> None:
    """Refuse, in one line, to ask for something when nobody is at a terminal to type it
    (input piped or from cron): name the option that gives it instead."""
    if not sys.stdin.isatty():
        raise click.ClickException(
            _("no terminal to ask for {what} on; give it with {option}").format(
                what=what, option=instead
            )
        )


def day_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A `--since`/`--until` day: written YYYY-MM-DD and on the calendar (as in the forms)."""
    if value is None:
        return None
    try:
        return parse_date(value, param.name or "date")
    except ValidationError as exc:
        raise click.BadParameter(exc.message, ctx, param) from None


def password_prompt(username: str, *, new: bool = False) -> str:
    if new:
        return _("New password for {name}").format(name=username)
    return _("Password for {name}").format(name=username)


def emit(data: Any, as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        text()


def progress_printer() -> Callable[[float, str], None] | None:
    """A progress line on a terminal's stderr; nothing when run from cron or a pipe."""
    if not sys.stderr.isatty():
        return None

    def show(fraction: float, message: str) -> None:
        click.echo(f"\r{fraction:4.0%} {pad(message, 50)}", nl=False, err=True)
        if fraction >= 1:
            click.echo(err=True)

    return show


@click.group(
    cls=CrmGroup,
    invoke_without_command=True,
    help=N_("tui-crm: a keyboard-driven CRM in the terminal. With no command, opens the app."),
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    envvar="TUI_CRM_DB",
    help=N_("Database file (env TUI_CRM_DB)."),
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    envvar="TUI_CRM_KEY_FILE",
    help=N_("Key file (env TUI_CRM_KEY_FILE)."),
)
@click.option(
    "--operator",
    metavar="NAME",
    help=N_(
        "Pin the app's login to this user (e.g. in an SSH forced command); "
        "the password is still asked for."
    ),
)
@click.version_option(package_name="tui-crm", help=N_("Show the version and exit."))
@click.pass_context
def main(
    ctx: click.Context, db_path: Path | None, key_file: Path | None, operator: str | None
) -> None:
    use_private_umask()  # every file any command or the app creates is its owner's only
    ctx.obj = Paths(db_path or default_db_path(), key_file, db_given=db_path is not None)
    if operator is not None and not operator.strip():
        raise click.BadParameter(_("must name a user"), param_hint="--operator")
    if ctx.invoked_subcommand is None:
        run_app(ctx.obj.open(), operator)


def run_app(db: Database, operator: str | None = None) -> None:
    from ..app import CrmApp

    app = CrmApp(db, operator=operator)
    app.run()
    if app.return_code:  # Textual printed the crash; the shell must see it too
        raise SystemExit(app.return_code)


def _override_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is None:
        return
    paths = ctx.ensure_object(Paths)
    if param.name == "db":
        paths.db, paths.db_given = value, True
    else:
        paths.key = value


def accept_paths_everywhere(group: click.Group) -> None:
    """`--db` and `--key-file` also work after any sub-command (`tui-crm user list --db X`)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_paths_everywhere(command)
            continue
        command.params += [
            click.Option(
                ["--db"],
                type=click.Path(path_type=Path),
                expose_value=False,
                callback=_override_path,
                help=N_("Database file (env TUI_CRM_DB)."),
            ),
            click.Option(
                ["--key-file", "key_file"],
                type=click.Path(path_type=Path),
                expose_value=False,
                callback=_override_path,
                help=N_("Key file (env TUI_CRM_KEY_FILE)."),
            ),
        ]
