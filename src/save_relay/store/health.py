"""Read-only summaries for ``save-relay status`` and ``queue list``: the moderation queue and the
outbound backlog, each in a few aggregate queries (served by ``ix_reports_status`` and
``ix_deliveries_due``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.states import DeliveryStatus, ReportStatus
from save_relay.store.tables import Delivery, Report


@dataclass(frozen=True, slots=True)
class QueueSummary:
    pending: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True, slots=True)
class Backlog:
    """Deliveries not yet sent nor failed (``waiting``), those of them due now (``due``), and movement."""

    waiting: int
    due: int
    oldest_waiting_since: datetime | None  # created_at of the oldest delivery still waiting
    oldest_due_at: datetime | None  # next_attempt_at of the longest-due delivery
    sent_since: int  # sent in the last window
    last_sent_at: datetime | None  # the last sent (within two windows)
    last_error: str | None  # of the waiting delivery tried last


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


async def report_counts(session: AsyncSession) -> dict[str, int]:
    """Reports per status."""
    rows = await session.execute(select(Report.status, func.count()).group_by(Report.status))
    return {status: count for status, count in rows.all()}


async def queue_summary(session: AsyncSession) -> QueueSummary:
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(Report.received_at)).where(Report.status == ReportStatus.PENDING)
        )
    ).one()
    return QueueSummary(int(count or 0), _utc(oldest))


async def backlog(session: AsyncSession, now: datetime, window: timedelta) -> Backlog:
    """The outbound backlog at ``now``, and the deliveries sent in the last ``window``.

    ``deliveries.sent_at`` has no index (one more B-tree insert per sent delivery); the sent ones are
    looked for among those that became due in the last two windows (``ix_deliveries_due``), which finds
    every delivery sent in the window unless it had waited more than a window for its turn.
    """
    queued = Delivery.status == DeliveryStatus.QUEUED
    waiting, oldest_waiting = (
        await session.execute(select(func.count(), func.min(Delivery.created_at)).where(queued))
    ).one()
    due, oldest_due = (
        await session.execute(
            select(func.count(), func.min(Delivery.next_attempt_at)).where(
                queued, Delivery.next_attempt_at <= now
            )
        )
    ).one()
    recent = (Delivery.status == DeliveryStatus.SENT, Delivery.next_attempt_at >= now - 2 * window)
    sent_since, last_sent = (
        await session.execute(
            select(
                func.count().filter(Delivery.sent_at > now - window),
                func.max(Delivery.sent_at),
            ).where(*recent)
        )
    ).one()
    last_error = await session.scalar(
        select(Delivery.last_error)
        .where(queued, Delivery.last_error.is_not(None))
        .order_by(Delivery.next_attempt_at.desc())
        .limit(1)
    )
    return Backlog(
        last_error=last_error,
        waiting=int(waiting or 0),
        due=int(due or 0),
        oldest_waiting_since=_utc(oldest_waiting),
        oldest_due_at=_utc(oldest_due),
        sent_since=int(sent_since or 0),
        last_sent_at=_utc(last_sent),
    )


async def ping(session: AsyncSession) -> None:
    """One round trip to the database (readiness): raises when it cannot be reached."""
    await session.execute(select(1))
