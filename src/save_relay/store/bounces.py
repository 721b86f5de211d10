"""Bounce records: the delivery behind a VERP token, and the bounce events of an address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.tokens import delivery_id_of, token_hash
from save_relay.store.deliveries import named_by
from save_relay.store.tables import BounceEvent, Delivery, InboundMessage, UnmatchedBounce


async def delivery_for_token(session: AsyncSession, network_id: int, token: str) -> Delivery | None:
    """The sent delivery whose return path carried ``token`` (locked for update on PostgreSQL)."""
    return await _locked(session, network_id, named_by(Delivery.bounce_hash, token))


async def delivery_for_hash(
    session: AsyncSession, network_id: int, delivery_id: int, hashed: str
) -> Delivery | None:
    """The delivery ``delivery_id`` if its return path's token has the hash ``hashed`` (locked)."""
    return await _locked(
        session, network_id, and_(Delivery.id == delivery_id, Delivery.bounce_hash == hashed)
    )


async def _locked(session: AsyncSession, network_id: int, where: ColumnElement[bool]) -> Delivery | None:
    return await session.scalar(
        select(Delivery).where(where, Delivery.network_id == network_id).with_for_update()
    )


def add_unmatched(session: AsyncSession, inbound_id: int, token: str, received_at: datetime) -> None:
    """Keep a bounce whose token names no delivery (yet): its hash, and the delivery id it names."""
    session.add(
        UnmatchedBounce(
            inbound_id=inbound_id,
            token_hash=token_hash(token),
            delivery_id=delivery_id_of(token),
            received_at=received_at,
        )
    )


async def unmatched(session: AsyncSession, limit: int = 100) -> list[tuple[UnmatchedBounce, InboundMessage]]:
    """Bounces still waiting for their delivery, oldest first, claimed (SKIP LOCKED)."""
    rows = await session.execute(
        select(UnmatchedBounce, InboundMessage)
        .join(InboundMessage, InboundMessage.id == UnmatchedBounce.inbound_id)
        .order_by(UnmatchedBounce.received_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=UnmatchedBounce)
    )
    return [(row, message) for row, message in rows.all()]


async def matched(session: AsyncSession, inbound_ids: list[int]) -> None:
    if inbound_ids:
        await session.execute(delete(UnmatchedBounce).where(UnmatchedBounce.inbound_id.in_(inbound_ids)))


async def added_for_delivery(session: AsyncSession, delivery_id: int) -> float:
    """The score already added for bounces of this delivery (a DSN may come twice: delayed, failed)."""
    value = await session.scalar(
        select(func.coalesce(func.sum(BounceEvent.added), 0.0)).where(BounceEvent.delivery_id == delivery_id)
    )
    return float(value or 0.0)


def add(session: AsyncSession, event: BounceEvent) -> None:
    session.add(event)


async def for_address(session: AsyncSession, address: str, limit: int = 100) -> list[BounceEvent]:
    return list(
        await session.scalars(
            select(BounceEvent)
            .where(func.lower(BounceEvent.address) == address.lower())
            .order_by(BounceEvent.id.desc())
            .limit(limit)
        )
    )
