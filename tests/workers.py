"""Waiting for an app's workers in Pilot tests, robust to a loaded machine."""

from __future__ import annotations

from textual.app import App
from textual.worker import WorkerCancelled


async def workers_done(app: App[object]) -> None:
    """Wait until no worker runs. A search worker cancelled by a newer keystroke (they are
    exclusive) is expected, not a failure: keep waiting for the ones that replaced it."""
    for _ in range(100):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        if not any(worker.is_running for worker in app.workers):
            return
