"""SMS parts and their delivery receipts (``sms_parts``), and the SMS of a distribution for display."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store.deliveries import SMS
from save_relay.store.tables import Delivery, SmsPart

#: Receipt states that end a part well or badly (SMPP 3.4 appendix B ``stat``, and our HTTP contract's).
DELIVERED = "DELIVRD"


def record_parts(
    session: AsyncSession,
    network_id: int,
    delivery_id: int,
    message_ids: Sequence[str],
    *,
    first: int = 1,
    state: str | None = None,
) -> None:
    """The gateway took parts ``first``... of a delivery under these message ids (one per part);
    ``state``: a receipt state it gave at once."""
    now = utcnow()
    session.add_all(
        SmsPart(
            network_id=network_id,
            delivery_id=delivery_id,
            part=i,
            message_id=m[:80],
            submitted_at=now,
            state=state[:16].upper() if state else None,
            receipt_at=now if state else None,
        )
        for i, m in enumerate(message_ids, start=first)
    )


async def record_receipt(
    session: AsyncSession, network_id: int, message_id: str, state: str, error: str | None = None
) -> int:
    """A delivery receipt for the part with ``message_id``; returns how many parts it matched (0: a
    receipt for a message we do not know, or one that came before its submit was recorded)."""
    result = await session.execute(
        update(SmsPart)
        .where(SmsPart.network_id == network_id, SmsPart.message_id == message_id[:80])
        .values(state=state[:16].upper(), error=(error or None) and error[:200], receipt_at=utcnow())
    )
    return max(getattr(result, "rowcount", 0) or 0, 0)


@dataclass(frozen=True, slots=True)
class SmsLine:
    """One SMS of a distribution as ``queue show`` and the console show it."""

    number: str
    status: str  # the queue's: queued, sent, failed
    attempts: int
    error: str | None
    receipt: str | None  # DELIVRD when every part was delivered, else the first other state, None: none yet
    receipt_at: datetime | None
    parts: int


def _receipt(states: list[str | None]) -> str | None:
    """The first part's state that is no delivery; else DELIVRD once every part has one."""
    bad = [s for s in states if s is not None and s != DELIVERED]
    if bad:
        return bad[0]
    return DELIVERED if states and all(s is not None for s in states) else None


async def of_distributions(session: AsyncSession, distribution_ids: Sequence[int]) -> list[SmsLine]:
    """The SMS of these distributions, by number, with their receipts."""
    if not distribution_ids:
        return []
    deliveries = (
        await session.execute(
            select(Delivery.id, Delivery.recipient, Delivery.status, Delivery.attempts, Delivery.last_error)
            .where(Delivery.distribution_id.in_(distribution_ids), Delivery.kind == SMS)
            .order_by(Delivery.recipient, Delivery.id)
        )
    ).all()
    parts: dict[int, list[tuple[str | None, datetime | None]]] = {}
    rows = await session.execute(
        select(SmsPart.delivery_id, SmsPart.state, SmsPart.receipt_at)
        .where(SmsPart.delivery_id.in_([d.id for d in deliveries]))
        .order_by(SmsPart.delivery_id, SmsPart.part)
    )
    for delivery_id, state, at in rows.all():
        parts.setdefault(delivery_id, []).append((state, at))
    out = []
    for d in deliveries:
        found = parts.get(d.id, [])
        times = [at for _, at in found if at is not None]
        out.append(
            SmsLine(
                number=d.recipient,
                status=d.status,
                attempts=d.attempts,
                error=d.last_error,
                receipt=_receipt([s for s, _ in found]),
                receipt_at=max(times) if times else None,
                parts=len(found),
            )
        )
    return out


async def sms_counts(session: AsyncSession, distribution_ids: Sequence[int]) -> dict[str, int]:
    """The SMS of these distributions by queue status and receipt (``delivered``)."""
    counts: dict[str, int] = {}
    for line in await of_distributions(session, distribution_ids):
        counts[line.status] = counts.get(line.status, 0) + 1
        if line.receipt == DELIVERED:
            counts["delivered"] = counts.get("delivered", 0) + 1
    return counts


async def parts_taken(session: AsyncSession, delivery_ids: Sequence[int]) -> dict[int, int]:
    """How many parts of each delivery the gateway took already (a retry starts after them)."""
    if not delivery_ids:
        return {}
    rows = await session.execute(
        select(SmsPart.delivery_id, func.count())
        .where(SmsPart.delivery_id.in_(delivery_ids))
        .group_by(SmsPart.delivery_id)
    )
    return {delivery_id: count for delivery_id, count in rows.all()}
