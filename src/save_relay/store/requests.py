"""Subscription requests and the tokens bound to them (``tokens.request_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.states import RequestStatus
from save_relay.store.tables import SubscriptionRequest, Token


async def get(session: AsyncSession, request_id: int) -> SubscriptionRequest | None:
    return await session.get(SubscriptionRequest, request_id, with_for_update=True)


async def open_request(
    session: AsyncSession, network_id: int, address: str, kind: str, since: datetime
) -> SubscriptionRequest | None:
    """The newest request of ``kind`` by ``address`` still waiting for its requester, made after ``since``."""
    return await session.scalar(
        select(SubscriptionRequest)
        .where(
            SubscriptionRequest.network_id == network_id,
            func.lower(SubscriptionRequest.address) == address.lower(),
            SubscriptionRequest.kind == kind,
            SubscriptionRequest.status == RequestStatus.UNCONFIRMED,
            SubscriptionRequest.created_at >= since,
        )
        .order_by(SubscriptionRequest.id.desc())
        .limit(1)
    )


async def use_tokens(session: AsyncSession, request_id: int, purpose: str) -> None:
    """Spend every open token of a request for ``purpose`` (one moderator decided: the others' are dead)."""
    await session.execute(
        update(Token)
        .where(Token.request_id == request_id, Token.purpose == purpose, Token.used_at.is_(None))
        .values(used_at=utcnow())
    )
