"""Unsubscribe by the token of a delivery: the List-Unsubscribe mailto and the one-click URL (``web``)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.delivery.notices import queue_notice
from save_relay.store import audit, events
from save_relay.store.deliveries import named_by
from save_relay.store.networks import NetworkRef
from save_relay.store.tables import Delivery, Subscriber, SubscriberAddress


async def address_for_token(session: AsyncSession, network: NetworkRef, token: str) -> str | None:
    """The address a delivery with this unsubscribe token went to, if any (changes nothing)."""
    return await session.scalar(
        select(Delivery.recipient)
        .where(named_by(Delivery.unsubscribe_hash, token), Delivery.network_id == network.id)
        .limit(1)
    )


async def unsubscribe_by_token(
    session: AsyncSession, network: NetworkRef, token: str, *, via: str, message_id: str | None = None
) -> str | None:
    """Unsubscribe the address a delivery with this token went to; returns it, or None if unknown."""
    address = await address_for_token(session, network, token)
    if address is None:
        return None
    subscriber_ids = select(Subscriber.id).where(Subscriber.network_id == network.id)
    result = await session.execute(
        update(SubscriberAddress)
        .where(
            SubscriberAddress.address == address,
            SubscriberAddress.subscriber_id.in_(subscriber_ids),
            SubscriberAddress.status == "active",
        )
        .values(status="unsubscribed", changed_at=utcnow())
    )
    audit.record(
        session,
        action="address_unsubscribed",
        actor=address,
        via=via,
        network_id=network.id,
        object_ref=address[:64],
        message_id=message_id,
        changed=result.rowcount,  # type: ignore[attr-defined]
    )
    if result.rowcount:  # type: ignore[attr-defined]
        events.record(session, network_id=network.id, address=address, event="unsubscribed", via=via)
        queue_notice(
            session,
            network,
            kind="unsubscribed",
            template="unsubscribed",
            to=address,
            context={"address": address},
        )
    return address
