"""Value tiers, churn warnings, the funnel and activity through the service.

Managers and admins see everyone; a sales rep the same reports over their own customers
(`Action.ANALYTICS` in OWN scope); service staff none. The two jobs that write for the whole
base (recomputing tiers, refreshing churn warnings) need the permission on everyone and are
audited in the transaction they run in. The numbers themselves are `tui_crm/analytics.py`'s.
"""

from __future__ import annotations

import datetime as dt

from .. import analytics
from ..analytics import (
    Activity,
    AtRiskCustomer,
    Breakdown,
    ChurnRefresh,
    ChurnSummary,
    CustomerFigures,
    Dashboard,
    Funnel,
    TierRecompute,
    TierReport,
)
from ..config import Settings
from ..i18n import _
from ..listing import SortKey
from ..roles import Action, Scope
from .context import Context
from .errors import PermissionDenied
from .records import customer_row


class Analytics:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def _scope(self) -> int | None:
        """The owner every report is narrowed to (a rep's own), or None for everyone."""
        scope = self.context.require(Action.ANALYTICS)
        return self.context.user.id if scope is Scope.OWN else None

    def _require_everyone(self) -> None:
        if self.context.require(Action.ANALYTICS) is not Scope.ALL:
            raise PermissionDenied(_("Only managers and admins run analytics jobs."))

    def tiers(self, top: int = 10) -> TierReport:
        """Customers, spend and orders per value tier, with each tier's biggest spenders."""
        scope = self._scope()
        with self.db.read() as conn:
            return analytics.tier_report(conn, scope, top=top)

    def churn(self) -> ChurnSummary:
        """At-risk customers as of the last refresh, by rule, tier and rep."""
        scope = self._scope()
        with self.db.read() as conn:
            return analytics.churn_summary(conn, scope)

    def worklist(
        self,
        after: SortKey | None = None,
        limit: int = 50,
        settings: Settings | None = None,
        today: dt.date | None = None,
    ) -> tuple[AtRiskCustomer, ...]:
        """A page of the at-risk customers (a rep's own), most valuable first."""
        scope = self._scope()
        rules = (settings or Settings.load()).analytics
        with self.db.read() as conn:
            return analytics.churn_worklist(
                conn, self.db.keys, scope, rules, after=after, limit=limit, today=today
            )

    def funnel(
        self,
        since: dt.date | None = None,
        until: dt.date | None = None,
        by: Breakdown | None = None,
    ) -> Funnel:
        """Leads -> interested -> customers -> repeat for the customers created in a period."""
        scope = self._scope()
        if by is not None and by not in analytics.BREAKDOWNS:
            raise ValueError(by)
        with self.db.read() as conn:
            return analytics.funnel(conn, scope, since=since, until=until, by=by)

    def activity(self, since: dt.date | None = None, until: dt.date | None = None) -> Activity:
        """Follow-ups and orders per week."""
        scope = self._scope()
        with self.db.read() as conn:
            return analytics.activity(conn, scope, since=since, until=until)

    def dashboard(
        self, settings: Settings | None = None, today: dt.date | None = None
    ) -> Dashboard:
        """Every dashboard tab's numbers from one snapshot."""
        scope = self._scope()
        rules = (settings or Settings.load()).analytics
        with self.db.read() as conn:
            return analytics.dashboard(conn, self.db.keys, scope, rules, today=today)

    def figures(
        self, customer_id: int, settings: Settings | None = None, today: dt.date | None = None
    ) -> CustomerFigures | None:
        """One customer's order figures, tier and churn warnings (the detail header)."""
        self.context.require(Action.CUSTOMER_READ)
        rules = (settings or Settings.load()).analytics
        with self.db.read() as conn:
            self.context.require(Action.CUSTOMER_READ, customer_row(conn, customer_id)["owner_id"])
            return analytics.customer_figures(conn, customer_id, rules, today=today)

    def recompute_tiers(
        self, settings: Settings | None = None, today: dt.date | None = None
    ) -> TierRecompute:
        """Re-score everyone's value tier against the thresholds in config (or quantiles)."""
        self._require_everyone()
        rules = (settings or Settings.load()).analytics
        with self.db.write() as tx:
            result = analytics.recompute_tiers(tx, rules, today=today)
            self.context.audit(
                tx,
                "analytics.recompute_tiers",
                details={"changed": result.changed, "counts": result.counts},
            )
        return result

    def refresh_churn(
        self, settings: Settings | None = None, today: dt.date | None = None
    ) -> ChurnRefresh:
        """Re-evaluate the churn rules for everyone, planning a follow-up for new warnings."""
        self._require_everyone()
        rules = (settings or Settings.load()).analytics
        with self.db.write() as tx:
            result = analytics.refresh_churn(tx, rules, today=today)
            self.context.audit(tx, "analytics.refresh_churn", details=result.summary())
        return result
