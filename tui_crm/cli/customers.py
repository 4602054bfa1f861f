"""Customers from the command line: add, show (masked unless revealed), find."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from ..service import Customer
from ..validation import CustomerKind, CustomerType
from .root import Paths, emit, main, pass_paths


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
    created = paths.service().customers.create(
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
    found = service.customers.get(code)
    if reveal:
        found = dataclasses.replace(
            found,
            **{
                name: service.customers.reveal(found.id, name)
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
    found = paths.service().customers.find(text, limit)

    def show() -> None:
        if not found:
            click.echo("No customer found.")
        for c in found:
            click.echo(f"{c.code}  {c.name}  {c.contact_name}  {c.phone}  {c.customer_type}")

    emit([_customer_json(c) for c in found], as_json, show)
    if not found:
        sys.exit(1)
