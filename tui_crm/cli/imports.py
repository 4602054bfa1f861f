"""Customer imports for SSH and cron: `import FILE` (dry run, report, JSON), `import list`,
`import undo RUN`. Runs cut short are named on stderr, with how to resume or undo them."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..i18n import N_, _, ngettext
from ..i18n.formats import format_number
from ..importer import (
    ImportFileError,
    ImportOptions,
    ImportProgress,
    ImportSummary,
    LegalBasis,
    RunInfo,
    Strategy,
)
from ..service import Service
from ..tabular import shown
from ..validation import CustomerType
from .root import CrmGroup, Paths, emit, main, pass_paths

SHOWN_REJECTS = 10
RUN_COMMAND = "file"


class ImportGroup(CrmGroup):
    """`import FILE ...` runs an import; `import list` and `import undo` are sub-commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [RUN_COMMAND, *args]
        return super().parse_args(ctx, args)


def _progress() -> Callable[[ImportProgress], None] | None:
    """Rows done (and the time left) on a terminal's stderr; nothing from cron or a pipe."""
    if not sys.stderr.isatty():
        return None

    def show(p: ImportProgress) -> None:
        total = format_number(p.total_rows) if p.total_rows is not None else "?"
        left = f"  ~{p.eta_seconds:.0f}s" if p.eta_seconds is not None else ""
        line = _("{done} of {total} rows").format(done=format_number(p.rows_done), total=total)
        click.echo(f"\r{line}{left}   ", nl=False, err=True)
        if p.total_rows is not None and p.rows_done >= p.total_rows:
            click.echo(err=True)

    return show


def _mapping(service: Service, name: str | None, pairs: tuple[str, ...]) -> dict[str, str]:
    """A saved mapping, then each `Header=field` on top (`Header=` ignores the column)."""
    mapping = service.imports.load_mapping(name) if name else {}
    for pair in pairs:
        header, sep, field = pair.partition("=")
        if not sep or not header.strip():
            raise ImportFileError(
                _("--map takes Header=field, not {value}").format(value=repr(pair))
            )
        mapping[header.strip()] = field.strip()
    return mapping


def _warn_interrupted(runs: list[RunInfo]) -> None:
    for run in runs:
        click.echo(
            _(
                "Import run {id} ({file}) was cut short after line {line}: finish it with"
                " `tui-crm import {file} --resume {id}` or remove it with"
                " `tui-crm import undo {id}`."
            ).format(id=run.id, file=shown(run.file_name), line=run.last_line),
            err=True,
        )


@main.group(
    "import",
    cls=ImportGroup,
    help=N_(
        "Import customers from a CSV or XLSX file: `import FILE --legal-basis B`;"
        " `import list`; `import undo RUN`."
    ),
)
@pass_paths
def import_group(paths: Paths) -> None:
    _warn_interrupted(paths.service().imports.interrupted())


def _print_summary(summary: ImportSummary) -> None:
    heading = (
        _("Dry run of {file}: nothing was written.")
        if summary.dry_run
        else _("Imported {file} as run {run}.")
    )
    click.echo(heading.format(file=shown(summary.file_name), run=summary.run_id))
    counts = (
        (_("would create") if summary.dry_run else _("created"), summary.created),
        (_("would update") if summary.dry_run else _("updated"), summary.updated),
        (_("skipped (already there)"), summary.skipped),
        (_("rejected"), summary.rejected),
        (_("to review (same name)"), summary.review),
    )
    if summary.title_rows:
        click.echo(
            ngettext(
                "The header row is line {line}; the {count} row above it was skipped as a title.",
                "The header row is line {line}; the {count} rows above it were skipped as a title.",
                summary.title_rows,
            ).format(line=summary.header_line, count=summary.title_rows)
        )
    click.echo(_("{rows} rows:").format(rows=format_number(summary.rows)))
    for label, count in counts:
        click.echo(f"  {label}: {format_number(count)}")
    if summary.unknown_columns:
        click.echo(
            _("Columns not imported: {columns}").format(columns=", ".join(summary.unknown_columns))
        )
    for line, errors in summary.rejected_rows[:SHOWN_REJECTS]:
        reasons = "; ".join(f"{field}: {why}" for field, why in errors.items())
        click.echo(_("  line {line} rejected: {reasons}").format(line=line, reasons=reasons))
    hidden = summary.rejected - min(len(summary.rejected_rows), SHOWN_REJECTS)
    if hidden > 0:
        click.echo(
            ngettext(
                "  ... and {count} more rejected row",
                "  ... and {count} more rejected rows",
                hidden,
            ).format(count=format_number(hidden))
        )
    if summary.report_path:
        click.echo(_("Rejected rows are written to {path}").format(path=summary.report_path))


@import_group.command(
    RUN_COMMAND,
    help=N_("Import FILE (CSV or XLSX) as one undoable run; --dry-run says what it would do."),
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--legal-basis",
    required=True,
    type=click.Choice([b.value for b in LegalBasis]),
    help=N_("The grounds on which the data was collected (PIPL art. 13)."),
)
@click.option("--source", default="", help=N_("Where the file came from, kept with the run."))
@click.option(
    "--strategy",
    "--duplicates",
    "strategy",
    type=click.Choice([s.value for s in Strategy]),
    default=Strategy.SKIP.value,
    show_default=True,
    help=N_(
        "What to do with a row that matches an existing customer (by its code, else by"
        " phone, email, ID number or credit code)."
    ),
)
@click.option("--encoding", help=N_("The file's text encoding (found out when not given)."))
@click.option("--delimiter", help=N_("The CSV delimiter (found out when not given)."))
@click.option("--sheet", help=N_("The XLSX sheet to read (the first when not given)."))
@click.option(
    "--date-format",
    type=click.Choice(["ymd", "dmy", "mdy"]),
    help=N_("The order of day, month and year in the file's dates."),
)
@click.option("--mapping", "mapping_name", metavar="NAME", help=N_("Use a saved mapping."))
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="HEADER=FIELD",
    help=N_("Map a column to a field (repeatable); HEADER= ignores the column."),
)
@click.option(
    "--default-type",
    type=click.Choice([t.value for t in CustomerType]),
    help=N_("The customer type of rows that give none."),
)
@click.option("--dry-run", is_flag=True, help=N_("Say what the import would do; write nothing."))
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help=N_("Write the rejected rows, with reasons, to this CSV file."),
)
@click.option(
    "--resume", "resume_run", type=int, metavar="RUN", help=N_("Finish an interrupted run.")
)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def import_file(paths: Paths, file: Path, **given: Any) -> None:
    service = paths.service()
    options = ImportOptions(
        legal_basis=given["legal_basis"],
        source=given["source"],
        strategy=given["strategy"],
        mapping=_mapping(service, given["mapping_name"], given["pairs"]),
        encoding=given["encoding"],
        delimiter=given["delimiter"],
        sheet=given["sheet"],
        date_format=given["date_format"],
        default_type=given["default_type"],
    )
    summary = service.imports.run(
        file,
        options,
        dry_run=given["dry_run"],
        report_path=given["report_path"],
        progress=_progress(),
        resume_run_id=given["resume_run"],
    )
    emit(summary.as_dict(), given["as_json"], lambda: _print_summary(summary))


@import_group.command("list", help=N_("List import runs, newest first."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def list_runs(paths: Paths, as_json: bool) -> None:
    runs = paths.service().imports.runs()

    def text() -> None:
        for run in runs:
            click.echo(
                f"{run.id:>5}  {run.started_at[:16]}  {run.status:<11}  {shown(run.file_name)}  "
                + _("created {created}, updated {updated}, rejected {rejected}").format(
                    created=run.created, updated=run.updated, rejected=run.rejected
                )
            )
        if not runs:
            click.echo(_("No import runs yet."))

    emit([dataclasses.asdict(r) for r in runs], as_json, text)


@import_group.command("undo", help=N_("Undo an import run: remove what it created, restore"
                                      " what it updated, unless changed since."))  # fmt: skip
@click.argument("run_id", metavar="RUN", type=int)
@pass_paths
def undo(paths: Paths, run_id: int) -> None:
    summary = paths.service().imports.undo(run_id, progress=_progress())
    click.echo(
        _("Run {id} undone: {deleted} removed, {restored} restored, {kept} kept.").format(
            id=run_id, deleted=summary.deleted, restored=summary.restored, kept=len(summary.kept)
        )
    )
    for code, why in summary.kept:
        click.echo(_("  kept {code}: {why}").format(code=code, why=why))
