"""A moderator's reply to ``+confirm-TOKEN``: checked, then applied once.

A reply changes something only if its token is known, unexpired and unused, belongs to this network and
report, and was sent to the very address the reply comes from. Every refusal is audited; an error mail
goes back only to a moderator address (never to a stranger: no backscatter).

Tokens of other purposes (a subscription request's, see ``membership.confirmations``) arrive at the
same address; ``handle_reply`` dispatches on ``Token.purpose`` through ``BY_PURPOSE``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass import inbox as canvass_inbox
from save_relay.canvass.service import CANCEL_PURPOSE
from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context
from save_relay.core.errors import CommandRefused
from save_relay.delivery.notices import queue_notice
from save_relay.mail.commands import parse_commands, visible_reply
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.membership import confirmations
from save_relay.moderation.decide import (
    Actor,
    Decision,
    confirmation_context,
    decide,
    is_auto_generated,
    send_error,
)
from save_relay.processing.authgate import moderator_mail_authenticated
from save_relay.store import audit
from save_relay.store import tokens as token_store
from save_relay.store.networks import NetworkRef, is_moderator
from save_relay.store.tables import InboundMessage, Report, Token

log = logging.getLogger(__name__)


class _Refusal(Exception):
    def __init__(self, reason: str, reference: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.reference = reason, reference


def _other_reference(parsed: ParsedMessage, prefix: str, own: str | None) -> str | None:
    """A reference of this network named in the subject that is not the token's report."""
    for found in re.findall(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{6,}}\b", parsed.subject):
        if found != own:
            return str(found)
    return None


async def _check(
    session: AsyncSession, network: NetworkRef, inbound: InboundMessage, parsed: ParsedMessage
) -> Report:
    token = await token_store.find(session, inbound.token or "", "confirm", network.id)
    if token is None or token.report_id is None:
        raise _Refusal("unknown token: use the reply address of a current notification")
    report = await session.get(Report, token.report_id, with_for_update=True)
    reference = report.reference if report else None
    sender = parsed.sender.address.lower() if parsed.sender else None
    if sender != token.address:
        raise _Refusal("this reply address was sent to another moderator", reference)
    if not await is_moderator(session, network.id, sender):
        raise _Refusal("the sender is no longer a moderator of this network", reference)
    if token.used_at is not None:
        raise _Refusal("this reply address was used already; the report has been decided", reference)
    if as_utc(token.expires_at) <= utcnow():
        raise _Refusal("this reply address has expired", reference)
    if report is None:
        raise _Refusal("the report no longer exists")
    other = _other_reference(parsed, network.settings.reference_prefix, report.reference)
    if other is not None:
        raise _Refusal(f"the token belongs to {report.reference}, not to {other}", reference)
    return report


TokenHandler = Callable[[AsyncSession, Context, InboundMessage, Token], Awaitable[None]]


async def handle_reply(session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
    """A reply to ``+confirm-TOKEN``, dispatched on its token's purpose (an unknown token: the report path,
    which refuses it)."""
    token = await token_store.find_any(session, inbound.token or "", inbound.network_id)
    handler = BY_PURPOSE.get(token.purpose) if token is not None else None
    gated = token is not None and handler is not None and token.purpose in MODERATOR_PURPOSES
    if gated and token is not None and not await _authenticated(session, ctx, inbound, token):
        return
    if token is None or handler is None:
        await handle_report_reply(session, ctx, inbound)
    else:
        await handler(session, ctx, inbound, token)


async def _authenticated(session: AsyncSession, ctx: Context, inbound: InboundMessage, token: Token) -> bool:
    """``require_dkim``: a moderator's reply must be DKIM/DMARC-authenticated; else refused and audited."""
    network = ctx.network(inbound.network_id)
    if not network.settings.require_dkim:
        return True
    parsed = parse_message(inbound.raw)
    result = await moderator_mail_authenticated(ctx, network, inbound.raw, parsed)
    if result.ok:
        return True
    actor = parsed.sender.address.lower() if parsed.sender else inbound.mail_from or "<>"
    log.warning(
        "moderator reply refused: not authenticated (%s) from %s",
        result.how,
        actor,
        extra={"action": "confirm_refused", "inbound_id": inbound.id},
    )
    audit.record(
        session,
        action="confirm_refused",
        actor=actor,
        via=inbound.via,
        network_id=network.id,
        message_id=parsed.message_id,
        reason=f"not authenticated (require_dkim): {result.how}",
        purpose=token.purpose,
        envelope_from=inbound.mail_from,
    )
    return False


async def _report_reply(session: AsyncSession, ctx: Context, inbound: InboundMessage, _token: Token) -> None:
    await handle_report_reply(session, ctx, inbound)


async def handle_report_reply(session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
    """Check and apply one moderator reply about a report in the caller's transaction."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    sender = parsed.sender.address.lower() if parsed.sender else None
    actor = Actor(name=sender or inbound.mail_from or "<>", via=inbound.via, message_id=parsed.message_id)
    try:
        if is_auto_generated(parsed):
            raise _Refusal("automatic reply ignored")
        report = await _check(session, network, inbound, parsed)
        command = parse_commands(visible_reply(parsed.text))
        if command.errors:
            raise _Refusal("; ".join(command.errors), report.reference)
        if command.action is None:
            raise _Refusal(
                "no command found: reply with 'ok' or 'reject <reason>' on the first line", report.reference
            )
        decision = Decision(
            action=command.action,
            zones=command.zones,
            groups=command.groups,
            edit_text=command.edit_text,
            credit=command.credit,
            reason=command.reason,
        )
        try:
            async with session.begin_nested():
                applied = await decide(session, ctx, report, decision, actor)
        except CommandRefused as exc:
            raise _Refusal(str(exc), report.reference) from exc
    except _Refusal as refusal:
        await _refuse(session, network, inbound, parsed, actor, refusal)
        return
    queue_notice(
        session,
        network,
        kind="confirmation",
        template="confirmation",
        to=actor.name,
        context=confirmation_context(applied, decision),
        in_reply_to=parsed.message_id,
    )


async def _refuse(
    session: AsyncSession,
    network: NetworkRef,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    actor: Actor,
    refusal: _Refusal,
) -> None:
    log.warning(
        "moderator reply refused: %s (from %s)",
        refusal.reason,
        actor.name,
        extra={"action": "confirm_refused", "inbound_id": inbound.id},
    )
    audit.record(
        session,
        action="confirm_refused",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=refusal.reference,
        message_id=actor.message_id,
        reason=refusal.reason,
        envelope_from=inbound.mail_from,
    )
    sender = parsed.sender.address.lower() if parsed.sender else None
    if sender and not is_auto_generated(parsed) and await is_moderator(session, network.id, sender):
        send_error(session, network, sender, refusal.reason, refusal.reference, parsed.message_id)


#: Purposes whose replies carry a moderator's authority: checked against ``require_dkim``. A requester's
#: own opt-in (``subscribe``, ``leave``) is not: the token proves the mailbox, whatever its domain signs.
MODERATOR_PURPOSES = frozenset({"confirm", "subscription", CANCEL_PURPOSE})

#: Token purpose -> what a reply with such a token does.
BY_PURPOSE: dict[str, TokenHandler] = {
    "confirm": _report_reply,
    **dict.fromkeys(confirmations.PURPOSES, confirmations.handle_confirmation),
    CANCEL_PURPOSE: canvass_inbox.handle_cancel,
}
