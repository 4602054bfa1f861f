"""Customers from the command line: add, show (masked unless revealed), find."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from ..i18n import N_, _, pgettext
from ..i18n.formats import format_datetime, pad
from ..importer import Provenance
from ..labels import LabelKind, field_label, industry_label, label
from ..service import Customer, Service
from ..validation import CustomerKind, CustomerType, clean_text, validate_customer
from .root import Paths, emit, main, pass_paths


@main.group(help=N_("Add, show and find customers."))
def customer() -> None:
    pass


@customer.command("add", help=N_("Add a customer."))
@click.option("--name", required=True, help=N_("Company or person's name."))
@click.option(
    "--type",
    "customer_type",
    required=True,
    type=click.Choice([t.value for t in CustomerType]),
    help=N_("Prospect, customer or churned."),
)
@click.option(
    "--kind",
    default="company",
    type=click.Choice([k.value for k in CustomerKind]),
    help=N_("A company or a person."),
)
@click.option("--phone", default="", help=N_("Phone number."))
@click.option("--email", default="", help=N_("Email address."))
@click.option("--contact", default="", help=N_("Contact person's name."))
@click.option("--title", default="", help=N_("Contact person's title."))
@click.option("--industry", default="", help=N_("GB/T 4754 section letter A-T."))
@click.option("--credit-code", default="", help=N_("Unified social credit code (companies)."))
@click.option("--id-number", default="", help=N_("Resident ID number (persons)."))
@click.option("--address", default="", help=N_("Address."))
@click.option("--province", default="", help=N_("Province."))
@click.option("--city", default="", help=N_("City."))
@click.option("--source", default="", help=N_("Where the customer came from, e.g. referral."))
@click.option("--size", "company_size", default="", help=N_("Company size, e.g. 10-49."))
@click.option("--notes", default="", help=N_("Notes."))
@click.option("--owner", default=None, help=N_("Username of the responsible sales rep."))
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help=N_("Add it even if a customer with the same phone, email or credit code exists."),
)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def customer_add(
    paths: Paths, as_json: bool, contact: str, title: str, allow_duplicate: bool, **fields: Any
) -> None:
    service = paths.service()
    data = {**fields, "contact_name": contact, "contact_title": title}
    validate_customer(data)
    if not allow_duplicate:
        _refuse_duplicates(service, data)
    created = service.customers.create(data)
    emit(
        _customer_json(created),
        as_json,
        lambda: click.echo(_("Added {code} {name}").format(code=created.code, name=created.name)),
    )


def _refuse_duplicates(service: Service, data: dict[str, Any]) -> None:
    """The form's duplicate rule: a phone, email or credit code another customer has is
    refused, naming that customer (as far as the caller may be told of it)."""
    found = service.duplicates.described(data)
    if not found:
        return
    listed = pgettext("separator", "; ").join(
        _("{code} (same {fields}, owner {owner})").format(
            code=hint.code,
            fields=pgettext("separator", ", ").join(
                field_label(field.replace(" ", "_")) for field in hint.matched
            ),
            owner=hint.owner or pgettext("owner", "none"),
        )
        for hint in found
    )
    raise click.ClickException(
        _(
            "not added: likely a duplicate of {customers}; add it anyway with --allow-duplicate"
        ).format(customers=listed)
    )


@customer.command("hold", help=N_("Put a customer under legal hold (never purged) or lift it."))
@click.argument("code")
@click.option("--on/--off", "on", default=None, help=N_("Set or lift the legal hold."))
@click.option("--reason", required=True, help=N_("Why (kept in the audit log)."))
@pass_paths
def customer_hold(paths: Paths, code: str, on: bool | None, reason: str) -> None:
    if on is None:
        raise click.UsageError(_("say --on or --off"))
    service = paths.service()
    held = service.customers.set_legal_hold(service.customers.get(code).id, on, reason)
    if held.legal_hold:
        click.echo(_("{code} is under legal hold.").format(code=held.code))
    else:
        click.echo(_("{code} is not under legal hold.").format(code=held.code))


def _customer_json(c: Customer) -> dict[str, Any]:
    data = dataclasses.asdict(c)
    data["tags"] = [f"{t['tag_type']}:{t['name']}" for t in data["tags"]]
    return data


_LABELLED: dict[str, LabelKind] = {
    "kind": "customer_kind",
    "customer_type": "customer_type",
    "source": "source",
    "company_size": "company_size",
}


def _shown(key: str, value: Any) -> str:
    """A field's value as the text view shows it: display names, readable dates."""
    if key in _LABELLED:
        return label(_LABELLED[key], value)
    if key == "industry":
        return industry_label(value)
    if key.endswith("_at"):
        return format_datetime(value)
    if isinstance(value, bool):
        return pgettext("boolean", "yes") if value else pgettext("boolean", "no")
    if key == "tags":
        return clean_text(", ".join(value))
    if key == "imported":
        return clean_text(Provenance(**value).described())
    return clean_text(value, multiline=True)  # an older version stored escapes as typed


def _print_customer(c: Customer) -> None:
    for key, value in _customer_json(c).items():
        if value not in ("", None, []):
            click.echo(f"{pad(field_label(key), 20)} {_shown(key, value)}")


@customer.command("show", help=N_("Show one customer by code."))
@click.argument("code")
@click.option("--reveal", is_flag=True, help=N_("Show phone, email, ID number and address."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def customer_show(paths: Paths, code: str, reveal: bool, as_json: bool) -> None:
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


@customer.command(
    "find", help=N_("Find customers by exact phone / email / ID number, or by code or name.")
)
@click.argument("text")
@click.option("--limit", default=20, show_default=True, help=N_("How many at most."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
@pass_paths
def customer_find(paths: Paths, text: str, limit: int, as_json: bool) -> None:
    found = paths.service().customers.find(text, limit)

    def show() -> None:
        if not found:
            click.echo(_("No customer found."))
        for c in found:
            kind = label("customer_type", c.customer_type)
            cells = (c.code, c.name, c.contact_name, c.phone)
            click.echo("  ".join([*map(clean_text, cells), kind]))

    emit([_customer_json(c) for c in found], as_json, show)
    if not found:
        sys.exit(1)
