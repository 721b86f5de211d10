"""Mail to ``+request``: ``subscribe``, ``unsubscribe`` and ``help`` (Dutch, English, French).

Both subscribe and unsubscribe are confirmed by the requester first (a reply to ``+confirm-TOKEN``,
whose token went only to the address concerned: a forged From changes nothing), see
``membership.confirmations``. Automatic mail gets no answer; a repeated request within
``RESEND_AFTER`` gets no second mail (no mail bombing through us).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.routing import Purpose
from save_relay.core.states import AddressStatus, RequestStatus
from save_relay.delivery.notices import queue_notice
from save_relay.mail.commands import visible_reply
from save_relay.mail.i18n import reply_marker
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.membership.requestmail import Details, parse_request
from save_relay.membership.suppress import key_of, suppressed
from save_relay.processing.gate import is_auto_generated
from save_relay.store import audit
from save_relay.store import requests as request_store
from save_relay.store import subscribers as subscriber_store
from save_relay.store import tokens as token_store
from save_relay.store.tables import InboundMessage, SubscriptionRequest

log = logging.getLogger(__name__)

RESEND_AFTER = timedelta(hours=1)
#: Token purposes of the requester's confirmation (``+confirm-TOKEN``), by request kind.
CONFIRM_PURPOSE = {"subscribe": "subscribe", "unsubscribe": "leave"}


def details_context(request: SubscriptionRequest) -> dict[str, object]:
    location = (
        f"{request.latitude:.6f}, {request.longitude:.6f}"
        if request.latitude is not None and request.longitude is not None
        else ""
    )
    missing = [name for name, value in (("company", request.company), ("location", location)) if not value]
    return {
        "address": request.address,
        "company": request.company,
        "contact": request.contact,
        "street": request.street,
        "location": location,
        "missing": missing,
    }


def apply_details(request: SubscriptionRequest, details: Details) -> None:
    """Fill in what ``details`` gives (a later mail overrides an earlier one)."""
    for name in ("company", "contact", "street"):
        if value := getattr(details, name):
            setattr(request, name, value)
    if details.latitude is not None and details.longitude is not None:
        request.latitude, request.longitude = details.latitude, details.longitude


def reply_status(
    session: AsyncSession, network: NetworkRef, to: str, status: str, in_reply_to: str | None, **extra: object
) -> None:
    """A short answer to a requester (``templates/*/request_reply.txt``)."""
    queue_notice(
        session,
        network,
        kind="request",
        template="request_reply",
        to=to,
        context={"status": status, "address": to, "reason": None, **extra},
        in_reply_to=in_reply_to,
    )


async def handle_membership_request(session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
    """Answer one mail to ``+request`` in the caller's transaction."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    sender = parsed.sender.address.lower() if parsed.sender else None
    if sender is None or is_auto_generated(parsed):
        audit.record(
            session,
            action="request_ignored",
            actor=sender or inbound.mail_from or "<>",
            via=inbound.via,
            network_id=network.id,
            message_id=parsed.message_id,
            reason="automatic mail" if sender else "no valid From",
        )
        return
    command = parse_request(parsed.subject, visible_reply(parsed.text))
    if command.action in (None, "help"):
        queue_notice(
            session,
            network,
            kind="request",
            template="request_help",
            to=sender,
            context={
                "request_address": ctx.subaddress(network.settings, Purpose.REQUEST),
                "understood": bool(command.action),
            },
            in_reply_to=parsed.message_id,
        )
        _audit(session, network, sender, inbound, parsed, "request_help")
        return
    if command.action == "subscribe":
        await _open(session, ctx, network, inbound, parsed, sender, "subscribe", command.details)
    else:
        await _open(session, ctx, network, inbound, parsed, sender, "unsubscribe", command.details)


def _audit(
    session: AsyncSession,
    network: NetworkRef,
    sender: str,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    action: str,
    **detail: object,
) -> None:
    audit.record(
        session,
        action=action,
        actor=sender,
        via=inbound.via,
        network_id=network.id,
        object_ref=sender[:64],
        message_id=parsed.message_id,
        **detail,
    )


async def _open(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    sender: str,
    kind: str,
    details: Details,
) -> None:
    """Start a subscribe or unsubscribe request and ask the requester to confirm it."""
    rows = await subscriber_store.addresses_in_network(session, network.id, sender)
    active = any(row.status == AddressStatus.ACTIVE for row in rows)
    if (kind == "subscribe") == active:
        reply_status(session, network, sender, "already" if active else "not_subscribed", parsed.message_id)
        _audit(session, network, sender, inbound, parsed, f"{kind}_refused", reason="already done")
        return
    if kind == "subscribe" and await suppressed(session, key_of(ctx.settings), [sender]):
        reply_status(session, network, sender, "erased", parsed.message_id)
        _audit(session, network, sender, inbound, parsed, "subscribe_refused", reason="erased on request")
        return
    now = utcnow()
    if await request_store.open_request(session, network.id, sender, kind, now - RESEND_AFTER) is not None:
        _audit(session, network, sender, inbound, parsed, f"{kind}_throttled")
        return
    request = SubscriptionRequest(
        network_id=network.id, kind=kind, address=sender, status=RequestStatus.UNCONFIRMED
    )
    apply_details(request, details)
    if kind == "subscribe" and parsed.sender and not request.contact:
        request.contact = parsed.sender.name[:200]
    session.add(request)
    await session.flush()
    conf = network.settings
    token = await token_store.issue(
        session,
        purpose=CONFIRM_PURPOSE[kind],
        network_id=network.id,
        address=sender,
        expires_at=now + timedelta(hours=conf.confirm_ttl_hours),
        request_id=request.id,
    )
    queue_notice(
        session,
        network,
        kind="request",
        template=f"{kind}_confirm",
        to=sender,
        reply_to=ctx.subaddress(conf, Purpose.CONFIRM, token),
        context={
            **details_context(request),
            "reply_marker": reply_marker(conf.language),
            "problems": list(details.problems),
        },
        in_reply_to=parsed.message_id,
    )
    _audit(session, network, sender, inbound, parsed, f"{kind}_requested", request_id=request.id)
    log.info("%s request from %s", kind, sender, extra={"action": f"{kind}_requested"})
