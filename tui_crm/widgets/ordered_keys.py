"""Keys reach the widget that has focus when their turn comes, in order, however fast
they arrive (a paste, a burst over a laggy SSH link).

Textual hands each key to the focused widget's queue at once, while a key that the widget
does not use (Tab, a screen's binding) travels back up to the app before it acts: in
`sales1<Tab>demo`, `demo` was already queued for the username box when Tab moved the focus.
Likewise keys that follow one opening a screen reach it before it has focused a field.
The app here holds every key until what the previous one set off has run: every message
queue of the app and its screens empty for a few turns of the event loop, and no worker
running of the groups named in `KEYS_WAIT_FOR` (those whose result the next key acts on:
Enter after a search opens the customer found, not the row that was there before).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import ClassVar

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.worker import WorkerState

# Turns of the event loop with every queue empty before the next key goes out: a message
# handled in one pump may post to another only on its next turn.
QUIET_TURNS = 5
# How often to look again while a worker the keys wait for runs (a busy loop would take the
# interpreter from the very thread being waited for).
WORKER_POLL = 0.005


class OrderedKeys(App[object]):
    """Mix in before `App` (`class CrmApp(OrderedKeys, App[None])`)."""

    KEYS_WAIT_FOR: ClassVar[frozenset[str]] = frozenset()
    _held_keys: deque[events.Key] | None = None
    _key_settling: asyncio.Task[None] | None = None

    @property
    def keys_pending(self) -> bool:
        """Keys are held, or the last one's effects are still running."""
        return bool(self._held_keys) or self._key_settling is not None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys is None:
                self._held_keys = deque()
            self._held_keys.append(event)
            if self._key_settling is None:  # even the first key waits: the screen it is
                self._key_settling = asyncio.create_task(self._settle())  # for may be opening
            return
        await super().on_event(event)

    async def _send_next_key(self) -> None:
        """Hand one held key to Textual, then wait for what it sets off before the next."""
        if not self._held_keys or self._closing:
            self._key_settling = None
            return
        await super().on_event(self._held_keys.popleft())
        self._key_settling = asyncio.create_task(self._settle())

    async def _settle(self) -> None:
        quiet = 0
        while quiet < QUIET_TURNS and not self._closing:
            if self._awaited_worker_running():
                quiet = 0
                await asyncio.sleep(WORKER_POLL)
                continue
            await asyncio.sleep(0)
            quiet = quiet + 1 if self._queues_empty() else 0
        self.call_later(self._send_next_key)

    def _awaited_worker_running(self) -> bool:
        busy = (WorkerState.PENDING, WorkerState.RUNNING)
        return any(
            worker.state in busy and worker.group in self.KEYS_WAIT_FOR for worker in self.workers
        )

    def _queues_empty(self) -> bool:
        if not self._message_queue.empty():
            return False
        for screen in self.screen_stack:
            nodes: list[DOMNode] = [screen, *screen.walk_children()]
            if any(not node._message_queue.empty() for node in nodes):
                return False
        return True
