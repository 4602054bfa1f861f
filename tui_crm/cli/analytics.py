"""Reports for cron and spreadsheets (`report tiers|churn|funnel|activity`), the daily jobs
(`analytics recompute`, `churn refresh`) and the monthly verification sample (`verify`).

Text for people, `--json` for programs, `--csv` (one row per tier, rep, group or week) for
spreadsheets; the numbers are the service's, scoped like every read."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

import click

from ..analytics import BREAKDOWNS, Breakdown
from ..i18n import N_, _
from ..i18n.formats import format_date, format_money, format_number, format_percent, pad
from ..labels import label
from ..tabular import neutralise
from .root import Paths, day_option, emit, main, pass_paths


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _share(fraction: float | None) -> str:
    return "–" if fraction is None else format_percent(fraction)


def _output(result: Any, as_json: bool, as_csv: bool, text: Callable[[], None]) -> None:
    if as_json and as_csv:
        raise click.UsageError(_("choose --json or --csv, not both"))
    if as_csv:
        rows = result.csv_rows()
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(  # opened in a spreadsheet: names and regions are customer text
                {k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()}
                for row in rows
            )
        return
    emit(result.to_dict(), as_json, text)


def _formats(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--csv", "as_csv", is_flag=True, help=N_("Print CSV."))(command)
    return click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))(command)


def _period(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--until", callback=day_option, help=N_("Up to this day, YYYY-MM-DD."))(
        command
    )
    return click.option("--since", callback=day_option, help=N_("From this day, YYYY-MM-DD."))(
        command
    )


@main.group("report", help=N_("Value tiers, churn risk, the sales funnel and activity."))
def report() -> None:
    pass


@report.command("tiers", help=N_("Customers, spend and orders per value tier."))
@_formats
@pass_paths
def tiers(paths: Paths, as_json: bool, as_csv: bool) -> None:
    result = paths.service().analytics.tiers()

    def text() -> None:
        for row in result.tiers:
            click.echo(
                f"{pad(label('value_tier', row.tier), 14)}"
                f"{pad(format_number(row.customers), 10, right=True)}"
                f"{pad(format_percent(row.share), 8, right=True)}"
                f"{pad(format_money(row.order_total_cents), 18, right=True)}"
                f"{pad(format_number(row.order_count), 9, right=True)}"
            )
        for tier, customers in result.top.items():
            for customer in customers:
                click.echo(
                    f"{pad(label('value_tier', tier), 14)}{pad(customer.code, 12)}"
                    f"{pad(customer.name, 24)}{format_money(customer.order_total_cents)}"
                )

    _output(result, as_json, as_csv, text)


@report.command("churn", help=N_("Customers at risk of churning, by rule, tier and rep."))
@_formats
@pass_paths
def churn(paths: Paths, as_json: bool, as_csv: bool) -> None:
    result = paths.service().analytics.churn()

    def text() -> None:
        click.echo(
            _("{at_risk} of {customers} customers at risk (as of {day}).").format(
                at_risk=format_number(result.at_risk),
                customers=format_number(result.customers),
                day=format_date(result.refreshed_on) or _("never refreshed"),
            )
        )
        for rule, count in result.by_rule.items():
            click.echo(f"  {pad(rule, 24)}{pad(format_number(count), 10, right=True)}")
        for tier, count in result.by_tier.items():
            click.echo(
                f"  {pad(label('value_tier', tier), 24)}{pad(format_number(count), 10, right=True)}"
            )
        unowned = _("(no owner)")
        for rep in result.by_rep:
            click.echo(
                f"  {pad(rep.owner or unowned, 24)}"
                f"{pad(format_number(rep.at_risk), 10, right=True)}"
            )

    _output(result, as_json, as_csv, text)


@report.command("funnel", help=N_("Leads, interested, customers and repeat customers."))
@_period
@click.option(
    "--by", type=click.Choice(sorted(BREAKDOWNS)), help=N_("Break down by rep, source, ...")
)
@_formats
@pass_paths
def funnel(
    paths: Paths,
    since: str | None,
    until: str | None,
    by: Breakdown | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    result = paths.service().analytics.funnel(_day(since), _day(until), by)

    def text() -> None:
        for group in (result.total, *result.groups):
            click.echo(group.label if group is not result.total else _("All"))
            for step in group.steps:
                days = "–" if step.median_days is None else f"{step.median_days:g}"
                click.echo(
                    f"  {pad(label('funnel_step', step.step), 18)}"
                    f"{pad(format_number(step.count), 10, right=True)}"
                    f"{pad(_share(step.rate), 9, right=True)}"
                    f"{pad(_share(step.rate_of_leads), 9, right=True)}"
                    f"{pad(days, 8, right=True)}"
                )

    _output(result, as_json, as_csv, text)


@report.command("activity", help=N_("Follow-ups and orders per week."))
@_period
@_formats
@pass_paths
def activity(
    paths: Paths,
    since: str | None,
    until: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    result = paths.service().analytics.activity(_day(since), _day(until))

    def text() -> None:
        for week in result.weeks:
            click.echo(
                f"{pad(format_date(week.week), 14)}"
                f"{pad(format_number(week.followups), 8, right=True)}"
                f"{pad(format_number(week.orders), 8, right=True)}"
                f"{pad(format_money(week.order_total_cents), 18, right=True)}"
            )

    _output(result, as_json, as_csv, text)


@main.group("analytics", help=N_("Jobs that keep the analytics current."))
def analytics_group() -> None:
    pass


@analytics_group.command(
    "recompute", help=N_("Re-score every customer's value tier (daily, from cron).")
)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def recompute(paths: Paths, as_json: bool) -> None:
    result = paths.service().analytics.recompute_tiers()

    def text() -> None:
        click.echo(
            _("{changed} customers changed tier.").format(changed=format_number(result.changed))
        )
        for tier, count in result.counts.items():
            click.echo(f"  {pad(label('value_tier', tier), 14)}{format_number(count)}")

    emit(result.to_dict(), as_json, text)


@main.group("churn", help=N_("Churn warnings."))
def churn_group() -> None:
    pass


@churn_group.command(
    "refresh", help=N_("Re-evaluate the churn rules and plan follow-ups (daily, from cron).")
)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def refresh(paths: Paths, as_json: bool) -> None:
    result = paths.service().analytics.refresh_churn()
    summary = result.summary()

    def text() -> None:
        click.echo(
            _(
                "{at_risk} customers at risk: {raised} new warnings, {cleared} cleared,"
                " {reminders} follow-ups planned."
            ).format(
                **{k: format_number(summary[k]) for k in summary if k not in ("as_of", "rules")}
            )
        )

    emit(summary, as_json, text)


@main.group("verify", help=N_("The monthly verification sample."))
def verify() -> None:
    pass


@verify.command("draw", help=N_("Draw this month's sample (once a month)."))
@click.option("--month", help=N_("The month, YYYY-MM (default: this month)."))
@click.option("--percent", type=click.FloatRange(0, 100, min_open=True), help=N_("Share to draw."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def draw(paths: Paths, month: str | None, percent: float | None, as_json: bool) -> None:
    sample = paths.service().verification.draw(month, percent)

    def text() -> None:
        click.echo(
            _("Drew {size} of {population} customers for {month} (seed {seed}); due {due}.").format(
                size=format_number(sample.size),
                population=format_number(sample.population),
                month=sample.month,
                seed=sample.seed,
                due=format_date(sample.due_on),
            )
        )

    emit(sample.to_dict(), as_json, text)


@verify.command("report", help=N_("Outcomes, error rate per field and overdue checks."))
@click.option("--month", help=N_("The month, YYYY-MM (default: the newest sample)."))
@_formats
@pass_paths
def verify_report(paths: Paths, month: str | None, as_json: bool, as_csv: bool) -> None:
    result = paths.service().verification.report(month)

    def text() -> None:
        click.echo(
            _("{month}: {size} customers drawn, {overdue} overdue.").format(
                month=result.sample.month,
                size=format_number(result.sample.size),
                overdue=format_number(result.overdue),
            )
        )
        for status, share in result.shares.items():
            click.echo(
                f"  {pad(label('check_outcome', status), 16)}"
                f"{pad(format_number(result.counts[status]), 8, right=True)}"
                f"{pad(format_percent(share), 9, right=True)}"
            )
        for error in result.field_errors:
            click.echo(f"  {pad(error.field, 16)}{pad(format_percent(error.rate), 9, right=True)}")
        for step in result.progress:
            click.echo(f"  {pad(step.assignee, 16)}{step.done}/{step.total}")

    _output(result, as_json, as_csv, text)
