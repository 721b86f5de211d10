"""Unsubscribe by the token of a delivery: the List-Unsubscribe mailto and the one-click URL (``web``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.delivery.notices import queue_notice
from save_relay.mail.parse import parse_message
from save_relay.store import audit, deliveries, events, subscribers
from save_relay.store.tables import InboundMessage


async def address_for_token(session: AsyncSession, network: NetworkRef, token: str) -> str | None:
    """The address a delivery with this unsubscribe token went to, if any (changes nothing)."""
    return await deliveries.recipient_of_unsubscribe_token(session, network.id, token)


async def unsubscribe_by_token(
    session: AsyncSession, network: NetworkRef, token: str, *, via: str, message_id: str | None = None
) -> str | None:
    """Unsubscribe the address a delivery with this token went to; returns it, or None if unknown."""
    address = await address_for_token(session, network, token)
    if address is None:
        return None
    changed = await subscribers.unsubscribe_address(session, network.id, address, utcnow())
    audit.record(
        session,
        action="address_unsubscribed",
        actor=address,
        via=via,
        network_id=network.id,
        object_ref=address[:64],
        message_id=message_id,
        changed=changed,
    )
    if changed:
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


async def handle_unsubscribe(session: AsyncSession, ctx: Context, message: InboundMessage) -> None:
    """Mail to ``+unsubscribe-TOKEN`` (the List-Unsubscribe mailto): the token's address leaves."""
    parsed = parse_message(message.raw)
    network = ctx.network(message.network_id)
    address = await unsubscribe_by_token(
        session, network, message.token or "", via=message.via, message_id=parsed.message_id
    )
    if address is None:  # a forged or mistyped token: nothing to change, but not silent
        audit.record(
            session,
            action="unsubscribe_unknown_token",
            actor=message.mail_from or "<>",
            via=message.via,
            network_id=network.id,
            message_id=parsed.message_id,
        )
