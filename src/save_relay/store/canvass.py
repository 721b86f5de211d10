"""Canvass queries: claim the due step, recipients and their reply tokens, answers.

A due step is claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two daemons never run the same
step; on SQLite every transaction begins IMMEDIATE, which serialises the claims just as well. The step
and the mails it queues commit together, and the step moves ``status``/``due_at`` on, so a committed
step is never repeated and an uncommitted one leaves no trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.erased import ERASED_DOMAIN
from save_relay.core.errors import NotFound
from save_relay.core.tokens import token_hash
from save_relay.store.canvass_targets import Target
from save_relay.store.tables import Canvass, CanvassAnswer, CanvassRecipient, CanvassToken, InboundMessage

ACTIVE = ("scheduled", "open", "reminded")


def ref(canvass_id: int) -> str:
    """The canvass's name in the audit log and in subjects."""
    return f"canvass-{canvass_id}"


async def claim_due(session: AsyncSession, now: datetime, network_ids: Sequence[int]) -> Canvass | None:
    """The canvass (of one of ``network_ids``) whose next step is the most overdue, locked."""
    return await session.scalar(
        select(Canvass)
        .where(Canvass.status.in_(ACTIVE), Canvass.due_at <= now, Canvass.network_id.in_(network_ids))
        .order_by(Canvass.due_at, Canvass.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def claim_digests(
    session: AsyncSession, now: datetime, network_ids: Sequence[int], limit: int = 20
) -> list[Canvass]:
    """Sent canvasses (of ``network_ids``) whose answer digest is due, locked for this transaction."""
    rows = await session.scalars(
        select(Canvass)
        .where(Canvass.next_digest_at <= now, Canvass.network_id.in_(network_ids))
        .order_by(Canvass.next_digest_at, Canvass.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def get(session: AsyncSession, canvass_id: int, *, lock: bool = False) -> Canvass:
    query = select(Canvass).where(Canvass.id == canvass_id)
    found = await session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"no canvass {canvass_id}")
    return found


async def by_cancel_token(session: AsyncSession, network_id: int, token: str) -> Canvass | None:
    return await session.scalar(
        select(Canvass)
        .where(Canvass.network_id == network_id, Canvass.cancel_hash == token_hash(token))
        .with_for_update()
    )


async def list_canvasses(session: AsyncSession, status: str | None = None, limit: int = 200) -> list[Canvass]:
    query = select(Canvass).order_by(Canvass.id.desc()).limit(limit)
    if status:
        query = query.where(Canvass.status == status)
    return list(await session.scalars(query))


async def add_recipients(
    session: AsyncSession, canvass_id: int, targets: Sequence[Target]
) -> list[tuple[int, str]]:
    """Insert one recipient per target (addresses are distinct); returns ``(id, address)`` in order."""
    if not targets:
        return []
    rows = [
        {
            "canvass_id": canvass_id,
            "subscriber_id": t.subscriber_id,
            "company": t.company[:200],
            "address": t.address,
            "distance_m": t.distance_m,
        }
        for t in targets
    ]
    result = await session.execute(
        insert(CanvassRecipient).returning(
            CanvassRecipient.id, CanvassRecipient.address, sort_by_parameter_order=True
        ),
        rows,
    )
    return [(row[0], row[1]) for row in result.all()]


async def add_tokens(session: AsyncSession, tokens: Sequence[tuple[str, int]], mail: str) -> None:
    """Store the hashes of fresh reply tokens, ``(token, recipient id)`` each."""
    if tokens:
        await session.execute(
            insert(CanvassToken),
            [{"hash": token_hash(token), "recipient_id": rid, "mail": mail} for token, rid in tokens],
        )


async def not_answered(session: AsyncSession, canvass_id: int) -> list[tuple[int, str]]:
    """``(id, address)`` of the recipients to remind: not reminded yet, and neither they nor another
    address of their subscriber has answered."""
    answered = select(CanvassRecipient.subscriber_id).where(
        CanvassRecipient.canvass_id == canvass_id,
        CanvassRecipient.responded_at.is_not(None),
        CanvassRecipient.subscriber_id.is_not(None),
    )
    rows = await session.execute(
        select(CanvassRecipient.id, CanvassRecipient.address)
        .where(
            CanvassRecipient.canvass_id == canvass_id,
            CanvassRecipient.responded_at.is_(None),
            CanvassRecipient.reminded_at.is_(None),
            CanvassRecipient.subscriber_id.is_(None) | CanvassRecipient.subscriber_id.not_in(answered),
            CanvassRecipient.address.not_like(f"%@{ERASED_DOMAIN}"),  # erased since the question went out
        )
        .order_by(CanvassRecipient.id)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def mark_reminded(session: AsyncSession, recipient_ids: Sequence[int], now: datetime) -> None:
    if recipient_ids:
        await session.execute(
            update(CanvassRecipient).where(CanvassRecipient.id.in_(recipient_ids)).values(reminded_at=now)
        )


async def recipient_for_token(
    session: AsyncSession, network_id: int, token: str
) -> tuple[Canvass, CanvassRecipient] | None:
    """The canvass (locked) and recipient a ``+reply-TOKEN`` address belongs to, in one query.

    Only the canvass row is locked (``FOR UPDATE OF``): every step and every answer of a canvass
    takes that lock first, so they follow one another. The recipient comes with it (on PostgreSQL
    possibly as it was before the lock was granted); of its columns only ``responded_at`` and
    ``reminded_at`` ever change, and those are written by UPDATE statements (``mark_responded``,
    ``mark_reminded``), never from this copy.
    """
    row = (
        await session.execute(
            select(Canvass, CanvassRecipient)
            .join(CanvassRecipient, CanvassRecipient.canvass_id == Canvass.id)
            .join(CanvassToken, CanvassToken.recipient_id == CanvassRecipient.id)
            .where(CanvassToken.hash == token_hash(token), Canvass.network_id == network_id)
            .with_for_update(of=Canvass)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def mark_responded(session: AsyncSession, recipient_id: int, now: datetime) -> None:
    """The recipient's first answer time; a later answer leaves it as it is."""
    await session.execute(
        update(CanvassRecipient)
        .where(CanvassRecipient.id == recipient_id, CanvassRecipient.responded_at.is_(None))
        .values(responded_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """An answer with who gave it."""

    answer: CanvassAnswer
    company: str
    address: str
    distance_m: float | None


async def answers(session: AsyncSession, canvass_id: int, *, unforwarded: bool = False) -> list[AnswerRow]:
    query = (
        select(CanvassAnswer, CanvassRecipient.company, CanvassRecipient.address, CanvassRecipient.distance_m)
        .join(CanvassRecipient, CanvassRecipient.id == CanvassAnswer.recipient_id)
        .where(CanvassAnswer.canvass_id == canvass_id)
        .order_by(CanvassAnswer.id)
    )
    if unforwarded:
        query = query.where(CanvassAnswer.forwarded_at.is_(None))
    return [AnswerRow(*row) for row in (await session.execute(query)).all()]


async def answer_count(session: AsyncSession, canvass_id: int) -> int:
    """How many answers a canvass has (late ones too)."""
    query = select(func.count()).select_from(CanvassAnswer).where(CanvassAnswer.canvass_id == canvass_id)
    return int(await session.scalar(query) or 0)


async def mark_forwarded(session: AsyncSession, answer_ids: Sequence[int], now: datetime) -> None:
    if answer_ids:
        await session.execute(
            update(CanvassAnswer).where(CanvassAnswer.id.in_(answer_ids)).values(forwarded_at=now)
        )


async def recipients(session: AsyncSession, canvass_id: int) -> list[CanvassRecipient]:
    rows = await session.scalars(
        select(CanvassRecipient)
        .where(CanvassRecipient.canvass_id == canvass_id)
        .order_by(CanvassRecipient.distance_m.is_(None), CanvassRecipient.distance_m, CanvassRecipient.id)
    )
    return list(rows)


async def response_counts(session: AsyncSession, canvass_id: int) -> tuple[int, int]:
    """(recipients, recipients who answered)."""
    row = (
        await session.execute(
            select(func.count(), func.count(CanvassRecipient.responded_at)).where(
                CanvassRecipient.canvass_id == canvass_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def purge_answers(session: AsyncSession, before: datetime, now: datetime) -> int:
    """Empty the raw mail and text of answers received before ``before``; returns the mails emptied.

    Who answered, and when, stays (the response counts); the raw message's SHA-256 stays too.
    """
    old = select(CanvassAnswer.inbound_id).where(CanvassAnswer.received_at < before)
    result = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(old), InboundMessage.purged_at.is_(None))
        .values(raw=b"", purged_at=now)
    )
    await session.execute(
        update(CanvassAnswer)
        .where(CanvassAnswer.inbound_id.in_(old), CanvassAnswer.text != "")
        .values(text="", attachments=[])
    )
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


async def answer_raws(session: AsyncSession, answer_ids: Sequence[int]) -> list[tuple[int, bytes]]:
    """The raw mail of each answer, by answer id."""
    rows = await session.execute(
        select(CanvassAnswer.id, InboundMessage.raw)
        .join(InboundMessage, InboundMessage.id == CanvassAnswer.inbound_id)
        .where(CanvassAnswer.id.in_(list(answer_ids)))
        .order_by(CanvassAnswer.id)
    )
    return [(answer_id, raw) for answer_id, raw in rows.all()]


async def answer_raw(session: AsyncSession, answer_id: int) -> bytes | None:
    return await session.scalar(
        select(InboundMessage.raw)
        .join(CanvassAnswer, CanvassAnswer.inbound_id == InboundMessage.id)
        .where(CanvassAnswer.id == answer_id)
    )
