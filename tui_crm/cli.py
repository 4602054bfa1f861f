"""The `tui-crm` command: the app, and every admin job as a command for SSH and cron.

Errors a user can cause are printed as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import audit
from .config import (
    ConfigError,
    default_db_path,
    default_demo_db_path,
    default_key_path,
    demo_key_path,
)
from .crypto import DecryptionError, KeyFileError, create_key_file, load_key_file
from .db import Database, DatabaseError
from .roles import Role
from .service import (
    Customer,
    Service,
    ServiceError,
    check_password_policy,
    hash_password,
    os_identity,
)
from .validation import (
    CustomerKind,
    CustomerType,
    FormErrors,
    ValidationError,
    clean_text,
    now,
    parse_date,
)

USER_ERRORS = (
    ConfigError,
    ServiceError,
    ValidationError,
    FormErrors,
    KeyFileError,
    DatabaseError,
    DecryptionError,
    sqlite3.Error,
    OSError,
)


class CrmGroup(click.Group):
    """Turns every error a user can cause into one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            message = getattr(exc, "strerror", None) if isinstance(exc, OSError) else None
            raise click.ClickException(message or str(exc)) from None


@dataclasses.dataclass
class Paths:
    db: Path
    key: Path | None
    db_given: bool = False

    def key_path(self) -> Path:
        return self.key or default_key_path()

    def open(self) -> Database:
        if not self.db.exists():
            raise DatabaseError(f"database {self.db} not found (run `tui-crm init` first)")
        return Database.open(self.db, load_key_file(self.key_path()))

    def service(self) -> Service:
        return Service.for_cli(self.open())


pass_paths = click.make_pass_decorator(Paths)


def _read_password(from_stdin: bool, prompt: str = "Password") -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def emit(data: Any, as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        text()


@click.group(cls=CrmGroup, invoke_without_command=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    envvar="TUI_CRM_DB",
    help="Database file (env TUI_CRM_DB).",
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    envvar="TUI_CRM_KEY_FILE",
    help="Key file (env TUI_CRM_KEY_FILE).",
)
@click.option(
    "--operator",
    metavar="NAME",
    help="Pin the app's login to this user (e.g. in an SSH forced command); "
    "the password is still asked for.",
)
@click.version_option(package_name="tui-crm")
@click.pass_context
def main(
    ctx: click.Context, db_path: Path | None, key_file: Path | None, operator: str | None
) -> None:
    """tui-crm: a keyboard-driven CRM in the terminal. With no command, opens the app."""
    ctx.obj = Paths(db_path or default_db_path(), key_file, db_given=db_path is not None)
    if operator is not None and not operator.strip():
        raise click.BadParameter("must name a user", param_hint="--operator")
    if ctx.invoked_subcommand is None:
        _run_app(ctx.obj.open(), operator)


def _run_app(db: Database, operator: str | None = None) -> None:
    from .app import CrmApp

    CrmApp(db, operator=operator).run()


@main.command()
@click.option("--admin", "admin_name", required=True, help="Name of the first admin user.")
@click.option("--password-stdin", is_flag=True, help="Read the admin's password from stdin.")
@pass_paths
def init(paths: Paths, admin_name: str, password_stdin: bool) -> None:
    """Create a new database, its key file and the first admin."""
    if paths.db.exists():
        raise click.ClickException(f"{paths.db} already exists; refusing to overwrite it")
    key_path = paths.key_path()
    password = _read_password(password_stdin, f"Password for {admin_name}")
    check_password_policy(password, demo=False)
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


# --- users -------------------------------------------------------------------------------


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
    password = _read_password(password_stdin, f"Password for {name}")
    service.add_user(name, role, password, display_name)
    click.echo(f"Added {role} {name}.")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def user_list(paths: Paths, as_json: bool) -> None:
    """List users with role, status and last login."""
    users = paths.service().list_users()

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
    paths.service().set_user_active(name, False)
    click.echo(f"Disabled {name}.")


@user.command("enable")
@click.argument("name")
@pass_paths
def user_enable(paths: Paths, name: str) -> None:
    """Enable a disabled user."""
    paths.service().set_user_active(name, True)
    click.echo(f"Enabled {name}.")


@user.command("unlock")
@click.argument("name")
@pass_paths
def user_unlock(paths: Paths, name: str) -> None:
    """Clear a lockout after failed logins."""
    paths.service().unlock_user(name)
    click.echo(f"Unlocked {name}.")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@pass_paths
def user_role(paths: Paths, name: str, role: str) -> None:
    """Change a user's role."""
    paths.service().set_user_role(name, role)
    click.echo(f"{name} is now {role}.")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@pass_paths
def user_passwd(paths: Paths, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    service = paths.service()
    service.set_password(name, _read_password(password_stdin, f"New password for {name}"))
    click.echo(f"Password of {name} changed.")


# --- customers ---------------------------------------------------------------------------


@main.group()
def customer() -> None:
    """Add, show and find customers."""


@customer.command("add")
@click.option("--name", required=True)
@click.option(
    "--type", "customer_type", required=True, type=click.Choice([t.value for t in CustomerType])
)
@click.option("--kind", default="company", type=click.Choice([k.value for k in CustomerKind]))
@click.option("--phone", default="")
@click.option("--email", default="")
@click.option("--contact", default="", help="Contact person's name.")
@click.option("--title", default="", help="Contact person's title.")
@click.option("--industry", default="", help="GB/T 4754 section letter A-T.")
@click.option("--credit-code", default="")
@click.option("--id-number", default="")
@click.option("--address", default="")
@click.option("--province", default="")
@click.option("--city", default="")
@click.option("--source", default="")
@click.option("--size", "company_size", default="")
@click.option("--notes", default="")
@click.option("--owner", default=None, help="Username of the responsible sales rep.")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def customer_add(paths: Paths, as_json: bool, contact: str, title: str, **fields: Any) -> None:
    """Add a customer."""
    created = paths.service().create_customer(
        {**fields, "contact_name": contact, "contact_title": title}
    )
    emit(
        _customer_json(created), as_json, lambda: click.echo(f"Added {created.code} {created.name}")
    )


def _customer_json(c: Customer) -> dict[str, Any]:
    data = dataclasses.asdict(c)
    data["tags"] = [f"{t['tag_type']}:{t['name']}" for t in data["tags"]]
    return data


def _print_customer(c: Customer) -> None:
    for key, value in _customer_json(c).items():
        if key == "tags":
            value = ", ".join(value)
        if value not in ("", None, []):
            click.echo(f"{key:<20} {value}")


@customer.command("show")
@click.argument("code")
@click.option("--reveal", is_flag=True, help="Show phone, email, ID number and address.")
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def customer_show(paths: Paths, code: str, reveal: bool, as_json: bool) -> None:
    """Show one customer by code."""
    service = paths.service()
    found = service.get_customer(code)
    if reveal:
        found = dataclasses.replace(
            found,
            **{
                name: service.reveal(found.id, name)
                for name in ("phone", "email", "id_number", "address")
                if getattr(found, name)
            },
        )
    emit(_customer_json(found), as_json, lambda: _print_customer(found))


@customer.command("find")
@click.argument("text")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_paths
def customer_find(paths: Paths, text: str, limit: int, as_json: bool) -> None:
    """Find customers by exact phone / email / ID number, or by code or name."""
    found = paths.service().find_customers(text, limit)

    def show() -> None:
        if not found:
            click.echo("No customer found.")
        for c in found:
            click.echo(f"{c.code}  {c.name}  {c.contact_name}  {c.phone}  {c.customer_type}")

    emit([_customer_json(c) for c in found], as_json, show)
    if not found:
        sys.exit(1)


# --- audit -------------------------------------------------------------------------------


@main.group("audit")
def audit_group() -> None:
    """Verify and read the audit log."""


@audit_group.command("verify")
@pass_paths
def audit_verify(paths: Paths) -> None:
    """Check the whole hash chain; exit 1 naming the first broken entry."""
    result = paths.service().verify_audit()
    if not result.ok:
        raise click.ClickException(result.describe())
    click.echo(result.describe())


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_date(value, f"--{param.name}")
    except ValidationError as exc:
        raise click.ClickException(f"{exc.field} {exc.message}") from None


def audit_filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters of an audit view, the same for listing and exporting."""
    for option in reversed(
        (
            click.option("--user", "actor", default=None, help="Only entries by this user."),
            click.option("--action", default=None, help="e.g. login, customer.update, reveal"),
            click.option("--customer", "customer_code", default=None, help="Only this code."),
            click.option("--since", default=None, help="YYYY-MM-DD", callback=_date_option),
            click.option("--until", default=None, help="YYYY-MM-DD", callback=_date_option),
            click.option("--text", default=None, help="Free text in the details."),
        )
    ):
        command = option(command)
    return command


@audit_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@audit_filter_options
@click.option("--limit", default=100, show_default=True)
@pass_paths
def audit_list(paths: Paths, as_json: bool, limit: int, **filters: Any) -> None:
    """List audit entries, newest first."""
    entries = paths.service().audit_entries(audit.AuditFilter(**filters), limit=limit)

    def text() -> None:
        for e in entries:
            details = json.dumps(e.details, ensure_ascii=False)
            click.echo(f"{e.id:>7} {e.at} {e.actor:<14} {e.action:<18} {e.customer_code} {details}")

    emit([dataclasses.asdict(e) for e in entries], as_json, text)


# --- demo --------------------------------------------------------------------------------


@main.command()
@click.option("--customers", default=5000, show_default=True, help="How many customers.")
@click.option("--seed", default=2026, show_default=True)
@click.option("--no-run", is_flag=True, help="Build the database only; do not open the app.")
@click.pass_context
def demo(ctx: click.Context, customers: int, seed: int, no_run: bool) -> None:
    """Build a fresh demo database (users admin, manager, service, sales1.. ; password demo)."""
    from .demo import DEMO_PASSWORD, build_demo

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
        _run_app(Database.open(db_path, load_key_file(key_path)))


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


# --- admin commands (issue 5): backup, purge, audit export --------------------------------

from . import cli_admin  # noqa: E402  (it builds on the helpers above)

cli_admin.register(main, audit_group)


def _override_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is None:
        return
    paths = ctx.ensure_object(Paths)
    if param.name == "db":
        paths.db, paths.db_given = value, True
    else:
        paths.key = value


def _accept_paths_everywhere(group: click.Group) -> None:
    """`--db` and `--key-file` also work after any sub-command (`tui-crm user list --db X`)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_paths_everywhere(command)
            continue
        command.params += [
            click.Option(
                ["--db"],
                type=click.Path(path_type=Path),
                expose_value=False,
                callback=_override_path,
                help="Database file (env TUI_CRM_DB).",
            ),
            click.Option(
                ["--key-file", "key_file"],
                type=click.Path(path_type=Path),
                expose_value=False,
                callback=_override_path,
                help="Key file (env TUI_CRM_KEY_FILE).",
            ),
        ]


_accept_paths_everywhere(main)
