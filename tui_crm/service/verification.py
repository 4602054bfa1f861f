"""The monthly verification sample through the service: admins draw it and read its report;
each assignee works their own items. Every draw and mark is audited in its transaction
(a mark names the customer's code sealed and the corrected fields' names, never values)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from .. import validation as v
from .. import verification
from ..config import Settings
from ..i18n import _
from ..roles import Action
from ..verification import (
    AssigneeProgress,
    Item,
    ItemChange,
    ItemStatus,
    Sample,
    VerificationError,
    VerificationReport,
)
from .context import Context
from .errors import NotFound, PermissionDenied, ServiceError


def this_month(today: dt.date | None = None) -> str:
    return (today or dt.date.today()).strftime("%Y-%m")


class Verification:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def _is_admin(self) -> bool:
        return self.context.can(Action.VERIFICATION)

    def _sample(self, conn: object, month: str | None) -> Sample:
        """The named month's sample, else the newest; NotFound when there is none."""
        try:
            if month is not None:
                found = verification.sample_for(conn, month)  # type: ignore[arg-type]
            else:
                found = next(iter(verification.samples(conn)), None)  # type: ignore[arg-type]
        except VerificationError as exc:
            raise ServiceError(str(exc)) from None
        if found is None:
            raise NotFound(_("There is no verification sample for that month."))
        return found

    def draw(
        self,
        month: str | None = None,
        percent: float | None = None,
        settings: Settings | None = None,
        seed: int | None = None,
    ) -> Sample:
        """Draw a month's sample (admins), once per month; the seed is kept to repeat it."""
        self.context.require(Action.VERIFICATION)
        rules = (settings or Settings.load()).verification
        with self.db.write() as tx:
            try:
                sample = verification.draw_sample(
                    tx,
                    month=month or this_month(),
                    drawn_by=self.context.actor,
                    percent=rules.percent if percent is None else percent,
                    due_days=rules.due_days,
                    seed=seed,
                )
            except VerificationError as exc:
                raise ServiceError(str(exc)) from None
            self.context.audit(
                tx,
                "verification.draw",
                entity="verification_sample",
                entity_id=sample.id,
                details={
                    "month": sample.month,
                    "percent": sample.percent,
                    "seed": sample.seed,
                    "population": sample.population,
                    "size": sample.size,
                },
            )
        return sample

    def worklist(
        self,
        month: str | None = None,
        *,
        status: ItemStatus | str | None = None,
        after_id: int = 0,
        limit: int = 50,
    ) -> tuple[Item, ...]:
        """A page of the signed-in user's own items (an admin's: everyone's)."""
        assignee = None if self._is_admin() else self.context.user.id
        with self.db.read() as conn:
            sample = self._sample(conn, month)
            return verification.worklist(
                conn, sample.id, assignee, status=status, after_id=after_id, limit=limit
            )

    def mark(
        self, item_id: int, status: ItemStatus | str, note: str = "", audit_id: int | None = None
    ) -> ItemChange:
        """Record one check by its assignee; a correction links the newest edit of the customer
        since the draw unless `audit_id` names one."""
        if status not in set(ItemStatus):
            raise ServiceError(_("Unknown check outcome {status}.").format(status=status))
        with self.db.write() as tx:
            current = verification.item(tx, item_id)
            if current is None:
                raise NotFound(_("There is no verification item {id}.").format(id=item_id))
            if current.assignee_id != self.context.user.id and not self._is_admin():
                raise PermissionDenied(_("This check is assigned to someone else."))
            if ItemStatus(status) is ItemStatus.CORRECTED and audit_id is None:
                audit_id = verification.latest_edit(tx, item_id)
            try:
                change = verification.mark(
                    tx,
                    self.db.keys,
                    item_id,
                    status,
                    by_user_id=self.context.user.id,
                    at=v.now(),
                    audit_id=audit_id,
                    note=note,
                )
            except VerificationError as exc:
                raise ServiceError(str(exc)) from None
            self.context.audit(
                tx,
                "verification.mark",
                entity="verification_item",
                entity_id=item_id,
                customer_code=change.customer_code,
                details={
                    "sample_id": change.sample_id,
                    "before": change.before,
                    "after": change.after,
                    "audit_id": change.audit_id,
                    "fields": list(change.fields),
                },
            )
        return change

    def hand_over(self, item_id: int, fields: Sequence[str]) -> int | None:
        """The assignee names the fields a call found wrong and, not allowed to edit this
        customer, passes the check to its rep (or to an admin); returns the new assignee."""
        with self.db.write() as tx:
            current = verification.item(tx, item_id)
            if current is None:
                raise NotFound(_("There is no verification item {id}.").format(id=item_id))
            if current.assignee_id != self.context.user.id and not self._is_admin():
                raise PermissionDenied(_("This check is assigned to someone else."))
            try:
                before, to_user_id = verification.hand_over(
                    tx, item_id, fields=fields, by_user_id=self.context.user.id
                )
            except VerificationError as exc:
                raise ServiceError(str(exc)) from None
            self.context.audit(
                tx,
                "verification.hand_over",
                entity="verification_item",
                entity_id=item_id,
                customer_code=before.code,
                details={
                    "sample_id": before.sample_id,
                    "from": before.assignee_id,
                    "to": to_user_id,
                    "fields": sorted(set(fields)),
                },
            )
        return to_user_id

    def progress(self, month: str | None = None) -> tuple[AssigneeProgress, ...]:
        """Items done per assignee: an admin sees everyone, an assignee their own line."""
        with self.db.read() as conn:
            steps = verification.progress(conn, self._sample(conn, month).id)
        if self._is_admin():
            return steps
        return tuple(step for step in steps if step.assignee_id == self.context.user.id)

    def report(self, month: str | None = None, today: dt.date | None = None) -> VerificationReport:
        """Outcome shares, error rate per field, overdue items and progress (admins)."""
        self.context.require(Action.VERIFICATION)
        with self.db.read() as conn:
            return verification.report(conn, self._sample(conn, month).id, today=today)
