"""The top of the detail screen: who the customer is and where the relationship stands."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.widgets import Static

from .. import validation as v
from ..service import Customer


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "—"


def header_text(customer: Customer, today: str) -> Text:
    """Plain text built from parts, so nothing the customer typed is read as markup."""
    text = Text()
    text.append(customer.code, "bold cyan")
    text.append("  ")
    text.append(v.clean_text(customer.name), "bold")
    text.append(f"  {customer.kind} · ")
    label = v.CUSTOMER_TYPE_LABELS.get(v.CustomerType(customer.customer_type), "")
    text.append(label or customer.customer_type)
    if customer.legal_hold:
        text.append("  ")
        text.append(" LEGAL HOLD ", "bold white on dark_red")
    text.append("\nIndustry ", "dim")
    section = v.INDUSTRY_SECTIONS.get(customer.industry)
    text.append(f"{customer.industry} {section[0]} {section[1]}" if section else "—")
    text.append("   Owner ", "dim")
    text.append(v.clean_text(customer.owner) or "unassigned")
    text.append("\nCreated ", "dim")
    text.append(_when(customer.created_at))
    text.append("  Updated ", "dim")
    text.append(_when(customer.updated_at))
    text.append("  Last contact ", "dim")
    text.append(_when(customer.last_interaction_at))
    text.append("  Next follow-up ", "dim")
    plan = (customer.next_followup_at or "")[:10]
    overdue = bool(plan) and plan < today
    text.append(plan or "none", "bold white on red" if overdue else "bold")
    if overdue:
        text.append(" overdue", "bold red")
    return text


class CustomerHeader(Static):
    """Code, name, kind, type, industry, owner, hold, dates and the next planned follow-up."""

    DEFAULT_CSS = """
    CustomerHeader { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(
        self, customer: Customer, *, today: str | None = None, id: str | None = None
    ) -> None:
        self.today = today or dt.date.today().isoformat()
        super().__init__(header_text(customer, self.today), id=id)

    def show(self, customer: Customer) -> None:
        self.update(header_text(customer, self.today))
