"""Retention purges through the service (admins only). What a purge deletes, and how it
is audited, is the engine's business: see `tui_crm/retention.py`."""

from __future__ import annotations

from .. import retention
from ..backup import Progress
from ..config import Settings
from ..retention import Candidate, Policy
from ..roles import Action
from .context import Context


class Retention:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def policy(self, settings: Settings | None = None) -> Policy:
        return Policy(years=(settings or Settings.load()).retention_years)

    def preview(self, settings: Settings | None = None) -> list[Candidate]:
        """Who the retention policy would purge now, and why."""
        self.context.require(Action.PURGE)
        return retention.preview(self.db, self.policy(settings))

    def purge(
        self,
        confirm_count: int,
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Purge exactly the previewed customers; each delete is audited with code and reason."""
        self.context.require(Action.PURGE)
        return retention.purge(
            self.db,
            self.policy(settings),
            confirm_count,
            actor=self.context.actor,
            progress=progress,
        )
