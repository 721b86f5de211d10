"""The retention purge's statements: each removes one kind of old personal data in bulk.

Reports on an evidence hold are never touched, nor their distributions and deliveries, their
follow-ups, the replies received about them (the moderators' decisions) or the tokens that tie those
replies to them. Purging a report empties its raw message (the sha256 and the audit trail stay: what
was received, and when, can still be shown), its text and its follow-ups' mail and text, not its row.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import DeliveryStatus, RequestStatus
from save_relay.store.holds import held_reports
from save_relay.store.tables import (
    BounceEvent,
    Delivery,
    Distribution,
    Followup,
    InboundMessage,
    MembershipEvent,
    Report,
    SubscriptionRequest,
    Token,
)

CLOSED_REQUESTS = ("approved", "rejected", "done", "cancelled", "expired")
#: Inbound mail that is a delivery log rather than a report (canvass answers have their own retention).
#: A follow-up's intake copy goes with them: the ``followups`` row keeps its own until its report goes.
DELIVERY_LOG_PURPOSES = ("confirm", "bounces", "unsubscribe", "request", "followup")


def _count(result: object) -> int:
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


async def purge_reports(session: AsyncSession, cutoff: datetime, now: datetime) -> int:
    """Empty the raw mail and text of reports received before ``cutoff``; returns how many."""
    old = select(Report.id).where(Report.received_at < cutoff, Report.id.not_in(held_reports()))
    inbound = select(Report.inbound_id).where(Report.id.in_(old))
    result = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(inbound), InboundMessage.purged_at.is_(None))
        .values(raw=b"", purged_at=now)
    )
    await session.execute(
        update(Report)
        .where(Report.id.in_(old), Report.subject != "")
        .values(subject="", edited_text=None, sender_name="")
    )
    await session.execute(update(Distribution).where(Distribution.report_id.in_(old)).values(body=b""))
    await _purge_followups(session, old, now)
    return _count(result)


async def _purge_followups(session: AsyncSession, reports: Select[Any], now: datetime) -> None:
    """Empty the follow-ups of the purged ``reports`` as their reports are: the raw mail (the stored
    copy and intake's) and the text; the sha256 stays."""
    kept = select(Followup.inbound_id).where(Followup.report_id.in_(reports))
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(kept), InboundMessage.purged_at.is_(None))
        .values(raw=b"", purged_at=now)
    )
    await session.execute(
        update(Followup)
        .where(Followup.report_id.in_(reports), Followup.purged_at.is_(None))
        .values(raw=b"", text="", subject="", purged_at=now)
    )


async def purge_other_inbound(
    session: AsyncSession, cutoff: datetime, now: datetime, keep: Collection[int] = ()
) -> int:
    """Empty the raw mail of replies, bounces, unsubscribes and requests received before ``cutoff``,
    except the inbound ids ``keep`` (the replies about held reports)."""
    result = await session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.purpose.in_(DELIVERY_LOG_PURPOSES),
            InboundMessage.received_at < cutoff,
            InboundMessage.purged_at.is_(None),
            InboundMessage.id.not_in(list(keep)),
        )
        .values(raw=b"", purged_at=now)
    )
    return _count(result)


async def purge_deliveries(session: AsyncSession, cutoff: datetime) -> int:
    """Delete finished deliveries created before ``cutoff``, except those of held reports."""
    held = select(Distribution.id).where(Distribution.report_id.in_(held_reports()))
    result = await session.execute(
        delete(Delivery).where(
            Delivery.created_at < cutoff,
            Delivery.status.in_((DeliveryStatus.SENT, DeliveryStatus.FAILED)),
            (Delivery.distribution_id.is_(None)) | (Delivery.distribution_id.not_in(held)),
        )
    )
    return _count(result)


async def purge_logs(session: AsyncSession, cutoff: datetime) -> int:
    """Delete bounce events, reported membership events, closed requests and tokens before ``cutoff``."""
    total = 0
    for statement in (
        delete(BounceEvent).where(BounceEvent.at < cutoff),
        delete(MembershipEvent).where(MembershipEvent.at < cutoff, MembershipEvent.digested_at.is_not(None)),
        delete(SubscriptionRequest).where(
            SubscriptionRequest.created_at < cutoff, SubscriptionRequest.status.in_(CLOSED_REQUESTS)
        ),
        # a held report's tokens stay: they tie the moderators' replies to it (evidence export)
        delete(Token).where(
            Token.expires_at < cutoff, Token.report_id.is_(None) | Token.report_id.not_in(held_reports())
        ),
    ):
        total += _count(await session.execute(statement))
    return total


async def expire_requests(session: AsyncSession, cutoff: datetime) -> int:
    """Requests left unconfirmed or undecided since before ``cutoff`` become ``expired``."""
    result = await session.execute(
        update(SubscriptionRequest)
        .where(
            SubscriptionRequest.created_at < cutoff,
            SubscriptionRequest.status.in_((RequestStatus.UNCONFIRMED, RequestStatus.PENDING)),
        )
        .values(status=RequestStatus.EXPIRED)
    )
    return _count(result)
