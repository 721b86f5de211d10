"""The channels' outbox: features record events here, the webhook-events job dispatches them.

``emit`` is the one hook a feature calls, in the transaction of what it tells: the event is committed
together with the decision (or the canvass step), so a crash never loses or invents one.
``report.followup`` is emitted the same way by the follow-up feature:
``emit(session, network_id=..., event=ChannelEvent.REPORT_FOLLOWUP, report_id=..., followup_id=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.states import ChannelEvent
from save_relay.store.tables import ChannelEventRow


def emit(
    session: AsyncSession,
    *,
    network_id: int,
    event: ChannelEvent | str,
    report_id: int | None = None,
    canvass_id: int | None = None,
    **detail: Any,
) -> None:
    """Record ``event`` in the caller's transaction; ``detail`` is JSON (ids, never personal data)."""
    session.add(
        ChannelEventRow(
            network_id=network_id,
            type=str(event),
            report_id=report_id,
            canvass_id=canvass_id,
            detail=detail,
            created_at=utcnow(),
        )
    )


async def claim_pending(
    session: AsyncSession, network_ids: Sequence[int], limit: int
) -> list[ChannelEventRow]:
    """Undispatched events of ``network_ids``, oldest first, locked (SKIP LOCKED: one dispatch each)."""
    return list(
        await session.scalars(
            select(ChannelEventRow)
            .where(ChannelEventRow.dispatched_at.is_(None), ChannelEventRow.network_id.in_(network_ids))
            .order_by(ChannelEventRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


async def mark_dispatched(session: AsyncSession, event_ids: Sequence[int]) -> None:
    if event_ids:
        await session.execute(
            update(ChannelEventRow).where(ChannelEventRow.id.in_(event_ids)).values(dispatched_at=utcnow())
        )


async def purge_dispatched(session: AsyncSession, before: datetime) -> int:
    """Delete the events dispatched before ``before``; returns how many."""
    result = await session.execute(delete(ChannelEventRow).where(ChannelEventRow.dispatched_at < before))
    assert isinstance(result, CursorResult)
    return max(result.rowcount or 0, 0)
