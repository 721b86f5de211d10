"""Token records: only the hash is stored; a token is bound to a purpose, a network, an object, an address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.clock import utcnow
from save_relay.models import Token
from save_relay.tokens import new_token, token_hash


async def issue(
    session: AsyncSession,
    *,
    purpose: str,
    network_id: int,
    address: str,
    expires_at: datetime,
    report_id: int | None = None,
    request_id: int | None = None,
) -> str:
    """Create a token and return it in clear: the only moment it exists outside a mail."""
    token = new_token()
    session.add(
        Token(
            hash=token_hash(token),
            purpose=purpose,
            network_id=network_id,
            report_id=report_id,
            request_id=request_id,
            address=address.lower(),
            expires_at=expires_at,
            created_at=utcnow(),
        )
    )
    return token


async def find(session: AsyncSession, token: str, purpose: str, network_id: int) -> Token | None:
    """The token row for ``token`` if it has this purpose and network (locked for update on PostgreSQL)."""
    return await session.scalar(
        select(Token)
        .where(Token.hash == token_hash(token), Token.purpose == purpose, Token.network_id == network_id)
        .with_for_update()
    )


async def find_any(session: AsyncSession, token: str, network_id: int) -> Token | None:
    """The token row for ``token`` in this network, whatever its purpose (locked for update)."""
    return await session.scalar(
        select(Token).where(Token.hash == token_hash(token), Token.network_id == network_id).with_for_update()
    )


async def use_all_for_report(session: AsyncSession, report_id: int, purpose: str) -> None:
    """Spend every open token of a report: once one moderator decided, the others' links are dead."""
    await session.execute(
        update(Token)
        .where(Token.report_id == report_id, Token.purpose == purpose, Token.used_at.is_(None))
        .values(used_at=utcnow())
    )
