"""Canvass mail: a moderator's request (``+canvass``), the ``cancel`` reply, a subscriber's answer.

- ``industrie+canvass@...`` creates a canvass, only for a moderator: the From must parse as exactly one
  address that is an active moderator, and the mail must not be automatic. Anyone else is refused and
  audited, and gets no answer (no backscatter).
- A reply to the confirmation (``+confirm-TOKEN``, purpose ``canvass-cancel``) with ``cancel`` on its
  first line cancels the canvass before it goes out; the token must have been sent to the sender.
- A reply to a four-eyes request (``+confirm-TOKEN``, purpose ``canvass-approve``) with ``ok`` on its
  first line is the second moderator's approval of a large canvass (``foureyes``); the token must have
  been sent to the sender, who may not be the first moderator.
- ``industrie+reply-TOKEN@...`` is an answer: stored, counted, forwarded to the owner. An unknown token
  or an automatic reply (out of office) is audited and otherwise ignored.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass import foureyes, steps
from save_relay.canvass.service import cancel, create
from save_relay.canvass.spec import RequestError, parse_mail
from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context
from save_relay.core.errors import CommandRefused
from save_relay.mail.commands import APPROVE_WORDS, first_word, visible_reply
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.processing.authgate import moderator_mail_authenticated
from save_relay.processing.gate import Actor, Refused, actor_of, is_auto_generated, refuse
from save_relay.store import audit
from save_relay.store import canvass as store
from save_relay.store.networks import is_moderator
from save_relay.store.tables import ApprovalRequest, InboundMessage, Token

log = logging.getLogger(__name__)

CANCEL_WORDS = frozenset({"cancel", "annuleer", "annuleren", "stop", "annuler", "annulez"})


async def handle_canvass_request(session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
    """``+canvass``: create a canvass from a moderator's mail, in the caller's transaction."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    try:
        if parsed.sender is None or is_auto_generated(parsed):
            raise Refused("no single sender address, or automatic mail", answer=False)
        if not await is_moderator(session, network.id, actor.name):
            raise Refused("the sender is not a moderator of this network", answer=False)
        authenticated = await moderator_mail_authenticated(ctx, network, inbound.raw, parsed)
        if not authenticated.ok:
            raise Refused(f"not authenticated (require_dkim): {authenticated.how}", answer=False)
        tz = ZoneInfo(network.settings.timezone)
        try:
            request = parse_mail(parsed.subject, visible_reply(parsed.text), tz=tz, now=utcnow())
            async with session.begin_nested():  # a refusal half-way leaves nothing behind
                await create(
                    session, ctx, network, request, owner=actor.name, actor=actor, inbound_id=inbound.id
                )
        except RequestError as exc:
            raise Refused(str(exc), answer=True) from exc
        except CommandRefused as exc:
            raise Refused(str(exc), answer=True) from exc
    except Refused as refusal:
        refuse(session, network, actor, refusal, action="canvass_refused")


async def _check_moderator_reply(
    session: AsyncSession, network_id: int, parsed: ParsedMessage, actor: Actor, token: Token
) -> None:
    """A reply to a moderator's own canvass address (cancel, four-eyes approval): not automatic, from the
    moderator the address was sent to, who still is one; ``Refused`` (unanswered) otherwise."""
    if is_auto_generated(parsed):
        raise Refused("automatic reply ignored", answer=False)
    if actor.name != token.address:
        raise Refused("this reply address was sent to another moderator", answer=False)
    if not await is_moderator(session, network_id, actor.name):
        raise Refused("the sender is no longer a moderator of this network", answer=False)


async def handle_cancel(session: AsyncSession, ctx: Context, inbound: InboundMessage, token: Token) -> None:
    """A reply to a canvass confirmation (token purpose ``canvass-cancel``): ``cancel`` cancels it."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    canvass = await store.by_cancel_token(session, network.id, inbound.token or "")
    ref = store.ref(canvass.id) if canvass else None
    try:
        await _check_moderator_reply(session, network.id, parsed, actor, token)
        if canvass is None:
            raise Refused("the canvass no longer exists", answer=True)
        if token.used_at is not None or as_utc(token.expires_at) <= utcnow():
            raise Refused(
                f"this reply address is no longer valid; the canvass is {canvass.status}", answer=True
            )
        word = first_word(visible_reply(parsed.text))
        if word not in CANCEL_WORDS:
            raise Refused("reply with 'cancel' on the first line to cancel the canvass", answer=True)
        try:
            await cancel(session, ctx, canvass, actor)
        except CommandRefused as exc:
            raise Refused(str(exc), answer=True) from exc
    except Refused as refusal:
        refuse(session, network, actor, refusal, action="canvass_cancel_refused", object_ref=ref)


async def handle_approve(session: AsyncSession, ctx: Context, inbound: InboundMessage, token: Token) -> None:
    """A reply to a four-eyes request (token purpose ``canvass-approve``): ``ok`` is the second approval."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    request = await session.get(ApprovalRequest, token.request_id) if token.request_id else None
    canvass_id = request.canvass_id if request is not None else None
    ref = store.ref(canvass_id) if canvass_id is not None else None
    try:
        await _check_moderator_reply(session, network.id, parsed, actor, token)
        if canvass_id is None:
            raise Refused("the canvass no longer exists", answer=True)
        canvass = await store.get(session, canvass_id, lock=True)
        if token.used_at is not None or as_utc(token.expires_at) <= utcnow():
            raise Refused(
                f"this reply address is no longer valid; the canvass is {canvass.status}", answer=True
            )
        word = first_word(visible_reply(parsed.text))
        if word not in APPROVE_WORDS:
            raise Refused("reply with 'ok' on the first line to approve the canvass", answer=True)
        try:
            await foureyes.approve(session, ctx, canvass, actor)
        except CommandRefused as exc:
            raise Refused(str(exc), answer=True) from exc
    except Refused as refusal:
        refuse(session, network, actor, refusal, action="canvass_approve_refused", object_ref=ref)


async def handle_answer(session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
    """``+reply-TOKEN``: a subscriber's answer, stored whole and tied to its canvass and recipient."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    found = await store.recipient_for_token(session, network.id, inbound.token or "")
    if found is None:
        refuse(
            session,
            network,
            actor,
            Refused("unknown reply token", answer=False),
            action="canvass_answer_refused",
        )
        return
    canvass, recipient = found
    if is_auto_generated(parsed):
        refusal = Refused("automatic reply (out of office?) not counted", answer=False)
        refuse(
            session,
            network,
            actor,
            refusal,
            action="canvass_answer_ignored",
            object_ref=store.ref(canvass.id),
        )
        return
    text = visible_reply(parsed.text)  # what they typed, without the quoted question
    answer = await steps.record_answer(
        session, network, canvass, recipient, inbound, parsed, text[:20_000], utcnow()
    )
    audit.record(
        session,
        action="canvass_answer",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=store.ref(canvass.id),
        message_id=actor.message_id,
        recipient=recipient.address,
        answer_id=answer.id,
        attachments=len(answer.attachments),
        late=answer.late,
    )
    log.info(
        "canvass %d: answer from %s",
        canvass.id,
        recipient.address,
        extra={"action": "canvass_answer", "canvass_id": canvass.id},
    )
