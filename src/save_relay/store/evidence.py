"""What an evidence bundle gathers about a report: the moderators' replies and the distributions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.tokens import token_hash
from save_relay.store.tables import Distribution, Followup, InboundMessage, Report, Token


async def replies_about(session: AsyncSession, report: Report) -> list[InboundMessage]:
    """Mail received on a token bound to ``report`` (moderators' decisions, a refused withdrawal), oldest
    first; follow-ups are not among them (``followups``: stored whole with their report).

    Inbound mail keeps the token as it came in and tokens are stored hashed, so the candidates (mail
    with a token, to this network, since the report) are matched here by hash.
    """
    hashes = set(await session.scalars(select(Token.hash).where(Token.report_id == report.id)))
    if not hashes:
        return []
    candidates = await session.scalars(
        select(InboundMessage)
        .where(
            InboundMessage.network_id == report.network_id,
            InboundMessage.token.is_not(None),
            InboundMessage.received_at >= report.received_at,
            InboundMessage.id != report.inbound_id,
            InboundMessage.id.not_in(select(Followup.inbound_id).where(Followup.report_id == report.id)),
        )
        .order_by(InboundMessage.id)
    )
    return [m for m in candidates if m.token and token_hash(m.token) in hashes]


async def distributions_of(session: AsyncSession, report_id: int) -> list[Distribution]:
    return list(
        await session.scalars(
            select(Distribution).where(Distribution.report_id == report_id).order_by(Distribution.id)
        )
    )
