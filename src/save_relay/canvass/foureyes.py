"""Four-eyes approval of a large canvass: one that would ask more than ``four_eyes.canvass_companies_above``
companies goes out only after two different moderators.

The first is whoever creates it (by mail, CLI or console; a CLI user or console account that is not
one of the network's moderators counts as the owner, who is): the canvass is kept ``scheduled`` without
a due time, so the scheduler cannot send it, and an ``approval_requests`` row (kind ``canvass``) waits.
The other moderators get a mail whose reply address (a ``canvass-approve`` token bound to that
request and to them) takes ``ok``; ``save-relay canvass approve ID --as ADDRESS`` and the console's
canvass page do the same. The confirmation gives the canvass its due time (its send time, or now if
that has passed). The same moderator twice is refused; a request nobody confirms lapses after
``four_eyes.hours``: the canvass is cancelled and the moderators told. Both approvals are audit
entries (``canvass_approval_waiting``, then ``canvass_approved`` with ``first_approval``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass.mails import canvass_context
from save_relay.core.clock import as_utc, local_minute, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import CommandRefused
from save_relay.core.routing import Purpose
from save_relay.core.states import ApprovalStatus, CanvassStatus, TokenPurpose
from save_relay.delivery.notices import queue_notice
from save_relay.mail.i18n import reply_marker
from save_relay.processing.gate import Actor
from save_relay.store import approvals, audit, tokens
from save_relay.store import canvass as store
from save_relay.store.tables import ApprovalRequest, Canvass

log = logging.getLogger(__name__)

KIND = "canvass"
APPROVE_PURPOSE = TokenPurpose.CANVASS_APPROVE
TEMPLATE = "canvass_four_eyes"


def companies_above(network: NetworkRef, companies: int) -> int | None:
    """The network's limit when a canvass asking ``companies`` needs a second moderator, else None."""
    limit = network.settings.four_eyes.canvass_companies_above
    return limit if limit is not None and companies > limit else None


def first_approver(network: NetworkRef, canvass: Canvass, actor: Actor) -> str:
    """Who the first approval counts: the actor if a moderator of the network, else the owner."""
    return actor.name if actor.name in network.settings.moderators else canvass.owner


async def wait(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    canvass: Canvass,
    actor: Actor,
    *,
    companies: int,
    limit: int,
) -> ApprovalRequest:
    """Keep the canvass from going out and ask the other moderators for the second approval."""
    conf = network.settings
    first = first_approver(network, canvass, actor)
    expires = utcnow() + timedelta(hours=conf.four_eyes.hours)
    canvass.due_at = None  # nothing claims it until the second approval
    request = ApprovalRequest(
        network_id=network.id,
        canvass_id=canvass.id,
        kind=KIND,
        status=ApprovalStatus.WAITING,
        first_by=first,
        first_via=actor.via,
        decision={"send_at": as_utc(canvass.send_at).isoformat()},
        reasons=["companies"],
        recipients=companies,
        expires_at=expires,
    )
    session.add(request)
    await session.flush()
    others = [m for m in conf.moderators if m != first]
    asked = await tokens.issue_many(
        session,
        purpose=APPROVE_PURPOSE,
        network_id=network.id,
        addresses=others,
        expires_at=expires,
        request_id=request.id,
    )
    context = {
        **canvass_context(network, canvass),
        "step": "request",
        "first_by": first,
        "companies": companies,
        "limit": limit,
        "expires": local_minute(expires, conf.timezone),
        "reply_marker": reply_marker(conf.language),
    }
    for moderator, token in zip(others, asked, strict=True):
        queue_notice(
            session,
            network,
            kind="notification",
            template=TEMPLATE,
            to=moderator,
            reply_to=ctx.subaddress(conf, Purpose.CONFIRM, token),
            headers=[("X-Save-Relay-Canvass", str(canvass.id))],
            context=context,
        )
    audit.record(
        session,
        action="canvass_approval_waiting",
        actor=first,
        via=actor.via,
        network_id=network.id,
        object_ref=store.ref(canvass.id),
        message_id=actor.message_id,
        companies=companies,
        limit=limit,
        asked=len(others),
    )
    log.info(
        "canvass %d approved by %s, waiting for a second moderator (%d companies)",
        canvass.id,
        first,
        companies,
        extra={"action": "canvass_approval_waiting", "canvass_id": canvass.id},
    )
    return request


async def approve(session: AsyncSession, ctx: Context, canvass: Canvass, actor: Actor) -> str:
    """The second approval of a waiting canvass (the caller holds its lock and has checked that ``actor``
    is one of its network's moderators); CommandRefused if nothing waits or ``actor`` was the first."""
    waiting = await approvals.waiting_for_canvass(session, canvass.id)
    name = store.ref(canvass.id)
    if waiting is None or canvass.status != CanvassStatus.SCHEDULED:
        raise CommandRefused(f"{name} does not wait for a second moderator (it is {canvass.status})")
    if waiting.first_by == actor.name:
        raise CommandRefused(
            f"{name} was already approved by {actor.name}: four-eyes needs another moderator"
        )
    now = utcnow()
    waiting.status, waiting.second_by, waiting.closed_at = ApprovalStatus.CONFIRMED, actor.name, now
    canvass.due_at = canvass.send_at
    await tokens.spend_request(session, APPROVE_PURPOSE, waiting.id, now)
    network = ctx.network(canvass.network_id)
    queue_notice(
        session,
        network,
        kind="canvass-created",
        template=TEMPLATE,
        to=canvass.owner,
        in_reply_to=actor.message_id,
        headers=[("X-Save-Relay-Canvass", str(canvass.id))],
        context={
            **canvass_context(network, canvass),
            "step": "approved",
            "first_by": waiting.first_by,
            "second_by": actor.name,
            "companies": waiting.recipients,
            "send_now": as_utc(canvass.send_at) <= now,
        },
    )
    first = waiting.first_approval()
    audit.record(
        session,
        action="canvass_approved",
        actor=actor.name,
        via=actor.via,
        network_id=canvass.network_id,
        object_ref=name,
        message_id=actor.message_id,
        companies=waiting.recipients,
        first_approval=first,
    )
    log.info(
        "canvass %d confirmed by %s (first: %s)",
        canvass.id,
        actor.name,
        waiting.first_by,
        extra={"action": "canvass_approved", "canvass_id": canvass.id},
    )
    send = local_minute(canvass.send_at, network.settings.timezone)
    return f"{name} approved by {actor.name} (first: {waiting.first_by}); sent at {send}"


async def close_waiting(session: AsyncSession, canvass: Canvass, actor: Actor) -> None:
    """A cancelled canvass ends its waiting approval."""
    waiting = await approvals.waiting_for_canvass(session, canvass.id)
    if waiting is not None:
        waiting.status, waiting.second_by, waiting.closed_at = ApprovalStatus.SUPERSEDED, actor.name, utcnow()


async def lapse_due(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Waiting canvass approvals past their time: the canvass is cancelled, every moderator told."""
    count = 0
    for request_id in await approvals.due(session, list(ctx.by_id), now, kinds=(KIND,)):
        request = await session.get(ApprovalRequest, request_id)
        assert request is not None and request.canvass_id is not None
        canvass = await store.get(session, request.canvass_id, lock=True)  # the canvass first
        await session.refresh(request, with_for_update=True)
        if request.status != ApprovalStatus.WAITING:
            continue
        request.status, request.closed_at = ApprovalStatus.LAPSED, now
        count += 1
        if canvass.status != CanvassStatus.SCHEDULED:
            continue
        canvass.status, canvass.due_at = CanvassStatus.CANCELLED, None
        canvass.cancelled_at, canvass.cancelled_by = now, "system"
        if canvass.cancel_hash:
            await tokens.spend_hash(session, canvass.cancel_hash, now)
        network = ctx.network(canvass.network_id)
        conf = network.settings
        context = {
            **canvass_context(network, canvass),
            "step": "lapsed",
            "first_by": request.first_by,
            "first_at": local_minute(request.created_at, conf.timezone),
            "hours": conf.four_eyes.hours,
            "companies": request.recipients,
        }
        for moderator in dict.fromkeys([*conf.moderators, canvass.owner]):
            queue_notice(session, network, kind="notice", template=TEMPLATE, to=moderator, context=context)
        audit.record(
            session,
            action="canvass_approval_lapsed",
            actor="system",
            via="scheduler",
            network_id=network.id,
            object_ref=store.ref(canvass.id),
            first_by=request.first_by,
            hours=conf.four_eyes.hours,
        )
        log.info(
            "canvass %d: the approval by %s lapsed without a second moderator; cancelled",
            canvass.id,
            request.first_by,
            extra={"action": "canvass_approval_lapsed", "canvass_id": canvass.id},
        )
    return count
