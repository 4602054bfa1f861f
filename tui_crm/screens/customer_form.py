"""Create or edit a customer's base information in one validated modal form.

Sensitive fields start empty on edit (the screen never holds their plaintext): whatever is
typed replaces the stored value, an empty field keeps it, and a lone `-` clears it (the
service still refuses to remove the last phone or email).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Input, Select, TextArea

from .. import validation as v
from ..i18n import N_, _, pgettext
from ..i18n.formats import format_list
from ..labels import choices, industry_label
from ..roles import Action
from ..service import (
    SENSITIVE_FIELDS,
    ConflictError,
    Customer,
    Service,
    ServiceError,
)
from ..widgets.message_text import message_text
from .confirm import ConfirmScreen
from .conflict import ConflictScreen
from .form_base import CORRECT_THE_FIELDS, FormScreen

CLEAR = "-"
DUPLICATE_KEYS = {"phone", "email", "credit_code"}
# Free text stored as typed but for `validation.clean_line`'s changes, which the form
# shows under the field before saving; the other fields are normalised as numbers/codes.
HINTED_FIELDS = ("name", "contact_name", "contact_title", "province", "city", "address")

# Field codes and their labels (English messages, looked up when the form is drawn).
TEXT_FIELDS = {
    "name": N_("Name *"),
    "contact_name": N_("Contact person"),
    "contact_title": N_("Contact title"),
    "phone": N_("Phone (phone or email required)"),
    "email": N_("Email"),
    "credit_code": N_("Unified social credit code (companies)"),
    "id_number": N_("ID number (persons)"),
    "province": N_("Province"),
    "city": N_("City"),
    "address": N_("Address"),
}
# How the duplicate question names what matched (`DuplicateHint.matched`).
MATCHED_FIELDS = {"phone": "phone", "email": "email", "credit code": "credit_code"}


def customer_values(customer: Customer) -> dict[str, Any]:
    """The form's starting values for an existing customer (sensitive ones empty)."""
    values: dict[str, Any] = {
        name: ("" if name in SENSITIVE_FIELDS else getattr(customer, name)) for name in TEXT_FIELDS
    }
    values.update(
        kind=customer.kind,
        customer_type=customer.customer_type,
        industry=customer.industry,
        company_size=customer.company_size,
        source=customer.source,
        notes=customer.notes,
        owner=customer.owner,
        legal_hold=customer.legal_hold,
    )
    return values


class CustomerFormScreen(FormScreen["Customer | None"]):
    """Dismisses with the saved customer, or None when cancelled."""

    def __init__(self, service: Service, customer: Customer | None) -> None:
        super().__init__()
        self.service = service
        self.customer = customer
        self.version = customer.version if customer else 0
        self.accepted_duplicates: dict[str, Any] | None = None
        self.can_reassign = service.can(Action.CUSTOMER_REASSIGN)
        self.can_hold = customer is not None and service.can(Action.LEGAL_HOLD)
        names = [
            *TEXT_FIELDS,
            "kind",
            "customer_type",
            "industry",
            "company_size",
            "source",
            "notes",
        ]
        if self.can_reassign:
            names.append("owner")
        if self.can_hold:
            names.append("legal_hold")
        self.field_names = tuple(names)

    def form_title(self) -> str:
        if self.customer is None:
            return _("New customer")
        return _("Edit {code}").format(code=self.customer.code)  # a system-made code

    def compose(self) -> ComposeResult:
        start = customer_values(self.customer) if self.customer else {}
        masked = {n: getattr(self.customer, n) for n in SENSITIVE_FIELDS} if self.customer else {}
        with VerticalScroll(classes="form"):
            yield from self.header()
            for name, label in TEXT_FIELDS.items():
                unchanged = _("unchanged: {value} · type {clear} to clear")
                placeholder = (
                    unchanged.format(value=masked[name], clear=CLEAR) if masked.get(name) else ""
                )
                yield from self.field(
                    name,
                    _(label),
                    Input(start.get(name, ""), placeholder=placeholder),
                    hint=name in HINTED_FIELDS,
                )
            yield from self.field(
                "kind",
                pgettext("customer form", "Kind"),
                Select(
                    choices("customer_kind"),
                    value=start.get("kind", "company"),
                    allow_blank=False,
                ),
            )
            yield from self.field(
                "customer_type",
                _("Type *"),
                Select(
                    choices("customer_type"),
                    value=start.get("customer_type") or Select.NULL,
                ),
            )
            yield from self.field(
                "industry",
                _("Industry (GB/T 4754)"),
                Select(
                    [(industry_label(code), code) for code in v.INDUSTRY_SECTIONS],
                    value=start.get("industry") or Select.NULL,
                ),
            )
            yield from self.field(
                "company_size",
                _("Company size"),
                Select(choices("company_size"), value=start.get("company_size") or Select.NULL),
            )
            yield from self.field(
                "source",
                _("Source"),
                Select(choices("source"), value=start.get("source") or Select.NULL),
            )
            yield from self.field("notes", _("Notes"), TextArea(start.get("notes", "")))
            if self.can_reassign:
                users = [u.username for u in self.service.users.active()]
                owner = start.get("owner") or (
                    self.service.user.username if self.customer is None else ""
                )
                yield from self.field(
                    "owner",
                    _("Owner"),
                    Select([(u, u) for u in users], value=owner if owner in users else Select.NULL),
                )
            if self.can_hold:
                yield from self.field(
                    "legal_hold",
                    _("Legal hold"),
                    Checkbox(_("Under legal hold (never purged)"), start.get("legal_hold", False)),
                )
            yield self.footer()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Say what will be saved when it differs from what is typed by more than the
        spaces around it (a tab, a double space, an invisible or bidi character)."""
        name = (event.input.id or "").removeprefix("f-")
        if name not in HINTED_FIELDS:
            return
        stored = v.stored_form(event.value)
        if stored == event.value.strip() or event.value.strip() == CLEAR:
            self.show_hint(name, None)
        else:
            saved_as = _("Will be saved as: {value}")
            value = Text(stored) if stored else Text(_("(nothing)"), "italic")
            self.show_hint(name, message_text(saved_as, "italic", value=value))

    def changes(self) -> dict[str, Any]:
        """What the operator changed; on create, everything filled in."""
        values = self.values()
        if self.customer is None:
            return {k: val for k, val in values.items() if val not in ("", None)}
        start = customer_values(self.customer)
        changed: dict[str, Any] = {}
        for name, value in values.items():
            if name in SENSITIVE_FIELDS:
                if value.strip() == CLEAR:
                    changed[name] = ""
                elif value:
                    changed[name] = value
            elif value != start.get(name):
                changed[name] = value
        return changed

    def save(self) -> None:
        if self.customer is None:
            self._create()
        else:
            self._update(self.changes(), self.version)

    def _create(self) -> None:
        data = self.changes()
        try:
            v.validate_customer(data)
        except v.FormErrors as exc:
            self.show_errors(exc.errors, _(CORRECT_THE_FIELDS))
            return
        if not self._confirm_unless_duplicate(data, self._create):
            self.submit(lambda: self.service.customers.create(data))

    def _confirm_unless_duplicate(
        self, data: dict[str, Any], save_anyway: Callable[[], None]
    ) -> bool:
        """Ask before saving a phone, email or credit code another customer already has
        (not this one, when editing); True while the question is open. Asked again only if
        those values change after "save anyway". Colleagues' customers are named only as
        `duplicate_hints` allows."""
        probed = {k: val for k, val in data.items() if k in DUPLICATE_KEYS and val}
        if not probed or probed == self.accepted_duplicates:
            return False
        exclude_id = self.customer.id if self.customer else None
        duplicates = self.service.duplicates.find(data, exclude_id)
        hints = self.service.duplicates.hints(data, exclude_id)
        if not duplicates and not hints:
            return False
        details = Text(_("Customers with the same phone, email or credit code:") + "\n")
        for other in duplicates:
            details.append(f"\n  {other.code}  ", "bold")
            details.append(v.clean_text(other.name))
            details.append("  ")
            line = _("{contact}  owner {owner}")
            contact = other.phone or other.email
            owner = v.clean_text(other.owner) or "—"
            details.append(message_text(line, "dim", contact=Text(contact, "dim"), owner=owner))
        for hint in hints:
            details.append(f"\n  {hint.code}  ", "bold")
            matched = format_list(
                [v.field_label(MATCHED_FIELDS.get(name, name)) for name in hint.matched]
            )
            line = _("same {fields}, owned by {owner} (ask them before adding it again)")
            owner = v.clean_text(hint.owner) or _("nobody yet")
            details.append(message_text(line, "dim", fields=Text(matched, "dim"), owner=owner))

        def answered(accepted: bool | None) -> None:
            if accepted:
                self.accepted_duplicates = probed
                save_anyway()

        self.app.push_screen(
            ConfirmScreen(_("This looks like a duplicate. Save it anyway?"), details), answered
        )
        return True

    def _update(self, changes: dict[str, Any], version: int) -> None:
        assert self.customer is not None
        if not changes:
            self.dismiss(self.customer)
            return
        if self._confirm_unless_duplicate(changes, lambda: self._update(changes, version)):
            return
        try:
            saved = self.service.customers.update(self.customer.id, changes, version)
        except v.FormErrors as exc:
            self.show_errors(exc.errors, _(CORRECT_THE_FIELDS))
        except v.ValidationError as exc:
            self.show_errors({exc.field: exc.message}, _(CORRECT_THE_FIELDS))
        except ConflictError as exc:
            self._resolve(changes, exc.current)
        except ServiceError as exc:
            self.show_errors({}, str(exc))
        else:
            self.dismiss(saved)

    def _resolve(self, changes: dict[str, Any], current: Customer) -> None:
        assert self.customer is not None
        started_from = self.customer

        def chosen(choice: str | None) -> None:
            if choice == "overwrite":
                self.version = current.version
                self._update(changes, current.version)
            elif choice == "reload":
                self.customer = current
                self.version = current.version
                self._fill(customer_values(current))
                self.show_errors({}, _("Reloaded the saved version; your changes were set aside."))

        self.app.push_screen(ConflictScreen(started_from, changes, current), chosen)

    def _fill(self, values: dict[str, Any]) -> None:
        for name in self.field_names:
            widget = self.query_one(f"#f-{name}")
            value = values.get(name, "")
            if isinstance(widget, Input):
                widget.value = str(value)
            elif isinstance(widget, TextArea):
                widget.text = str(value)
            elif isinstance(widget, Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, Select):
                widget.value = value if value else Select.NULL
        self.mark_clean()
