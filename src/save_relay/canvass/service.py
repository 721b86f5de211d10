"""Creating and cancelling a canvass (by mail or CLI); the scheduled steps are in ``steps``.

A canvass is created ``scheduled`` with ``due_at`` = its send time. Its owner (a moderator) gets a
confirmation with the number of recipients as of now and the send time, whose reply address
(``+confirm-TOKEN``, purpose ``canvass-cancel``) takes ``cancel`` until the canvass goes out. A canvass
that would ask more companies than the network's ``four_eyes.canvass_companies_above`` waits, without a
due time, for a second moderator (``foureyes``).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass import foureyes
from save_relay.canvass.mails import canvass_context
from save_relay.canvass.spec import Request
from save_relay.core.clock import utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import CommandRefused
from save_relay.core.routing import Purpose
from save_relay.core.states import CanvassStatus, TokenPurpose
from save_relay.core.tokens import token_hash
from save_relay.delivery.notices import queue_notice
from save_relay.mail.commands import REPLY_MARKERS
from save_relay.mail.i18n import Reason, Refusal
from save_relay.processing.gate import Actor
from save_relay.store import audit, recipients
from save_relay.store import canvass as store
from save_relay.store import subscribers as subscriber_store
from save_relay.store import tokens as token_store
from save_relay.store.canvass_targets import Area, select_targets
from save_relay.store.networks import is_moderator
from save_relay.store.tables import Canvass

log = logging.getLogger(__name__)

CANCEL_PURPOSE = TokenPurpose.CANVASS_CANCEL


async def _subscriber_point(session: AsyncSession, network_id: int, name: str) -> tuple[float, float, str]:
    """The location of the subscriber called ``name``: exact (any case), else the one containing it."""
    found = await subscriber_store.named(session, network_id, name)
    if not found:
        raise CommandRefused(
            f"near: no subscriber called {name!r}; give coordinates instead",
            Refusal.of(Reason.UNKNOWN_PLACE, value=name),
        )
    if len(found) > 1:
        names = ", ".join(s.company for s in found[:5])
        raise CommandRefused(
            f"near: {name!r} matches several subscribers ({names}); be more precise",
            Refusal.of(Reason.AMBIGUOUS_PLACE, value=name, names=names),
        )
    subscriber = found[0]
    if subscriber.latitude is None or subscriber.longitude is None:
        raise CommandRefused(
            f"near: {subscriber.company} has no location; give coordinates instead",
            Refusal.of(Reason.NO_LOCATION, company=subscriber.company),
        )
    return subscriber.latitude, subscriber.longitude, street_only(subscriber.street or "")


def street_only(address: str) -> str:
    """The street and town of an address without the house number: the area a canvass names to the
    neighbours. Never the company named in ``near:`` (the victim, in most canvasses); its number
    would point at it just as well. "Balendijk 112, 3920 Lommel" -> "Balendijk, 3920 Lommel"."""
    street, _, rest = address.partition(",")
    street = re.sub(r"\s+\d+\s*[A-Za-z]?(?:\s*(?:bus|bte|b)\.?\s*\w+)?$", "", street.strip(), flags=re.I)
    return f"{street}, {rest.strip()}" if rest.strip() else street


async def _zone_slugs(session: AsyncSession, network_id: int, requested: tuple[str, ...]) -> list[str]:
    known = await recipients.zone_slugs(session, network_id)
    lookup = {slug.casefold(): slug for slug in known} | {
        name.casefold(): slug for slug, name in known.items()
    }
    unknown = [item for item in requested if item.casefold() not in lookup]
    if unknown:
        raise CommandRefused(
            f"zones: unknown zone(s) {', '.join(unknown)}; known: {', '.join(known)}",
            Refusal.of(Reason.UNKNOWN_ZONES, names=tuple(unknown)),
        )
    return list(dict.fromkeys(lookup[item.casefold()] for item in requested))


async def resolve_area(session: AsyncSession, network_id: int, request: Request) -> tuple[Area, str]:
    """The request's area with a subscriber's name and zone names resolved, and a description of it."""
    point: tuple[float, float] | None = None
    place = ""
    if isinstance(request.near, str):
        lat, lon, place = await _subscriber_point(session, network_id, request.near)
        point = (lat, lon)
    elif request.near is not None:
        point = request.near
        place = f"{point[0]:.5f}, {point[1]:.5f}"
    zones = await _zone_slugs(session, network_id, request.zones) if request.zones else []
    return Area(point=point, radius_m=request.radius_m, zones=tuple(zones)), place


def area_of(canvass: Canvass) -> Area:
    point = (canvass.latitude, canvass.longitude)
    located = point[0] is not None and point[1] is not None
    return Area(
        point=(float(point[0] or 0), float(point[1] or 0)) if located else None,
        radius_m=canvass.radius_m,
        zones=tuple(canvass.zones or ()),
    )


def awaiting_approval(canvass: Canvass) -> bool:
    """Whether the canvass waits for a second moderator (four-eyes): scheduled, but not due."""
    return canvass.status == CanvassStatus.SCHEDULED and canvass.due_at is None


async def create(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    request: Request,
    *,
    owner: str,
    actor: Actor,
    inbound_id: int | None = None,
) -> tuple[Canvass, int]:
    """Schedule a canvass owned by the moderator ``owner``; returns it and its recipients as of now."""
    conf = network.settings
    owner = owner.lower()
    if not await is_moderator(session, network.id, owner):
        refusal = Refusal.of(Reason.NOT_MODERATOR)
        raise CommandRefused(f"{owner} is not a moderator of {conf.address}", refusal)
    area, place = await resolve_area(session, network.id, request)
    targets = await select_targets(session, network.id, area, conf.default_groups)
    window = request.window or (None, None)
    canvass = Canvass(
        network_id=network.id,
        owner=owner,
        title=request.title,
        question=request.question,
        place=place[:300],
        latitude=area.point[0] if area.point else None,
        longitude=area.point[1] if area.point else None,
        radius_m=area.radius_m,
        zones=list(area.zones),
        window_start=window[0],
        window_end=window[1],
        send_at=request.send_at,
        remind_at=request.remind_at,
        close_at=request.close_at,
        status="scheduled",
        due_at=request.send_at,
        recipients=0,
        inbound_id=inbound_id,
        created_via=actor.via,
        created_at=utcnow(),
    )
    session.add(canvass)
    await session.flush()
    companies = len({target.subscriber_id for target in targets})
    limit = foureyes.companies_above(network, companies)
    token = await token_store.issue(
        session,
        purpose=CANCEL_PURPOSE,
        network_id=network.id,
        address=owner,
        expires_at=request.close_at + timedelta(days=1),
    )
    canvass.cancel_hash = token_hash(token)
    queue_notice(
        session,
        network,
        kind="canvass-created",
        template="canvass_created",
        to=owner,
        reply_to=ctx.subaddress(conf, Purpose.CONFIRM, token),
        in_reply_to=actor.message_id,
        headers=[("X-Save-Relay-Canvass", str(canvass.id))],
        context={
            **canvass_context(network, canvass),
            "recipients": len(targets),
            "send_now": request.send_at <= utcnow() and limit is None,
            "waiting": limit is not None,
            "reply_marker": REPLY_MARKERS[0],
        },
    )
    audit.record(
        session,
        action="canvass_created",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=store.ref(canvass.id),
        message_id=actor.message_id,
        recipients=len(targets),
        companies=companies,
        four_eyes=limit is not None,
        send_at=request.send_at.isoformat(),
        radius_m=area.radius_m,
        zones=list(area.zones),
    )
    if limit is not None:
        await foureyes.wait(session, ctx, network, canvass, actor, companies=companies, limit=limit)
    log.info(
        "canvass %d created by %s: %d recipient(s)",
        canvass.id,
        actor.name,
        len(targets),
        extra={"action": "canvass_created", "canvass_id": canvass.id},
    )
    return canvass, len(targets)


async def cancel(session: AsyncSession, ctx: Context, canvass: Canvass, actor: Actor) -> None:
    """Cancel a canvass that has not gone out (the caller holds its row lock); CommandRefused otherwise."""
    if canvass.status != CanvassStatus.SCHEDULED:
        raise CommandRefused(
            f"canvass {canvass.id} is {canvass.status}: only a scheduled one can be cancelled",
            Refusal.of(Reason.CANVASS_NOT_SCHEDULED, number=canvass.id, status=str(canvass.status)),
        )
    network = ctx.network(canvass.network_id)
    now = utcnow()
    canvass.status, canvass.due_at = CanvassStatus.CANCELLED, None
    canvass.cancelled_at, canvass.cancelled_by = now, actor.name
    await foureyes.close_waiting(session, canvass, actor)
    if canvass.cancel_hash:
        await token_store.spend_hash(session, canvass.cancel_hash, now)
    queue_notice(
        session,
        network,
        kind="canvass-cancel",
        template="canvass_cancelled",
        to=canvass.owner,
        in_reply_to=actor.message_id,
        context={**canvass_context(network, canvass), "by": actor.name},
    )
    audit.record(
        session,
        action="canvass_cancelled",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=store.ref(canvass.id),
        message_id=actor.message_id,
    )
    log.info(
        "canvass %d cancelled by %s",
        canvass.id,
        actor.name,
        extra={"action": "canvass_cancelled", "canvass_id": canvass.id},
    )
