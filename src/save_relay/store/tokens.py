"""Token records: only the hash is stored; a token is bound to a purpose, a network, an object, an address."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.tokens import new_token, token_hash
from save_relay.store.tables import Token


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
    (token,) = await issue_many(
        session,
        purpose=purpose,
        network_id=network_id,
        addresses=[address],
        expires_at=expires_at,
        report_id=report_id,
        request_id=request_id,
    )
    return token


async def issue_many(
    session: AsyncSession,
    *,
    purpose: str,
    network_id: int,
    addresses: Sequence[str],
    expires_at: datetime,
    report_id: int | None = None,
    request_id: int | None = None,
) -> list[str]:
    """A token for each of ``addresses`` (in order), inserted in one statement; returned in clear."""
    tokens = [new_token() for _ in addresses]
    now = utcnow()
    rows = [
        {"hash": token_hash(token), "purpose": purpose, "network_id": network_id, "address": address.lower()}
        | {"report_id": report_id, "request_id": request_id, "expires_at": expires_at, "created_at": now}
        for address, token in zip(addresses, tokens, strict=True)
    ]
    if rows:
        await session.execute(insert(Token), rows)
    return tokens


async def find(
    session: AsyncSession, token: str, purpose: str, network_id: int, *, lock: bool = True
) -> Token | None:
    """The token row for ``token`` if it has this purpose and network (locked for update on PostgreSQL,
    unless ``lock`` is false: a caller that must lock another row first locks the token after it)."""
    query = select(Token).where(
        Token.hash == token_hash(token), Token.purpose == purpose, Token.network_id == network_id
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def find_any(session: AsyncSession, token: str, network_id: int) -> Token | None:
    """The token row for ``token`` in this network, whatever its purpose. Locked for update, except
    a report's token: whoever decides on a report locks the report first and its tokens after it
    (``moderation/confirm.py``), or a reply racing a console decision would deadlock."""
    row = await session.scalar(
        select(Token).where(Token.hash == token_hash(token), Token.network_id == network_id)
    )
    if row is not None and row.report_id is None:
        await session.refresh(row, with_for_update=True)
    return row


async def use_all_for_report(session: AsyncSession, report_id: int, purpose: str) -> None:
    """Spend every open token of a report: once one moderator decided, the others' links are dead."""
    await session.execute(
        update(Token)
        .where(Token.report_id == report_id, Token.purpose == purpose, Token.used_at.is_(None))
        .values(used_at=utcnow())
    )


async def spend_hash(session: AsyncSession, token_hash: str, now: datetime) -> None:
    """Mark the token with this hash used (if it is not yet)."""
    await session.execute(
        update(Token).where(Token.hash == token_hash, Token.used_at.is_(None)).values(used_at=now)
    )


async def spend_request(session: AsyncSession, purpose: str, request_id: int, now: datetime) -> None:
    """Mark every unused token of ``purpose`` bound to the request ``request_id`` used."""
    await session.execute(
        update(Token)
        .where(Token.purpose == purpose, Token.request_id == request_id, Token.used_at.is_(None))
        .values(used_at=now)
    )
