"""Follow-ups of reports: what their reply addresses and Message-IDs lead to, and the stored follow-ups."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import AddressStatus
from save_relay.store.deliveries import named_by
from save_relay.store.tables import (
    Delivery,
    Distribution,
    Followup,
    InboundMessage,
    Report,
    Subscriber,
    SubscriberAddress,
)


@dataclass(frozen=True, slots=True)
class CopyFound:
    """The distribution copy a ``+followup-TOKEN`` was sent with: its report, recipient and time."""

    report_id: int
    recipient: str
    created_at: datetime


async def copy_for_token(session: AsyncSession, network_id: int, token: str) -> CopyFound | None:
    """The report copy whose Reply-To carried ``token`` (found by the delivery id in the token, the hash
    checked, as for bounces and unsubscribes), if any."""
    row = (
        await session.execute(
            select(Distribution.report_id, Delivery.recipient, Delivery.created_at)
            .join(Distribution, Distribution.id == Delivery.distribution_id)
            .where(named_by(Delivery.followup_hash, token), Delivery.network_id == network_id)
            .limit(1)
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return CopyFound(row[0], row[1], row[2])


async def report_by_reference(session: AsyncSession, network_id: int, reference: str) -> Report | None:
    """The network's report with this reference (a thread's Message-ID names it), if any."""
    return await session.scalar(
        select(Report).where(Report.reference == reference, Report.network_id == network_id)
    )


async def company_of(session: AsyncSession, network_id: int, address: str) -> str | None:
    """The company of an active subscriber address of the network, if the address is one."""
    return await session.scalar(
        select(Subscriber.company)
        .join(SubscriberAddress, SubscriberAddress.subscriber_id == Subscriber.id)
        .where(
            Subscriber.network_id == network_id,
            SubscriberAddress.address == address.lower(),
            SubscriberAddress.status == AddressStatus.ACTIVE,
        )
        .limit(1)
    )


def add(
    session: AsyncSession,
    inbound: InboundMessage,
    report: Report,
    *,
    sender: str,
    role: str,
    sent_to: str | None,
    found_by: str,
    subject: str,
    text: str,
    forwarded_to: int,
) -> Followup:
    """Store ``inbound`` as a follow-up of ``report``: the raw bytes as received, their SHA-256 computed
    again from those bytes (the same as intake's)."""
    followup = Followup(
        network_id=inbound.network_id,
        report_id=report.id,
        inbound_id=inbound.id,
        raw=inbound.raw,
        sha256=hashlib.sha256(inbound.raw).hexdigest(),
        size=len(inbound.raw),
        sender=sender[:320],
        role=role,
        sent_to=sent_to,
        found_by=found_by,
        subject=subject[:300],
        text=text,
        forwarded_to=forwarded_to,
        received_at=inbound.received_at,
    )
    session.add(followup)
    return followup


async def of_report(session: AsyncSession, report_id: int) -> Sequence[Followup]:
    """A report's follow-ups, oldest first."""
    return list(
        await session.scalars(select(Followup).where(Followup.report_id == report_id).order_by(Followup.id))
    )
