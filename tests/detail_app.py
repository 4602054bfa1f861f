"""A tiny app for the detail/due tests: it opens screens the way the real app shell does."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from tui_crm.app import CrmApp
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.service import Service
from tui_crm.widgets.ordered_keys import OrderedKeys


class DetailTestApp(OrderedKeys, App[None]):
    """Pushes `first` on start and offers `open_customer`, help, quit and the palette's
    commands, as the app shell does."""

    BINDINGS = CrmApp.BINDINGS
    action_help = CrmApp.action_help
    get_system_commands = CrmApp.get_system_commands

    KEYS_WAIT_FOR = CrmApp.KEYS_WAIT_FOR

    def __init__(self, service: Service, first: Screen[object]) -> None:
        super().__init__()
        self.service = service
        self.first = first

    def on_mount(self) -> None:
        self.push_screen(self.first)

    def open_customer(self, customer_id: int) -> None:
        self.push_screen(CustomerDetailScreen(self.service, customer_id))


def sync(flow: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot flow as a plain test (no asyncio plugin is installed)."""

    @functools.wraps(flow)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(flow(*args, **kwargs))

    return run


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press the keys, then let the screens they open or close settle."""
    await pilot.press(*keys)
    await pilot.pause()
