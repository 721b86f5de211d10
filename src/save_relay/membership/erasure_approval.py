"""Four-eyes approval of an erasure: when a network sets ``four_eyes.erase``, ``privacy erase ADDRESS``
runs only when a second, different moderator asks for it too.

The first ``privacy erase ADDRESS --as MODERATOR`` records an ``approval_requests`` row (kind
``erasure``) and erases nothing; the same command by another moderator of such a network confirms it
and erases. The request names the person only by ``subject``, the keyed hash (HMAC-SHA256, the key of
the suppression list: ``membership/suppress.key_of``) of the address: it must not keep the address
that the erasure removes everywhere else, and the second moderator can still find it by typing the
address again. The hash is the one the suppression list keeps after the erasure anyway, so the
request adds nothing to what a reader of the database can learn. The other moderators are told that an
erasure waits, without the address (they get it from the first, out of band, and type it themselves).
A request nobody confirms lapses after ``four_eyes.hours``, with a notice; all of it is in the audit
log (``personal_data_erase_waiting``, ``personal_data_erased`` with ``first_approval``,
``personal_data_erase_lapsed``), named by the hash.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import local_minute, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.erased import keyed_hash
from save_relay.core.errors import SaveRelayError
from save_relay.core.states import ApprovalStatus
from save_relay.delivery.notices import queue_notice
from save_relay.membership.suppress import key_of
from save_relay.store import approvals, audit
from save_relay.store.tables import ApprovalRequest

log = logging.getLogger(__name__)

KIND = "erasure"
TEMPLATE = "erase_four_eyes"


@dataclass(frozen=True, slots=True)
class Gate:
    """``waiting``: kept for a second moderator (erase nothing now); else go on, with ``first`` (who
    asked first, when this is the confirmation) for the audit entry."""

    waiting: bool
    first: dict[str, Any] | None = None
    subject: str = ""


def asking(ctx: Context) -> list[NetworkRef]:
    """The networks whose settings ask for four-eyes on an erasure."""
    return [ref for ref in ctx.networks.values() if ref.settings.four_eyes.erase]


async def gate(session: AsyncSession, ctx: Context, address: str, moderator: str | None) -> Gate:
    """Whether erasing ``address`` (checked, lower-cased) goes on now, in the caller's transaction.

    ``moderator``: who asks (``--as``); it must be a moderator of a network that asks for four-eyes.
    The first request waits; another moderator's confirms it; the same one twice is refused.
    """
    networks = asking(ctx)
    if not networks:
        return Gate(False)
    who = (moderator or "").strip().lower()
    mine = [ref for ref in networks if who in ref.settings.moderators]
    if not mine:
        raise SaveRelayError(
            "erasing needs two moderators (four_eyes.erase): name yourself with --as MODERATOR"
            if not who
            else f"--as {who}: not a moderator of a network that asks for four-eyes on erasure"
        )
    subject = keyed_hash(key_of(ctx.settings), address)
    waiting = await approvals.waiting_for_subject(session, KIND, subject, lock=True)
    if waiting is None:
        await _wait(session, mine[0], subject, who)
        return Gate(True, subject=subject)
    if waiting.first_by == who:
        raise SaveRelayError(f"{who} already asked to erase this address: four-eyes needs another moderator")
    now = utcnow()
    waiting.status, waiting.second_by, waiting.closed_at = ApprovalStatus.CONFIRMED, who, now
    first: dict[str, object] = waiting.first_approval()
    return Gate(False, first, subject)


async def _wait(session: AsyncSession, network: NetworkRef, subject: str, who: str) -> None:
    conf = network.settings
    expires = utcnow() + timedelta(hours=conf.four_eyes.hours)
    session.add(
        ApprovalRequest(
            network_id=network.id,
            kind=KIND,
            subject=subject,
            status=ApprovalStatus.WAITING,
            first_by=who,
            first_via="cli",
            decision={},
            reasons=["erase"],
            expires_at=expires,
        )
    )
    context = {
        "step": "request",
        "first_by": who,
        "ref": subject[:12],
        "expires": local_minute(expires, conf.timezone),
    }
    for moderator in conf.moderators:
        if moderator != who:
            queue_notice(session, network, kind="notice", template=TEMPLATE, to=moderator, context=context)
    audit.record(
        session,
        action="personal_data_erase_waiting",
        actor=who,
        via="cli",
        network_id=network.id,
        object_ref=subject,
        hours=conf.four_eyes.hours,
    )
    log.info(
        "an erasure asked by %s waits for a second moderator",
        who,
        extra={"action": "personal_data_erase_waiting", "actor": who},
    )


async def lapse_due(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Erasure requests nobody confirmed in time lapse: nothing is erased, the moderators are told."""
    count = 0
    for request_id in await approvals.due(session, list(ctx.by_id), now, kinds=(KIND,)):
        request = await session.get(ApprovalRequest, request_id, with_for_update=True)
        assert request is not None
        await session.refresh(request, with_for_update=True)
        if request.status != ApprovalStatus.WAITING:
            continue
        request.status, request.closed_at = ApprovalStatus.LAPSED, now
        count += 1
        network = ctx.network(request.network_id)
        conf = network.settings
        context = {
            "step": "lapsed",
            "first_by": request.first_by,
            "first_at": local_minute(request.created_at, conf.timezone),
            "hours": conf.four_eyes.hours,
            "ref": (request.subject or "")[:12],
        }
        for moderator in conf.moderators:
            queue_notice(session, network, kind="notice", template=TEMPLATE, to=moderator, context=context)
        audit.record(
            session,
            action="personal_data_erase_lapsed",
            actor="system",
            via="scheduler",
            network_id=network.id,
            object_ref=request.subject,
            first_by=request.first_by,
            hours=conf.four_eyes.hours,
        )
        log.info(
            "an erasure asked by %s lapsed without a second moderator",
            request.first_by,
            extra={"action": "personal_data_erase_lapsed"},
        )
    return count
