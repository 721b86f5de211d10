"""The outbound queue: enqueue, fan out in bulk, claim with leases, record outcomes.

On PostgreSQL a claim uses ``FOR UPDATE SKIP LOCKED`` so that several workers (and nodes) share the
table without sending one delivery twice; SQLite has one writer at a time and needs no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    Table,
    and_,
    bindparam,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.states import DeliveryLane, DeliveryStatus
from save_relay.core.tokens import delivery_id_of, delivery_token, token_hash
from save_relay.store.tables import Delivery, Distribution, Report

DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
WEBHOOK = "webhook"  # the kind of a webhook delivery (recipient: the endpoint's name; message: the JSON)
SMS = "sms"  # the kind of an SMS (recipient: an E.164 number; message: the text, UTF-8)
NOT_MAIL = (WEBHOOK, SMS)  # kinds the mail worker leaves to their own workers
LANE_KEY = "save_relay_delivery_lane"  # in ``session.info``: the lane of what the transaction queues


def set_lane(session: AsyncSession, lane: DeliveryLane) -> None:
    """Queue what ``session`` queues from now on in ``lane``: the processor sets it per message, so
    that the mails a command or a known subscriber's report causes go out before a flood's (issue 16);
    queued without it, mail is ``NORMAL``."""
    session.info[LANE_KEY] = lane


def _lane(session: AsyncSession) -> DeliveryLane:
    return DeliveryLane(session.info.get(LANE_KEY, DeliveryLane.NORMAL))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed by this worker, with what it takes to send it."""

    id: int
    network_id: int
    distribution_id: int | None
    kind: str
    recipient: str
    message: bytes | None
    attempts: int
    bounce_token: str = ""
    unsubscribe_token: str | None = None
    followup_token: str | None = None  # a distribution copy's Reply-To (+followup-TOKEN)
    created_at: datetime | None = None  # when it was queued (an urgent SMS expires)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed delivery."""

    id: int
    sent: bool
    retry_at: datetime | None = None
    error: str | None = None


def enqueue(session: AsyncSession, *, network_id: int, kind: str, recipient: str, message: bytes) -> None:
    """Queue one pre-rendered message (acknowledgement, notification, confirmation)."""
    session.add(
        Delivery(
            network_id=network_id,
            kind=kind,
            recipient=recipient,
            message=message,
            status=DeliveryStatus.QUEUED,
            lane=_lane(session),
            next_attempt_at=utcnow(),
        )
    )


async def enqueue_many(
    session: AsyncSession, *, network_id: int, kind: str, messages: Sequence[tuple[str, bytes]]
) -> None:
    """Queue many pre-rendered messages, ``(recipient, message)`` each, in one bulk INSERT."""
    if not messages:
        return
    now = utcnow()
    rows = [
        {"network_id": network_id, "kind": kind, "recipient": recipient, "message": message}
        | {"status": DeliveryStatus.QUEUED, "lane": _lane(session), "attempts": 0}
        | {"next_attempt_at": now, "created_at": now}
        for recipient, message in messages
    ]
    await session.execute(DELIVERIES.insert(), rows)


async def fan_out(session: AsyncSession, distribution: Distribution, recipients: Select[tuple[str]]) -> int:
    """Insert one delivery per distinct address of ``recipients`` in a single INSERT ... SELECT."""
    now = utcnow()
    addresses = recipients.subquery()
    source = select(
        literal(distribution.network_id),
        literal(distribution.id),
        literal("distribution"),
        addresses.c[0],
        literal("queued"),
        literal(int(_lane(session))),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    )
    columns = ["network_id", "distribution_id", "kind", "recipient", "status", "lane", "attempts"]
    columns += ["next_attempt_at", "created_at"]
    result = await session.execute(DELIVERIES.insert().from_select(columns, source))
    assert isinstance(result, CursorResult)
    count = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else None
    if count is None:
        count = (
            await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.distribution_id == distribution.id)
            )
            or 0
        )
    distribution.recipients = count
    return count


async def fan_out_sms(
    session: AsyncSession, distribution: Distribution, numbers: Select[str], text: str
) -> int:
    """One ``sms`` delivery per number of ``numbers``, all with ``text``, in a single INSERT ... SELECT."""
    now = utcnow()
    chosen = numbers.subquery()
    source = select(
        literal(distribution.network_id),
        literal(distribution.id),
        literal(SMS),
        chosen.c[0],
        literal(text.encode(), type_=Delivery.message.type),
        literal("queued"),
        literal(int(DeliveryLane.URGENT)),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    )
    columns = ["network_id", "distribution_id", "kind", "recipient", "message", "status", "lane", "attempts"]
    columns += ["next_attempt_at", "created_at"]
    await session.execute(DELIVERIES.insert().from_select(columns, source))
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.distribution_id == distribution.id, Delivery.kind == SMS)
        )
        or 0
    )


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    limit: int,
    lease: timedelta,
    kinds: Sequence[str] | None = None,
    networks: Sequence[int] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``worker``; the caller commits.

    ``kinds`` None: every kind but ``webhook`` and ``sms`` (the mail worker's); their workers name theirs.
    ``networks``: only these networks' (the SMS worker's: those with a gateway).
    """
    now = utcnow()
    of_kind = Delivery.kind.in_(kinds) if kinds is not None else Delivery.kind.not_in(NOT_MAIL)
    query = (
        select(
            Delivery.id,
            Delivery.network_id,
            Delivery.distribution_id,
            Delivery.kind,
            Delivery.recipient,
            Delivery.message,
            Delivery.attempts,
            Delivery.created_at,
        )
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
            (Delivery.lease_until.is_(None)) | (Delivery.lease_until < now),
            of_kind,
            Delivery.network_id.in_(networks) if networks is not None else true(),
        )
        .order_by(Delivery.lane, Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = [
        Claimed(
            *row[:7],
            created_at=as_utc(row[7]),
            bounce_token=delivery_token(row[0]),
            unsubscribe_token=delivery_token(row[0]) if row[2] else None,
            followup_token=delivery_token(row[0]) if row[2] else None,
        )
        for row in (await session.execute(query)).all()
    ]
    if rows:
        # The tokens' hashes are stored with the lease, before anything is sent: a bounce, an
        # unsubscribe or a follow-up that comes back fast always finds its delivery.
        await session.execute(
            DELIVERIES.update()
            .where(DELIVERIES.c.id == bindparam("b_id"))
            .values(
                lease_until=now + lease,
                claimed_by=worker,
                bounce_hash=bindparam("b_bounce"),
                unsubscribe_hash=bindparam("b_unsub"),
                followup_hash=bindparam("b_followup"),
            ),
            [
                {
                    "b_id": row.id,
                    "b_bounce": token_hash(row.bounce_token),
                    "b_unsub": token_hash(row.unsubscribe_token) if row.unsubscribe_token else None,
                    "b_followup": token_hash(row.followup_token) if row.followup_token else None,
                }
                for row in rows
            ],
        )
    return rows


def named_by(column: InstrumentedAttribute[str | None], token: str) -> ColumnElement[bool]:
    """The condition that finds the delivery ``token`` was issued for, ``column`` holding its hash.

    A token from ``delivery_token`` names its delivery's id: found by the primary key, the hash must
    match as well. A plain token (issued before migration 0007) is found by its hash alone, which no
    index serves any more: a scan, for the rare old bounce or unsubscribe link.
    """
    delivery_id = delivery_id_of(token)
    hashed = column == token_hash(token)
    return hashed if delivery_id is None else and_(Delivery.id == delivery_id, hashed)


async def record_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Mark sent deliveries sent, schedule retries, fail what has no retry left; in bulk."""
    now = utcnow()
    sent = [o for o in outcomes if o.sent]
    retry = [o for o in outcomes if not o.sent and o.retry_at is not None]
    failed = [o for o in outcomes if not o.sent and o.retry_at is None]
    table = DELIVERIES
    if sent:
        await session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=DeliveryStatus.SENT,
                sent_at=now,
                lease_until=None,
                attempts=table.c.attempts + 1,
            ),
            [{"b_id": o.id} for o in sent],
        )
    if retry:
        await session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=DeliveryStatus.QUEUED,
                lease_until=None,
                attempts=table.c.attempts + 1,
                next_attempt_at=bindparam("b_at"),
                last_error=bindparam("b_error"),
            ),
            [{"b_id": o.id, "b_at": o.retry_at, "b_error": o.error} for o in retry],
        )
    if failed:
        await session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=DeliveryStatus.FAILED,
                lease_until=None,
                attempts=table.c.attempts + 1,
                last_error=bindparam("b_error"),
            ),
            [{"b_id": o.id, "b_error": o.error} for o in failed],
        )


async def release(session: AsyncSession, ids: Sequence[int]) -> None:
    """Give claimed, unsent deliveries back to the queue at once (no attempt counted, no lease to
    wait for): the worker's round ended before it reached them."""
    if ids:
        await session.execute(
            DELIVERIES.update()
            .where(DELIVERIES.c.id.in_(ids), DELIVERIES.c.status == DeliveryStatus.QUEUED)
            .values(lease_until=None, claimed_by=None)
        )


async def take_back(session: AsyncSession, worker: str) -> int:
    """Free the leases held under ``worker`` (this node's name, at its start: a process killed under the
    same name held them, and nobody else will send them); returns how many. Other nodes' leases run
    out as usual."""
    result = await session.execute(
        DELIVERIES.update()
        .where(DELIVERIES.c.claimed_by == worker, DELIVERIES.c.status == DeliveryStatus.QUEUED)
        .where(DELIVERIES.c.lease_until.is_not(None))
        .values(lease_until=None)
    )
    assert isinstance(result, CursorResult)
    return max(result.rowcount or 0, 0)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest queued delivery becomes due (for the worker's sleep)."""
    value = await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == DeliveryStatus.QUEUED)
    )
    return as_utc(value) if value is not None else None


async def counts(session: AsyncSession, distribution_id: int) -> dict[str, int]:
    """A distribution's mail deliveries by status (its SMS: ``store/sms.py``)."""
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.distribution_id == distribution_id, Delivery.kind != SMS)
        .group_by(Delivery.status)
    )
    return {status: count for status, count in rows.all()}


async def webhook_counts(session: AsyncSession) -> dict[tuple[int, str, str], int]:
    """Webhook deliveries by (network id, endpoint name, status): the CLI's listing."""
    rows = await session.execute(
        select(Delivery.network_id, Delivery.recipient, Delivery.status, func.count())
        .where(Delivery.kind == WEBHOOK)
        .group_by(Delivery.network_id, Delivery.recipient, Delivery.status)
    )
    return {(network_id, name, status): count for network_id, name, status, count in rows.all()}


async def acks_since(session: AsyncSession, recipient: str, since: datetime) -> int:
    """Acknowledgements queued for ``recipient`` after ``since`` (the acknowledgement rate limit)."""
    query = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.kind == "ack", Delivery.recipient == recipient, Delivery.created_at > since)
    )
    return int(await session.scalar(query) or 0)


async def recipient_of_unsubscribe_token(session: AsyncSession, network_id: int, token: str) -> str | None:
    """The address a delivery with this unsubscribe token went to, if any."""
    return await session.scalar(
        select(Delivery.recipient)
        .where(named_by(Delivery.unsubscribe_hash, token), Delivery.network_id == network_id)
        .limit(1)
    )


async def distribution_body(session: AsyncSession, distribution_id: int) -> tuple[bytes, str | None]:
    """A distribution's rendered body and its report's reference (None for a canvass's)."""
    row = (
        await session.execute(
            select(Distribution.body, Report.reference)
            .outerjoin(Report, Report.id == Distribution.report_id)
            .where(Distribution.id == distribution_id)
        )
    ).one()
    return row[0], row[1]
