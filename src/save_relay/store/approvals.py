"""Four-eyes approvals (``approval_requests``): the one waiting for a report, the ones due to lapse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import ApprovalStatus
from save_relay.store.tables import ApprovalRequest


async def waiting_for(
    session: AsyncSession, report_id: int, kind: str = "distribution"
) -> ApprovalRequest | None:
    """The report's approval of ``kind`` waiting for its second moderator, if any (the caller holds the
    report's lock: every path that decides on a report locks it first)."""
    return await session.scalar(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.report_id == report_id,
            ApprovalRequest.kind == kind,
            ApprovalRequest.status == ApprovalStatus.WAITING,
        )
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    )


async def due(session: AsyncSession, network_ids: Sequence[int], now: datetime, limit: int = 50) -> list[int]:
    """Ids of waiting approvals past their time (the lapse job locks each report, then re-reads it)."""
    rows = await session.scalars(
        select(ApprovalRequest.id)
        .where(
            ApprovalRequest.status == ApprovalStatus.WAITING,
            ApprovalRequest.expires_at <= now,
            ApprovalRequest.network_id.in_(list(network_ids) or [0]),
        )
        .order_by(ApprovalRequest.id)
        .limit(limit)
    )
    return list(rows)
