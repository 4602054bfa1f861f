"""`tui-crm export --out FILE`: the customer list, with the list's search, filters and sort,
as CSV (UTF-8 with BOM, for Excel) or XLSX, in a new file only its owner can read.

The command line runs as an admin (`Service.for_cli`), so `--reveal` is allowed; each
export is audited with its filters, row count, format, path and whether it was revealed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from .. import validation as v
from ..i18n import N_, _, ngettext
from ..i18n.formats import format_number
from ..listing import SORTS, TIER_RANKS, CustomerQuery
from ..service import Service, ServiceError
from ..validation import CustomerType
from .root import Paths, emit, main, pass_paths


def _progress() -> Callable[[int, int], None] | None:
    """Rows written out of the list's rows on a terminal's stderr; nothing from cron or a pipe."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        line = _("{done} of {total} rows").format(
            done=format_number(done), total=format_number(total)
        )
        click.echo(f"\r{line}   ", nl=False, err=True)
        if done >= total:
            click.echo(err=True)

    return show


def _owner_id(service: Service, name: str) -> int:
    wanted = v.clean_text(name).casefold()
    for user in service.customer_list.filter_choices().owners:
        if user.username.casefold() == wanted:
            return user.id
    raise ServiceError(
        _("--owner: no user named {name} owns customers or is active").format(name=name)
    )


def _tag_id(service: Service, text: str) -> int:
    """A tag named `NAME` or `TYPE:NAME`; a name two types share must say which."""
    tag_type, sep, name = text.partition(":")
    if not sep:
        tag_type, name = "", text
    name = v.clean_text(name)
    found = [
        tag
        for tag in service.tags.suggest(name, tag_type.strip() or None, limit=100)
        if tag.name == name
    ]
    if not found:
        raise ServiceError(_("--tag: no tag named {name}").format(name=text))
    if len(found) > 1:
        kinds = ", ".join(f"{tag.tag_type}:{tag.name}" for tag in found)
        raise ServiceError(
            _("--tag: {name} is a tag of several types; write one of {kinds}").format(
                name=text, kinds=kinds
            )
        )
    return found[0].id


@main.command(
    "export",
    help=N_(
        "Export the customers the list shows for the same search and filters as CSV (opens"
        " in Excel) or XLSX, masked unless --reveal; readable by you only; audited."
    ),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help=N_("The file to write (.csv or .xlsx)."),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    help=N_("csv or xlsx (default: from the file name, else csv)."),
)
@click.option("--force", is_flag=True, help=N_("Replace an existing file (never a symlink)."))
@click.option(
    "--reveal", is_flag=True, help=N_("Write phones, emails, ID numbers and addresses in full.")
)
@click.option("--search", default="", help=N_("Search text, as typed in the list."))
@click.option(
    "--type",
    "customer_type",
    type=click.Choice([t.value for t in CustomerType]),
    help=N_("Only customers of this type."),
)
@click.option("--industry", help=N_("GB/T 4754 section letter A-T."))
@click.option("--owner", help=N_("Username of the responsible sales rep."))
@click.option("--unassigned", is_flag=True, help=N_("Only customers without an owner."))
@click.option("--tag", help=N_("A tag, as NAME or TYPE:NAME."))
@click.option(
    "--due",
    type=click.Choice(["today", "overdue"]),
    help=N_("Next follow-up due today, or overdue."),
)
@click.option("--tier", type=click.Choice(list(TIER_RANKS)), help=N_("Value tier."))
@click.option("--churn", is_flag=True, help=N_("Only customers with a churn warning."))
@click.option(
    "--sort",
    type=click.Choice(list(SORTS)),
    default="name",
    show_default=True,
    help=N_("Order of the rows."),
)
@click.option("--desc", "descending", is_flag=True, help=N_("Reverse the order."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print a JSON summary."))
@pass_paths
def export_command(
    paths: Paths,
    out: Path,
    fmt: str | None,
    force: bool,
    reveal: bool,
    search: str,
    customer_type: str | None,
    industry: str | None,
    owner: str | None,
    unassigned: bool,
    tag: str | None,
    due: str | None,
    tier: str | None,
    churn: bool,
    sort: str,
    descending: bool,
    as_json: bool,
) -> None:
    if owner and unassigned:
        raise click.UsageError(_("--owner and --unassigned exclude each other"))
    service = paths.service()
    section = (industry or "").strip().upper() or None
    if section is not None and section not in v.INDUSTRY_SECTIONS:
        raise click.BadParameter(_("use a section letter A-T"), param_hint="--industry")
    query = CustomerQuery(
        text=search,
        customer_type=customer_type,
        industry=section,
        owner_id=_owner_id(service, owner) if owner else None,
        unassigned=unassigned,
        tag_id=_tag_id(service, tag) if tag else None,
        due=due,  # type: ignore[arg-type]
        tier=tier,
        churn_risk=churn,
        sort=sort,
        descending=descending,
    )
    result = service.exports.customers(
        query, out, fmt=fmt, reveal=reveal, force=force, progress=_progress()
    )

    def text() -> None:
        message = (
            ngettext(
                "Exported {count} customer to {path} (revealed).",
                "Exported {count} customers to {path} (revealed).",
                result.rows,
            )
            if result.revealed
            else ngettext(
                "Exported {count} customer to {path} (masked).",
                "Exported {count} customers to {path} (masked).",
                result.rows,
            )
        )
        click.echo(message.format(count=format_number(result.rows), path=result.path))

    emit(
        {
            "path": str(result.path),
            "rows": result.rows,
            "format": result.format,
            "revealed": result.revealed,
        },
        as_json,
        text,
    )
