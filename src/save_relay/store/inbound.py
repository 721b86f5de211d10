"""Received messages and the reports they become. Storing is the durable step behind every 250."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Subquery, case, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.states import AddressStatus, InboundStatus, ReportStatus
from save_relay.store.references import reference_for, take_numbers
from save_relay.store.tables import InboundMessage, Report, Subscriber, SubscriberAddress


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope of one message for one recipient."""

    mail_from: str
    rcpt_to: str
    peer: str = ""
    via: str = "smtp"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One message for one route, to be stored; ``reference_prefix`` is set for a post (a report)."""

    network_id: int
    purpose: str
    token: str | None
    raw: bytes
    envelope: Envelope
    reference_prefix: str | None


async def store_messages(
    session: AsyncSession, messages: Sequence[NewMessage]
) -> list[tuple[int, str | None]]:
    """Add the raw messages and the reports of the posts; returns (inbound id, reference) for each.

    Three statements for the lot, whatever its size (Core executemany with RETURNING, no ORM objects):
    the messages, the reports, then the references (plus one counter upsert per prefix in the lot).
    """
    if not messages:
        return []
    now = utcnow()
    ids = list(
        await session.scalars(
            insert(InboundMessage).returning(InboundMessage.id, sort_by_parameter_order=True),
            [
                {
                    "network_id": m.network_id,
                    "purpose": m.purpose,
                    "token": m.token,
                    "raw": m.raw,
                    "sha256": hashlib.sha256(m.raw).hexdigest(),
                    "size": len(m.raw),
                    "mail_from": m.envelope.mail_from[:320],
                    "rcpt_to": m.envelope.rcpt_to[:320],
                    "peer": m.envelope.peer[:100],
                    "via": m.envelope.via,
                    "received_at": now,
                    "status": InboundStatus.NEW,
                }
                for m in messages
            ],
        )
    )
    posts = [(i, m) for i, m in zip(ids, messages, strict=True) if m.reference_prefix is not None]
    references: dict[int, str] = {}
    if posts:
        report_ids = await session.scalars(
            insert(Report).returning(Report.id, sort_by_parameter_order=True),
            [
                {
                    "network_id": m.network_id,
                    "inbound_id": i,
                    "status": ReportStatus.PENDING,
                    "received_at": now,
                }
                for i, m in posts
            ],
        )
        numbers = await _numbers(session, [m.reference_prefix or "" for _, m in posts], now.year)
        rows = []
        for report_id, (inbound_id, m) in zip(report_ids, posts, strict=True):
            prefix = m.reference_prefix or ""
            references[inbound_id] = reference_for(prefix, now.year, numbers[prefix].pop(0))
            rows.append({"id": report_id, "reference": references[inbound_id]})
        await session.execute(update(Report), rows)  # executemany by primary key
    return [(i, references.get(i)) for i in ids]


async def _numbers(session: AsyncSession, prefixes: Sequence[str], year: int) -> dict[str, list[int]]:
    """The reference numbers for a lot's posts, taken from each prefix's counter in one step."""
    wanted: dict[str, int] = {}
    for prefix in prefixes:
        wanted[prefix] = wanted.get(prefix, 0) + 1
    return {p: list(await take_numbers(session, p, year, n)) for p, n in sorted(wanted.items())}


#: a message's place in the processor's queue (lower first): the fair order of ``claim_new``
FIRST, KNOWN, OTHER, OVER_CAP = 0, 1, 2, 3


def _fair_order(per_sender: int) -> Subquery:
    """The new messages with their place in the processor's fair order (``place``, then ``id``).

    Commands (every ``+purpose`` but a post: moderators' ``+confirm``, follow-ups, bounces), then posts
    from the active addresses of subscribers of the message's own network (a subscriber of another
    network is a stranger here), then the rest; a sender's messages past ``per_sender`` come after
    everybody's first ones, oldest first, so one sender's flood fills a batch only when nobody else
    waits. The subscriber lookup runs only for messages within their sender's cap (CASE is lazy).
    """
    sender = func.lower(InboundMessage.mail_from)
    rank = func.row_number().over(partition_by=sender, order_by=InboundMessage.id).label("rank")
    queued = (
        select(
            InboundMessage.id, InboundMessage.network_id, InboundMessage.purpose, sender.label("sender"), rank
        )
        .where(InboundMessage.status == InboundStatus.NEW)
        .subquery()
    )
    known = exists().where(
        SubscriberAddress.address == queued.c.sender,
        SubscriberAddress.status == AddressStatus.ACTIVE,
        Subscriber.id == SubscriberAddress.subscriber_id,
        Subscriber.network_id == queued.c.network_id,
    )
    place = case(
        (queued.c.rank > per_sender, OVER_CAP),
        (queued.c.purpose != "post", FIRST),
        (known, KNOWN),
        else_=OTHER,
    )
    return select(queued.c.id, place.label("place")).subquery()


@dataclass(frozen=True, slots=True)
class Claimed:
    """A new message taken by the processor; ``urgent``: a command or a known subscriber's report
    within its sender's share, whose mails go in ``DeliveryLane.URGENT``."""

    message: InboundMessage
    urgent: bool


async def claim_new(session: AsyncSession, limit: int, per_sender: int | None = None) -> list[Claimed]:
    """Up to ``limit`` new messages in the fair order (``_fair_order``; ``per_sender`` defaults to
    ``limit``), locked for this transaction; rows another transaction holds are skipped, so two
    processors never take the same message. SQLite ignores the lock: there the transaction holds the one
    write lock (``BEGIN IMMEDIATE``).

    Two statements. The first ranks the queue and keeps the first ``2 * limit`` ids: one scan of the new
    messages, no lock (a window function cannot be locked). The second locks the best of those by primary
    key, ``FOR UPDATE SKIP LOCKED`` with the ranking as a CASE, so a second daemon takes the next ones. One
    statement joining the ranking back to the table was quadratic on PostgreSQL whenever the table's
    statistics still said "nothing queued" (a flood into a queue that is usually empty, before autovacuum
    analyses it): a nested loop that ranked the whole queue again for every queued row, 1.35 s for a claim
    with 1,000 queued instead of 2 ms. PostgreSQL compiles no JIT code for this transaction: with 30,000
    queued, compiling took ~1 s of a 1.2 s claim.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
    order = _fair_order(per_sender or limit)
    ranked = (
        await session.execute(
            select(order.c.id, order.c.place).order_by(order.c.place, order.c.id).limit(2 * limit)
        )
    ).all()
    if not ranked:
        return []
    places: dict[int, int] = {int(id_): int(place) for id_, place in ranked}
    query = (
        select(InboundMessage)
        .where(InboundMessage.id.in_(places), InboundMessage.status == InboundStatus.NEW)
        .order_by(case(places, value=InboundMessage.id), InboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Claimed(message, places[message.id] <= KNOWN) for message in await session.scalars(query)]


async def mark(session: AsyncSession, message_id: int, status: str, error: str | None = None) -> None:
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id)
        .values(status=status, processed_at=utcnow(), error=error)
    )


async def mark_many(session: AsyncSession, message_ids: Sequence[int], status: str) -> None:
    if message_ids:
        await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id.in_(message_ids))
            .values(status=status, processed_at=utcnow(), error=None)
        )


async def report_for_inbound(session: AsyncSession, inbound_id: int) -> Report | None:
    return await session.scalar(select(Report).where(Report.inbound_id == inbound_id))


async def make_post(session: AsyncSession, message: InboundMessage, reference_prefix: str) -> Report:
    """Make ``message`` a post with a report of its own (a thread the intake took for a follow-up named
    no report of this network): numbered like any report, as of now."""
    now = utcnow()
    (number,) = await take_numbers(session, reference_prefix, now.year, 1)
    report = Report(
        network_id=message.network_id,
        inbound_id=message.id,
        status=ReportStatus.PENDING,
        received_at=message.received_at,
        reference=reference_for(reference_prefix, now.year, number),
    )
    session.add(report)
    message.purpose = "post"
    await session.flush()
    return report
