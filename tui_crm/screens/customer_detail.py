"""One customer at a glance: profile, masked contact data, tags and the timeline."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..service import Service


class CustomerDetailScreen(Screen[None]):
    """Opened from the list with Enter; Esc returns to the list where it was."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, service: Service, customer_id: int) -> None:
        super().__init__()
        self.service = service
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        customer = self.service.get_customer(self.customer_id)
        yield Static(Text(f"{customer.code}  {customer.name}"), id="detail-header")
        yield Footer()

    def action_back(self) -> None:
        self.app.pop_screen()
