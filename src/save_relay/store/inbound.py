"""Received messages and the reports they become. Storing is the durable step behind every 250."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.clock import utcnow
from save_relay.models import InboundMessage, Report


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope of one message for one recipient."""

    mail_from: str
    rcpt_to: str
    peer: str = ""
    via: str = "smtp"


def reference_for(prefix: str, year: int, report_id: int) -> str:
    return f"{prefix}-{year}-{report_id:06d}"


async def store_message(
    session: AsyncSession,
    *,
    network_id: int,
    purpose: str,
    token: str | None,
    raw: bytes,
    envelope: Envelope,
    reference_prefix: str | None,
) -> tuple[InboundMessage, Report | None]:
    """Add the raw message (and, for a post, its report with a fresh reference) to the session."""
    message = InboundMessage(
        network_id=network_id,
        purpose=purpose,
        token=token,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        mail_from=envelope.mail_from[:320],
        rcpt_to=envelope.rcpt_to[:320],
        peer=envelope.peer[:100],
        via=envelope.via,
        received_at=utcnow(),
    )
    session.add(message)
    await session.flush()
    report = None
    if reference_prefix is not None:
        report = Report(network_id=network_id, inbound_id=message.id, status="pending")
        session.add(report)
        await session.flush()
        report.reference = reference_for(reference_prefix, message.received_at.year, report.id)
        await session.flush()
    return message, report


async def next_new(session: AsyncSession, limit: int) -> list[InboundMessage]:
    """The oldest messages not processed yet."""
    rows = await session.scalars(
        select(InboundMessage).where(InboundMessage.status == "new").order_by(InboundMessage.id).limit(limit)
    )
    return list(rows)


async def mark(session: AsyncSession, message_id: int, status: str, error: str | None = None) -> None:
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id)
        .values(status=status, processed_at=utcnow(), error=error)
    )


async def report_for_inbound(session: AsyncSession, inbound_id: int) -> Report | None:
    return await session.scalar(select(Report).where(Report.inbound_id == inbound_id))
