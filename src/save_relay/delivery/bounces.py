"""A message to ``+bounces-TOKEN``: which delivery failed, how badly, and what follows for its address.

The token (VERP) names the delivery and so the address, even when the bounce itself is unreadable;
``delivery.dsn.classify`` says permanent, temporary or no bounce at all (an out-of-office reply). A
permanent failure marks the delivery failed. Each bounce adds to the address's score (less for a
temporary one); scores halve every ``bounces.half_life_days`` (in whole days); one delivery counts once,
at its worst.
Past ``bounces.threshold`` the address is disabled and every moderator is told, as Mailman does.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.settings import BounceSettings
from save_relay.core.states import AddressStatus, DeliveryStatus
from save_relay.delivery.dsn import BounceVerdict, classify
from save_relay.delivery.notices import queue_notice
from save_relay.mail.parse import parse_message
from save_relay.store import audit, events
from save_relay.store import bounces as bounce_store
from save_relay.store import subscribers as subscriber_store
from save_relay.store.aftercommit import after_commit
from save_relay.store.tables import BounceEvent, Delivery, InboundMessage

log = logging.getLogger(__name__)

UNMATCHED_FOR = timedelta(days=1)  # a bounce whose token names no delivery after this is dropped (audited)


def decayed(
    score: float, since: datetime | None, now: datetime, half_life_days: float
) -> tuple[float, datetime]:
    """``score`` at ``now``, halving every ``half_life_days`` since ``since``, counted in whole days (so
    that bounces on one day add up exactly, as Mailman's do); returns it with the moment it now refers
    to (``since`` moved on by the days consumed)."""
    if since is None or score <= 0:
        return max(score, 0.0), now
    days = max(int((now - as_utc(since)).total_seconds() // 86400), 0)
    return score * math.pow(0.5, days / half_life_days), as_utc(since) + timedelta(days=days)


def weight(kind: str, conf: BounceSettings) -> float:
    return (
        conf.permanent_score if kind == "permanent" else conf.temporary_score if kind == "temporary" else 0.0
    )


async def handle_bounce(session: AsyncSession, ctx: Context, message: InboundMessage) -> None:
    """Process one bounce in the caller's transaction; nothing here answers the bounce (no backscatter).

    A token that names no delivery yet is kept in ``unmatched_bounces`` and tried again by
    ``match_unmatched`` (the worker records a delivery's token after its batch).
    """
    network = ctx.network(message.network_id)
    delivery = await bounce_store.delivery_for_token(session, network.id, message.token or "")
    if delivery is None:
        bounce_store.add_unmatched(session, message.id, message.token or "", as_utc(message.received_at))
        return
    await _apply(session, ctx, network, message, delivery)


async def match_unmatched(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """The scheduled job: process bounces whose delivery is now known; drop those waiting too long."""
    done: list[int] = []
    for row, message in await bounce_store.unmatched(session):
        network = ctx.network(message.network_id)
        delivery = None
        if row.delivery_id is not None:  # a plain token (before 0007) found nothing at once: it never will
            delivery = await bounce_store.delivery_for_hash(
                session, network.id, row.delivery_id, row.token_hash
            )
        if delivery is not None:
            await _apply(session, ctx, network, message, delivery)
        elif now - as_utc(row.received_at) > UNMATCHED_FOR:
            audit.record(
                session,
                action="bounce_unknown_token",
                actor=message.mail_from or "<>",
                via=message.via,
                network_id=network.id,
                message_id=parse_message(message.raw).message_id,
                inbound_id=message.id,
            )
        else:
            continue
        done.append(message.id)
    await bounce_store.matched(session, done)
    return len(done)


async def _apply(
    session: AsyncSession, ctx: Context, network: NetworkRef, message: InboundMessage, delivery: Delivery
) -> None:
    parsed = parse_message(message.raw)
    verdict = classify(message.raw, null_sender=message.mail_from in ("", "<>"))
    if verdict.is_bounce:
        await _score(session, ctx, network, message, delivery, verdict)
    counter = ctx.metrics.bounces.labels(kind=verdict.kind)
    after_commit(session, counter.inc)
    log.info(
        "bounce for delivery %d to %s: %s",
        delivery.id,
        delivery.recipient,
        verdict.kind if verdict.is_bounce else "not a bounce",
        extra={
            "action": "bounce_received" if verdict.is_bounce else "bounce_ignored",
            "delivery_id": delivery.id,
            "inbound_id": message.id,
            "kind": verdict.kind,
        },
    )
    audit.record(
        session,
        action="bounce_received" if verdict.is_bounce else "bounce_ignored",
        actor=message.mail_from or "<>",
        via=message.via,
        network_id=network.id,
        object_ref=delivery.recipient[:64],
        message_id=parsed.message_id,
        delivery_id=delivery.id,
        kind=verdict.kind,
        why=verdict.why,
        diagnostic=verdict.diagnostic[:300],
    )


async def _score(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    message: InboundMessage,
    delivery: Delivery,
    verdict: BounceVerdict,
) -> None:
    conf = ctx.settings.bounces
    now = utcnow()
    if verdict.kind == "permanent":
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"bounced: {verdict.diagnostic or verdict.why}"[:1000]
    counted = await bounce_store.added_for_delivery(session, delivery.id)
    added = max(weight(verdict.kind, conf) - counted, 0.0)
    rows = await subscriber_store.addresses_in_network(session, network.id, delivery.recipient)
    score = 0.0
    for row in rows:
        current, row.bounce_updated_at = decayed(
            row.bounce_score, row.bounce_updated_at, now, conf.half_life_days
        )
        row.bounce_score = current + added
        score = max(score, row.bounce_score)
    bounce_store.add(
        session,
        BounceEvent(
            network_id=network.id,
            address=delivery.recipient,
            delivery_id=delivery.id,
            inbound_id=message.id,
            kind=verdict.kind,
            added=added,
            score=score,
            diagnostic=(verdict.diagnostic or verdict.why)[:500],
            at=now,
        ),
    )
    if score >= conf.threshold and any(row.status == AddressStatus.ACTIVE for row in rows):
        await _disable(session, ctx, network, delivery.recipient, score, verdict)


async def _disable(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    address: str,
    score: float,
    verdict: BounceVerdict,
) -> None:
    await subscriber_store.set_address_status(
        session, network.id, address, AddressStatus.DISABLED, only_from=(AddressStatus.ACTIVE,)
    )
    events.record(
        session,
        network_id=network.id,
        address=address,
        event="disabled",
        via="bounces",
        score=round(score, 2),
    )
    audit.record(
        session,
        action="address_disabled",
        actor="system",
        via="bounces",
        network_id=network.id,
        object_ref=address[:64],
        score=round(score, 2),
        threshold=ctx.settings.bounces.threshold,
    )
    log.info(
        "%s disabled after bounces (score %.2f)",
        address,
        score,
        extra={"action": "address_disabled", "address": address, "network": network.key},
    )
    for moderator in network.settings.moderators:
        queue_notice(
            session,
            network,
            kind="bounce_notice",
            template="bounce_disabled",
            to=moderator,
            context={
                "address": address,
                "score": f"{score:.2f}",
                "threshold": f"{ctx.settings.bounces.threshold:g}",
                "diagnostic": verdict.diagnostic or verdict.why,
            },
        )
