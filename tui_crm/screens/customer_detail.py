"""One customer at a glance: profile, masked contact data, tags and the timeline.

Every key an operator needs during a call is here: reveal a number, log the follow-up,
plan the next one, tag, edit; Esc goes back to the list where it was.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from .. import validation as v
from ..i18n import N_, _
from ..labels import label
from ..roles import Action
from ..service import Customer, PermissionDenied, Service, ServiceError
from ..widgets.customer_header import CustomerHeader
from ..widgets.keys_footer import KeysFooter
from ..widgets.masked_field import MaskedFields
from ..widgets.tags_panel import TagsPanel
from ..widgets.timeline import Timeline
from ..widgets.translated_bindings import TranslatedBindings
from .customer_form import CustomerFormScreen
from .followup_form import FollowUpFormScreen
from .interaction_form import InteractionFormScreen
from .tag_editor import TagEditorScreen

# What each key needs on this customer; the palette offers only what the user may do.
PALETTE_NEEDS = {
    "detail.reveal": Action.REVEAL,
    "detail.followup": Action.FOLLOWUP_ADD,
    "detail.interaction": Action.INTERACTION_ADD,
    "detail.tags": Action.TAG_EDIT,
    "detail.edit": Action.CUSTOMER_UPDATE,
}
# Each filter's name (an English message, shown translated) and the kinds it keeps.
TIMELINE_FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("all entries"), ()),
    (N_("follow-ups"), ("followup",)),
    (N_("interactions"), ("interaction",)),
    (N_("orders"), ("order",)),
    (N_("complaints"), ("complaint",)),
    (N_("enquiries"), ("enquiry",)),
    (N_("events"), ("event",)),
)


class CustomerDetailScreen(TranslatedBindings, Screen[None]):
    """Opened from the list with Enter; Esc returns to the list where it was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), show=False, id="detail.back"),
        Binding("r", "reveal", N_("Reveal"), id="detail.reveal"),
        Binding("f", "followup", N_("Follow-up"), id="detail.followup"),
        Binding("i", "interaction", N_("Interaction"), id="detail.interaction"),
        Binding("t", "tags", N_("Tags"), id="detail.tags"),
        Binding("e", "edit", N_("Edit"), id="detail.edit"),
        Binding("k", "filter", N_("Filter"), id="detail.filter"),
        Binding("ctrl+r,f5", "refresh", N_("Refresh"), show=False, id="detail.refresh"),
    ]

    DEFAULT_CSS = """
    CustomerDetailScreen #detail-body { height: 1fr; }
    CustomerDetailScreen #detail-side { width: 32; height: 100%; }
    CustomerDetailScreen #notes { height: 1fr; padding: 0 1; border: round $panel; }
    CustomerDetailScreen #notes:focus { border: round $accent; }
    CustomerDetailScreen #notes.-empty { display: none; }
    CustomerDetailScreen #timeline { width: 1fr; height: 100%; }
    """

    def __init__(self, service: Service, customer_id: int, today: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.customer_id = customer_id
        self.today = today
        self.customer: Customer = service.customers.get(customer_id)
        self.filter_index = 0
        # Kept as attributes, so nothing re-queries the DOM for them.
        self.header = CustomerHeader(self.customer, today=today, id="detail-header")
        self.contact = MaskedFields(service, self.customer, id="contact")
        self.tags = TagsPanel(self.customer.tags, id="tags")
        self.notes = Static(id="notes-text", markup=False)
        self.notes_box = VerticalScroll(self.notes, id="notes")  # Tab to it, arrows scroll
        self.timeline = Timeline(
            service,
            customer_id,
            pending_plan=self.customer.next_followup_at,
            today=today,
            id="timeline",
        )

    def compose(self) -> ComposeResult:
        yield self.header
        with Horizontal(id="detail-body"):
            with Vertical(id="detail-side"):
                yield self.contact
                yield self.tags
                yield self.notes_box
            yield self.timeline
        yield KeysFooter()

    def on_mount(self) -> None:
        if self.service.can(Action.REVEAL, self.customer):
            self.contact.border_subtitle = _("r reveal")
        else:
            self.contact.border_subtitle = _("reveal not allowed")
        self.notes_box.border_title = _("Notes")
        self._show_notes()
        self._show_filter()
        self.timeline.focus()

    def _show_filter(self) -> None:
        name = _(TIMELINE_FILTERS[self.filter_index][0])
        self.timeline.border_subtitle = _("{entries} · newest first · k filters").format(
            entries=name
        )

    def _show_notes(self) -> None:
        notes = v.clean_text(self.customer.notes, multiline=True)
        self.notes.update(Text(notes))
        self.notes_box.set_class(not notes, "-empty")

    def reload(self) -> None:
        """After a save: fresh customer, header, tags and the timeline from the top."""
        self.customer = self.service.customers.get(self.customer_id)
        self.header.show(self.customer)
        self.contact.show(self.customer)
        self.tags.show(self.customer.tags)
        self._show_notes()
        self.timeline.reload(self.customer.next_followup_at or "")

    def action_refresh(self) -> None:
        """Show what is saved now (a colleague may have changed the customer meanwhile)."""
        try:
            self.reload()
        except ServiceError as exc:  # deleted, merged away or out of this user's scope now
            self.notify(str(exc), severity="warning", markup=False)

    def palette_offers(self, binding_id: str) -> bool:
        needs = PALETTE_NEEDS.get(binding_id)
        return needs is None or self.service.can(needs, self.customer)

    def on_screen_suspend(self) -> None:
        self.contact.mask_all()

    def action_back(self) -> None:
        self.contact.mask_all()
        self.app.pop_screen()

    def action_reveal(self) -> None:
        contact = self.contact
        try:
            contact.reveal_selected()
        except PermissionDenied as exc:
            self.notify(str(exc), title=_("Not allowed"), severity="warning", markup=False)
        except ServiceError as exc:
            self.notify(str(exc), severity="error", markup=False)

    def _refuse_unless(self, action: Action) -> bool:
        if self.service.can(action, self.customer):
            return False
        self.notify(
            _refusal(self.service, action), title=_("Not allowed"), severity="warning", markup=False
        )
        return True

    def action_edit(self) -> None:
        if self._refuse_unless(Action.CUSTOMER_UPDATE):
            return

        def saved(customer: Customer | None) -> None:
            # Reloaded even when nothing was saved: the form may have met a colleague's
            # newer version (a conflict), which this screen must not keep hiding.
            self.reload()
            if customer is not None:
                self.notify(_("Saved."), markup=False)

        self.app.push_screen(CustomerFormScreen(self.service, self.customer), saved)

    def _reload_if(self, result: object) -> None:
        if result:
            self.reload()

    def action_followup(self) -> None:
        if not self._refuse_unless(Action.FOLLOWUP_ADD):
            form = FollowUpFormScreen(
                self.service, self.customer_id, plan=self.customer.next_followup_at
            )
            self.app.push_screen(form, self._reload_if)

    def action_interaction(self) -> None:
        if not self._refuse_unless(Action.INTERACTION_ADD):
            self.app.push_screen(
                InteractionFormScreen(self.service, self.customer_id), self._reload_if
            )

    def action_tags(self) -> None:
        if not self._refuse_unless(Action.TAG_EDIT):
            self.app.push_screen(TagEditorScreen(self.service, self.customer_id), self._reload_if)

    def action_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(TIMELINE_FILTERS)
        self._show_filter()
        self.timeline.set_kinds(TIMELINE_FILTERS[self.filter_index][1])


def _refusal(service: Service, action: Action) -> str:
    role = service.user.role
    if action is Action.CUSTOMER_UPDATE and role == "service":
        return _("Customer service may not edit a customer's base information; ask the owner.")
    return _("A {role} may not do that on this customer.").format(role=label("role", role))
