"""My verification checks: the month's sample items assigned to me, to call and mark.

Enter opens the customer; v verified, c corrected (opens the edit form, and the saved edit
is linked to the check; a checker who may not edit names the wrong fields and the check
goes to the customer's rep), u unreachable, p wrong person. Loaded in a thread worker.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from .. import validation as v
from ..i18n import N_, _
from ..i18n.formats import fit, pad
from ..labels import label
from ..roles import Action
from ..service import Customer, Service, ServiceError
from ..verification import CHECKED_FIELDS, Item, ItemStatus
from ..widgets.keys_footer import KeysFooter
from ..widgets.translated_bindings import TranslatedBindings
from .customer_form import CustomerFormScreen
from .wrong_fields import WrongFieldsScreen

STATUS_STYLES = {
    "pending": "bold",
    "verified": "green",
    "corrected": "yellow",
    "unreachable": "dim",
    "wrong_person": "red",
}


def item_label(item: Item) -> Text:
    status = pad(label("check_outcome", item.status), 13)
    text = Text(status, STATUS_STYLES.get(item.status, ""))
    text.append(f"{item.code:<12}", "cyan")
    text.append(fit(v.clean_text(item.name), 32) + " ")
    text.append(v.clean_text(item.owner) or _("unassigned"), "dim")
    return text


class ChecksScreen(TranslatedBindings, Screen[None]):
    """The signed-in user's checks in the newest sample (an admin's: everyone's)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), show=False, id="checks.back"),
        Binding("v", "mark('verified')", N_("Verified"), id="checks.verified"),
        Binding("c", "correct", N_("Corrected"), id="checks.corrected"),
        Binding("u", "mark('unreachable')", N_("Unreachable"), id="checks.unreachable"),
        Binding("p", "mark('wrong_person')", N_("Wrong person"), id="checks.wrong_person"),
        Binding("ctrl+r", "reload", N_("Refresh"), show=False, id="checks.refresh"),
    ]

    DEFAULT_CSS = """
    ChecksScreen #checks-title { padding: 0 1; background: $boost; }
    ChecksScreen OptionList { height: 1fr; }
    """

    def __init__(self, service: Service, month: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.month = month
        self.items: dict[int, Item] = {}

    def compose(self) -> ComposeResult:
        yield Static(_("Loading checks…"), id="checks-title", markup=False)
        yield OptionList(id="checks-list")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.action_reload()

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="checks")
    def _load(self) -> None:
        try:
            items = self.service.verification.worklist(self.month, limit=1000)
            progress = self.service.verification.progress(self.month)
        except ServiceError as exc:
            self.app.call_from_thread(self._title, str(exc))
            return
        if not get_current_worker().is_cancelled:
            done = sum(p.done for p in progress)
            total = sum(p.total for p in progress)
            title = _("Checks: {done} of {total} done").format(done=done, total=total)
            self.app.call_from_thread(self._show, items, title)

    def _title(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#checks-title", Static).update(text)

    def _show(self, items: tuple[Item, ...], title: str) -> None:
        if not self.is_attached:
            return
        self.items = {item.id: item for item in items}
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(Option(item_label(item), id=str(item.id)) for item in items)
        if items:
            listing.highlighted = 0 if highlighted is None else min(highlighted, len(items) - 1)
        self._title(_("{title} · Enter opens · v c u p mark").format(title=title))

    def _current(self) -> Item | None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None or not self.items:
            return None
        option = listing.get_option_at_index(listing.highlighted)
        return self.items.get(int(option.id or 0))

    def action_mark(self, status: str) -> None:
        item = self._current()
        if item is None:
            return
        try:
            self.service.verification.mark(item.id, ItemStatus(status))
        except ServiceError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.action_reload()

    def action_correct(self) -> None:
        item = self._current()
        if item is None:
            return
        try:
            customer = self.service.customers.get(item.customer_id)
        except ServiceError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if not self.service.can(Action.CUSTOMER_UPDATE, customer):
            self._hand_over(item)
            return

        def saved(result: Customer | None) -> None:
            if result is not None and result.version != customer.version:
                self.action_mark(ItemStatus.CORRECTED)

        self.app.push_screen(CustomerFormScreen(self.service, customer), saved)

    def _hand_over(self, item: Item) -> None:
        """Checkers who may not edit (service staff) pass the check to the customer's rep."""
        hint = _("You may not edit this customer: the check goes to {owner} to correct.").format(
            owner=v.clean_text(item.owner) or _("an admin")
        )

        def chosen(fields: list[str] | None) -> None:
            if not fields:
                return
            try:
                self.service.verification.hand_over(item.id, fields)
            except ServiceError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.notify(_("Handed over to correct: {code}.").format(code=item.code), markup=False)
            self.action_reload()

        self.app.push_screen(WrongFieldsScreen(CHECKED_FIELDS, hint), chosen)

    @on(OptionList.OptionSelected, "#checks-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        item = self.items.get(int(event.option.id or 0))
        if item is not None:
            self.app.open_customer(item.customer_id)  # type: ignore[attr-defined]
