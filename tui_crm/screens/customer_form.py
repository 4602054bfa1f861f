"""Create or edit a customer's base information in one validated modal form."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from ..service import Customer, Service


class CustomerFormScreen(ModalScreen["Customer | None"]):
    """Dismisses with the saved customer, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, service: Service, customer: Customer | None) -> None:
        super().__init__()
        self.service = service
        self.customer = customer

    def compose(self) -> ComposeResult:
        yield Static("New customer" if self.customer is None else "Edit customer")

    def action_cancel(self) -> None:
        self.dismiss(None)
