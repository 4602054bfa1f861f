"""My work: follow-ups due today and overdue."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..service import Service


class DueScreen(Screen[None]):
    """Due follow-ups for the signed-in user (everyone's, by rep, for managers)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        yield Static("Due follow-ups")
        yield Footer()

    def action_back(self) -> None:
        self.app.pop_screen()
