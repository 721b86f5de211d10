"""Membership events (subscribed, unsubscribed, disabled, enabled, removed): the digest's source."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store.tables import MembershipEvent


def record(
    session: AsyncSession, *, network_id: int, address: str, event: str, via: str, **detail: Any
) -> None:
    """Add an event to the caller's transaction."""
    session.add(
        MembershipEvent(
            network_id=network_id, address=address.lower(), event=event, via=via, at=utcnow(), detail=detail
        )
    )


async def undigested(session: AsyncSession, network_id: int) -> list[MembershipEvent]:
    """Events not yet sent in a digest, oldest first, locked (SKIP LOCKED: one digest per event)."""
    return list(
        await session.scalars(
            select(MembershipEvent)
            .where(MembershipEvent.network_id == network_id, MembershipEvent.digested_at.is_(None))
            .order_by(MembershipEvent.id)
            .with_for_update(skip_locked=True)
        )
    )


async def mark_digested(session: AsyncSession, event_ids: list[int]) -> None:
    if event_ids:
        await session.execute(
            update(MembershipEvent).where(MembershipEvent.id.in_(event_ids)).values(digested_at=utcnow())
        )
