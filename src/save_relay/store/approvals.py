"""Four-eyes approvals (``approval_requests``): the one waiting for a report, a canvass or an erasure, the
ones due to lapse."""

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


async def waiting_for_canvass(session: AsyncSession, canvass_id: int) -> ApprovalRequest | None:
    """The canvass's approval waiting for its second moderator, if any (the caller locks the canvass)."""
    return await session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.canvass_id == canvass_id, ApprovalRequest.status == ApprovalStatus.WAITING)
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    )


async def waiting_for_subject(
    session: AsyncSession, kind: str, subject: str, *, lock: bool = False
) -> ApprovalRequest | None:
    """The waiting approval of ``kind`` about ``subject`` (an erasure: the address's keyed hash)."""
    query = (
        select(ApprovalRequest)
        .where(
            ApprovalRequest.kind == kind,
            ApprovalRequest.subject == subject,
            ApprovalRequest.status == ApprovalStatus.WAITING,
        )
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def due(
    session: AsyncSession,
    network_ids: Sequence[int],
    now: datetime,
    limit: int = 50,
    *,
    kinds: Sequence[str] = ("distribution", "hold_release"),
) -> list[int]:
    """Ids of waiting approvals of ``kinds`` past their time (each feature's lapse job locks what the
    approval is about, then re-reads it)."""
    rows = await session.scalars(
        select(ApprovalRequest.id)
        .where(
            ApprovalRequest.status == ApprovalStatus.WAITING,
            ApprovalRequest.expires_at <= now,
            ApprovalRequest.network_id.in_(list(network_ids) or [0]),
            ApprovalRequest.kind.in_(list(kinds)),
        )
        .order_by(ApprovalRequest.id)
        .limit(limit)
    )
    return list(rows)
