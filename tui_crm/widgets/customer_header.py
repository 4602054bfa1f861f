"""The top of the detail screen: who the customer is and where the relationship stands.

The header is a list of labelled items packed into as few lines as the width allows, so it
shows the whole profile in five lines at 120 columns and still reads well at 80.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from .. import validation as v
from ..i18n import _, pgettext
from ..i18n.formats import fit_text
from ..labels import industry_label, label
from ..service import Customer
from .terminal_text import terminal_safe_text

GAP = "   "
TAG_STYLES = {"industry": "cyan", "need": "green", "value": "yellow", "custom": "magenta"}


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "—"


def _item(label: str, value: str, style: str = "") -> Text:
    """`label value` as plain text: the value is customer text and is never parsed."""
    text = Text()
    if label:
        text.append(label + " ", "dim")
    text.append(v.clean_text(value) or "—", style)
    return text


def _identity(customer: Customer) -> list[Text]:
    name = Text()
    name.append(customer.code, "bold cyan")
    name.append("  ")
    name.append(v.clean_text(customer.name), "bold")
    kind = [label("customer_kind", customer.kind), label("customer_type", customer.customer_type)]
    if customer.kind == "company" and customer.company_size:
        kind.append(label("company_size", customer.company_size))
    items = [name, _item("", " · ".join(filter(None, kind)))]
    if customer.value_tier:
        style = "dim" if customer.value_tier == "none" else "bold black on yellow"
        badge = label("value_tier", customer.value_tier)
        if customer.value_tier == "high":
            badge = "★ " + badge
        items.append(Text(f" {badge} ", style))
    if customer.churn_risk:
        items.append(Text(" " + _("CHURN RISK") + " ", "bold white on dark_orange3"))
    if customer.legal_hold:
        items.append(Text(" " + _("LEGAL HOLD") + " ", "bold white on dark_red"))
    return items


def _profile(customer: Customer) -> list[Text]:
    items = [
        _item(_("Owner"), customer.owner or _("unassigned")),
        _item(_("Industry"), industry_label(customer.industry)),
        _item(_("Source"), label("source", customer.source)),
    ]
    if customer.imported is not None:
        items.append(_item(_("Imported"), customer.imported.described()))
    return items


def _contact(customer: Customer) -> list[Text]:
    person = v.clean_text(customer.contact_name)
    title = v.clean_text(customer.contact_title)
    both = _("{person}, {title}").format(person=person, title=title)
    contact = both if person and title else person or title
    place = " ".join(filter(None, (v.clean_text(customer.province), v.clean_text(customer.city))))
    if contact or customer.kind == "company":
        items = [_item(pgettext("customer detail", "Contact"), contact)]
    else:
        items = []
    items.append(_item(_("Place"), place))
    if customer.kind == "company":
        items.append(_item(_("Credit code"), customer.credit_code))
    return items


def _tags(customer: Customer) -> list[Text]:
    if not customer.tags:
        return [_item(_("Tags"), _("none (t adds one)"), "dim")]
    items = [
        Text(v.clean_text(tag.name), TAG_STYLES.get(tag.tag_type, "")) for tag in customer.tags
    ]
    items[0] = Text(_("Tags") + " ", "dim") + items[0]
    return items


def _dates(customer: Customer, today: str) -> list[Text]:
    plan = (customer.next_followup_at or "")[:10]
    overdue = bool(plan) and plan < today
    nxt = Text(_("Next follow-up") + " ", "dim")
    none = pgettext("follow-up plan", "none")
    nxt.append(plan or none, "bold white on red" if overdue else "bold")
    if overdue:
        nxt.append(" " + _("overdue"), "bold red")
    return [
        _item(_("Created"), _when(customer.created_at)[:10]),
        _item(_("Updated"), _when(customer.updated_at)[:10]),
        _item(_("Last contact"), _when(customer.last_interaction_at)),
        nxt,
    ]


def header_rows(customer: Customer, today: str) -> list[list[Text]]:
    """The header's rows; each row starts on a new line and wraps item by item."""
    return [
        _identity(customer),
        _profile(customer),
        _contact(customer),
        _tags(customer),
        _dates(customer, today),
    ]


def pack(rows: list[list[Text]], width: int) -> list[Text]:
    """Lines of at most `width` cells: items are never split, too-long ones end in '…';
    emoji the terminals draw at different widths are shown plain (`terminal_text`)."""
    lines: list[Text] = []
    width = max(width, 10)
    for row in rows:
        line = Text(no_wrap=True, overflow="ellipsis")
        for item in map(terminal_safe_text, row):
            if line and line.cell_len + len(GAP) + item.cell_len > width:
                lines.append(line)
                line = Text(no_wrap=True, overflow="ellipsis")
            if line:
                line.append(GAP)
            line.append_text(item)
        lines.append(line)
    for line in lines:
        fit_text(line, width)
    return lines


def header_text(customer: Customer, today: str, width: int = 120) -> Text:
    """The header as one plain Text at `width`; nothing the customer typed is read as markup."""
    return Text("\n", no_wrap=True).join(pack(header_rows(customer, today), width))


class CustomerHeader(Widget):
    """Code, name, kind, type, size, owner, industry, source, contact, place, credit code,
    tags, hold, dates and the next planned follow-up."""

    DEFAULT_CSS = """
    CustomerHeader { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(
        self, customer: Customer, *, today: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.today = today or dt.date.today().isoformat()
        self.customer = customer

    def show(self, customer: Customer) -> None:
        self.customer = customer
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(pack(header_rows(self.customer, self.today), width))

    def render(self) -> Text:
        return header_text(self.customer, self.today, self.content_region.width)
