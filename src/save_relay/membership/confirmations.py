"""Replies to ``+confirm-TOKEN`` that belong to a subscription request (dispatched by ``replies``).

Token purposes:

- ``subscribe``: the requester confirms a subscription (double opt-in) and may add the details asked
  for; the request then waits for a moderator, who gets a notification with its own token.
- ``leave``: the requester confirms an unsubscribe; the address is unsubscribed at once.
- ``subscription``: a moderator decides (``ok`` / ``afwijzen <reden>``, ``zones:``, ``groepen:`` and
  detail lines that correct the requester's). Approval creates the subscriber, or adds the address to
  the company, and computes its zones.

Each reply must come from the very address its token was sent to. A refusal changes nothing, is
audited, and is answered only to that address.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.states import RequestStatus, TokenPurpose
from save_relay.delivery.notices import notify_moderators, queue_notice
from save_relay.mail.commands import parse_commands, visible_reply
from save_relay.mail.i18n import Reason, Refusal, reason_text, reasons_text, reply_marker
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.membership.csvfile import SubscriberRow
from save_relay.membership.requestmail import parse_details, says_no, without_details
from save_relay.membership.requests import apply_details, details_context, reply_status
from save_relay.membership.subscribers import SubscriberImport, apply_rows
from save_relay.processing.gate import Refused, actor_of, is_auto_generated, refuse
from save_relay.store import audit, events
from save_relay.store import requests as request_store
from save_relay.store import subscribers as subscriber_store
from save_relay.store.networks import is_moderator
from save_relay.store.tables import InboundMessage, SubscriptionRequest, Token

log = logging.getLogger(__name__)

PURPOSES = frozenset({TokenPurpose.SUBSCRIBE, TokenPurpose.LEAVE, TokenPurpose.SUBSCRIPTION})


async def _request(
    session: AsyncSession, network: NetworkRef, token: Token, sender: str | None, status: str
) -> SubscriptionRequest:
    if sender != token.address:
        raise Refused("this reply address was sent to another address", answer=False)
    if token.used_at is not None:
        raise Refused("this reply address was used already")
    if as_utc(token.expires_at) <= utcnow():
        raise Refused("this reply address has expired; send your request again")
    request = await request_store.get(session, token.request_id or 0)
    if request is None or request.network_id != network.id:
        raise Refused("the request no longer exists")
    if request.status != status:
        raise Refused(f"this request is already {request.status}")
    return request


async def handle_confirmation(
    session: AsyncSession, ctx: Context, inbound: InboundMessage, token: Token
) -> None:
    """Apply one reply whose token has a purpose in ``PURPOSES``, in the caller's transaction."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    sender = parsed.sender.address.lower() if parsed.sender else None
    try:
        if is_auto_generated(parsed):
            raise Refused("automatic reply ignored", answer=False)
        async with session.begin_nested():  # a refusal half-way leaves nothing behind
            if token.purpose == "subscription":
                await _moderator(session, ctx, network, parsed, sender, token, inbound.via)
            else:
                await _requester(session, ctx, network, parsed, sender, token, inbound.via)
    except Refused as refusal:
        actor = actor_of(parsed, inbound)
        answer = refusal.answer and sender is not None and sender == token.address
        refuse(
            session,
            network,
            actor,
            Refused(refusal.reason, answer=answer),
            action=f"{token.purpose}_refused",
            automatic=is_auto_generated(parsed),
            object_ref=f"request:{token.request_id}",
        )


async def _requester(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    parsed: ParsedMessage,
    sender: str | None,
    token: Token,
    via: str,
) -> None:
    request = await _request(session, network, token, sender, "unconfirmed")
    visible = visible_reply(parsed.text)
    await request_store.use_tokens(session, request.id, token.purpose)
    request.confirmed_at = utcnow()
    actor = request.address
    if says_no(visible):
        request.status = RequestStatus.CANCELLED
        reply_status(session, network, actor, "cancelled", parsed.message_id)
    elif request.kind == "unsubscribe":
        request.status = RequestStatus.DONE
        changed = await subscriber_store.set_address_status(
            session, network.id, actor, "unsubscribed", only_from=("active", "disabled")
        )
        events.record(session, network_id=network.id, address=actor, event="unsubscribed", via="mail")
        queue_notice(
            session,
            network,
            kind="unsubscribed",
            template="unsubscribed",
            to=actor,
            context={"address": actor},
        )
        audit.record(
            session,
            action="address_unsubscribed",
            actor=actor,
            via=via,
            network_id=network.id,
            object_ref=actor[:64],
            message_id=parsed.message_id,
            changed=changed,
        )
    else:
        details = parse_details(visible)
        apply_details(request, details)
        request.status = RequestStatus.PENDING
        await _ask_moderators(session, ctx, network, request)
        reply_status(session, network, actor, "waiting", parsed.message_id, problems=list(details.problems))
    audit.record(
        session,
        action=f"{request.kind}_{request.status}",
        actor=actor,
        via=via,
        network_id=network.id,
        object_ref=f"request:{request.id}",
        message_id=parsed.message_id,
    )


async def _ask_moderators(
    session: AsyncSession, ctx: Context, network: NetworkRef, request: SubscriptionRequest
) -> None:
    conf = network.settings
    expires = utcnow() + timedelta(hours=conf.confirm_ttl_hours)
    zones = list((await subscriber_store.zone_ids(session, network.id)).keys())
    groups = list((await subscriber_store.group_ids(session, network.id)).keys())
    await notify_moderators(
        session,
        ctx,
        network,
        purpose="subscription",
        request_id=request.id,
        kind="notification",
        template="subscription_request",
        expires_at=expires,
        context={
            **details_context(request),
            "reply_marker": reply_marker(conf.language),
            "known_zones": sorted(zones),
            "known_groups": sorted(groups),
        },
    )


def _resolve(requested: tuple[str, ...] | None, known: dict[str, int], kind: str) -> set[int]:
    if not requested:
        return set()
    lookup = {slug.casefold(): zone_id for slug, zone_id in known.items()}
    unknown = [item for item in requested if item.strip().casefold() not in lookup]
    if unknown:
        raise Refused(f"unknown {kind}(s): {', '.join(unknown)}")
    return {lookup[item.strip().casefold()] for item in requested}


async def _moderator(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    parsed: ParsedMessage,
    sender: str | None,
    token: Token,
    via: str,
) -> None:
    if sender is None or not await is_moderator(session, network.id, sender):
        raise Refused("the sender is not a moderator of this network", answer=False)
    request = await _request(session, network, token, sender, "pending")
    visible = visible_reply(parsed.text)
    command = parse_commands(without_details(visible))
    lang = network.settings.language
    if command.refusals:
        raise Refused(reasons_text(command.refusals, lang))
    if command.action is None:
        raise Refused(reason_text(Refusal.of(Reason.EMPTY_REPLY), lang))
    details = parse_details(visible)
    if details.problems:
        raise Refused("; ".join(details.problems))
    apply_details(request, details)
    request.decided_at, request.decided_by = utcnow(), sender
    if command.action == "reject":
        request.status, request.reason = RequestStatus.REJECTED, command.reason
        reply_status(session, network, request.address, RequestStatus.REJECTED, None, reason=command.reason)
        recipients = 0
    else:
        recipients = await _approve(session, network, request, command.zones, command.groups)
        request.status = RequestStatus.APPROVED
    await request_store.use_tokens(session, request.id, "subscription")
    queue_notice(
        session,
        network,
        kind="confirmation",
        template="subscription_decided",
        to=sender,
        context={
            **details_context(request),
            "action": command.action,
            "reason": command.reason,
            "changed": recipients,
        },
        in_reply_to=parsed.message_id,
    )
    audit.record(
        session,
        action=f"subscription_{request.status}",
        actor=sender,
        via=via,
        network_id=network.id,
        object_ref=f"request:{request.id}",
        message_id=parsed.message_id,
        address=request.address,
        company=request.company,
        reason=command.reason,
    )


async def _approve(
    session: AsyncSession,
    network: NetworkRef,
    request: SubscriptionRequest,
    zones: tuple[str, ...] | None,
    groups: tuple[str, ...] | None,
) -> int:
    """Create or extend the subscriber; returns how many address rows became active."""
    if not request.company:
        raise Refused("no company known: add a line 'bedrijf: <name>' to your reply")
    zone_ids = _resolve(zones, await subscriber_store.zone_ids(session, network.id), "zone")
    group_ids = _resolve(groups, await subscriber_store.group_ids(session, network.id), "group")
    columns = {"company", "addresses"}
    columns |= {name for name in ("contact", "street") if getattr(request, name)}
    if request.latitude is not None:
        columns.add("latitude")
    row = SubscriberRow(
        line=0,
        company=request.company,
        contact=request.contact,
        addresses=(request.address,),
        street=request.street,
        latitude=request.latitude,
        longitude=request.longitude,
    )
    done = await apply_rows(session, network.id, [row], columns=columns, out=SubscriberImport())
    revived = await subscriber_store.set_address_status(
        session, network.id, request.address, "active", only_from=("unsubscribed", "disabled")
    )
    members = await subscriber_store.load_members(session, network.id)
    subscriber = members.by_company[subscriber_store.company_key(request.company)]
    old_zones = members.manual_zones.get(subscriber.id, set())
    await subscriber_store.set_zones(
        session, subscriber.id, subscriber_store.MANUAL, old_zones, old_zones | zone_ids
    )
    old_groups = members.groups.get(subscriber.id, set())
    await subscriber_store.set_groups(session, subscriber.id, old_groups, old_groups | group_ids)
    events.record(
        session,
        network_id=network.id,
        address=request.address,
        event="subscribed",
        via="mail",
        company=request.company,
    )
    queue_notice(
        session,
        network,
        kind="request",
        template="subscription_welcome",
        to=request.address,
        context=details_context(request),
    )
    return done.addresses_added + revived
