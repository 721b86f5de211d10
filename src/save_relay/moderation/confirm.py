"""A moderator's reply to ``+confirm-TOKEN``: checked, then applied once.

A reply changes something only if its token is known, unexpired and unused, belongs to this network and
report, and was sent to the very address the reply comes from. Every refusal is audited; an error mail
goes back only to a moderator address (never to a stranger: no backscatter).

Tokens of other purposes (a subscription request's, a canvass's) arrive at the same address; the
processor's ``TokenDispatch`` (``routes.TOKEN_PURPOSES``) sends each reply to its purpose's handler.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import CommandRefused
from save_relay.core.states import ReportStatus
from save_relay.delivery.notices import queue_notice
from save_relay.mail.commands import ModeratorCommand, parse_commands, visible_reply
from save_relay.mail.i18n import ParamValue, Reason, Refusal, reason_text, reasons_text
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.moderation.decide import Decision, confirmation_context, decide, update_context
from save_relay.moderation.incident import apply_change
from save_relay.moderation.labels import NeedsConsent, ask_consent, change_label
from save_relay.processing.gate import Actor, Refused, actor_of, is_auto_generated, refuse
from save_relay.store import tokens as token_store
from save_relay.store.networks import is_moderator
from save_relay.store.tables import InboundMessage, Report, Token

log = logging.getLogger(__name__)


def _other_reference(parsed: ParsedMessage, prefix: str, own: str | None) -> str | None:
    """A reference of this network named in the subject that is not the token's report."""
    for found in re.findall(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{6,}}\b", parsed.subject):
        if found != own:
            return str(found)
    return None


async def _check(
    session: AsyncSession,
    network: NetworkRef,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    *,
    correction: bool = False,
) -> Report:
    """The report the reply's token names, locked, once every check passed. A ``correction`` (incident
    fields only) may still come after the decision, within the token's lifetime."""
    lang = network.settings.language

    def refused(code: Reason, about: str | None = None, **params: ParamValue) -> Refused:
        return Refused(reason_text(Refusal.of(code, **params), lang), about)

    # Locks in one order everywhere, the report before its tokens (a console decision, ``queue
    # approve`` and the housekeeping do the same): the other order deadlocks a reply racing them.
    token = await token_store.find(session, inbound.token or "", "confirm", network.id, lock=False)
    if token is None or token.report_id is None:
        raise refused(Reason.UNKNOWN_TOKEN)
    report = await session.get(Report, token.report_id, with_for_update=True)
    await session.refresh(token, with_for_update=True)  # used_at as it is now, behind the lock
    reference = report.reference if report else None
    sender = parsed.sender.address.lower() if parsed.sender else None
    if sender != token.address:
        raise refused(Reason.OTHER_MODERATOR, reference)
    if not await is_moderator(session, network.id, sender):
        raise refused(Reason.NOT_MODERATOR, reference)
    if report is None:
        raise refused(Reason.REPORT_GONE)
    if report.status == ReportStatus.WITHDRAWN:
        at = local_time(report.decided_at, network.settings.timezone)
        raise refused(Reason.WITHDRAWN, reference, reference=reference or "", at=at)
    if report.status == ReportStatus.EXPIRED and not correction:
        raise refused(Reason.TOKEN_EXPIRED, reference)
    if not correction and (token.used_at is not None or report.status != ReportStatus.PENDING):
        raise refused(
            Reason.ALREADY_DECIDED,
            reference,
            reference=reference or "",
            by=report.decided_by or "?",
            at=local_time(report.decided_at or token.used_at, network.settings.timezone),
        )
    if as_utc(token.expires_at) <= utcnow():
        raise refused(Reason.TOKEN_EXPIRED, reference)
    other = _other_reference(parsed, network.settings.reference_prefix, report.reference)
    if other is not None:
        raise refused(Reason.OTHER_REFERENCE, reference, reference=reference or "", named=other)
    return report


def local_time(when: datetime | None, timezone: str) -> str:
    """``YYYY-MM-DD HH:MM`` on the network's clock ("?" when unknown)."""
    return as_utc(when).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if when else "?"


async def handle_report_reply(
    session: AsyncSession, ctx: Context, inbound: InboundMessage, _token: Token | None = None
) -> None:
    """Check and apply one moderator reply about a report in the caller's transaction (the token is
    looked up again, bound to its purpose; an unknown token is refused here)."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    try:
        lang = network.settings.language
        if is_auto_generated(parsed):
            raise Refused(reason_text(Refusal.of(Reason.AUTOMATIC), lang))
        command = parse_commands(visible_reply(parsed.text))
        report = await _check(session, network, inbound, parsed, correction=command.is_correction)
        if command.refusals:
            raise Refused(reasons_text(command.refusals, lang), report.reference)
        if command.action is None and command.incident is None and command.tlp is None:
            raise Refused(reason_text(Refusal.of(Reason.EMPTY_REPLY), lang), report.reference)
        reference = report.reference  # the savepoint's rollback expires what it changed
        try:
            async with session.begin_nested():
                context = await _apply(session, ctx, report, command, actor)
        except CommandRefused as exc:
            if isinstance(exc, NeedsConsent):  # asked outside the savepoint: the request is kept
                await session.refresh(report)
                await ask_consent(session, ctx, report, exc.wanted, actor)
            text = reason_text(exc.refusal, lang) if isinstance(exc.refusal, Refusal) else str(exc)
            raise Refused(text, reference) from exc
    except Refused as refusal:
        # Only a moderator hears why (never a stranger: no backscatter).
        answer = not is_auto_generated(parsed) and await is_moderator(session, network.id, actor.name)
        refuse(
            session,
            network,
            actor,
            refusal,
            action="confirm_refused",
            automatic=not answer,
            envelope_from=inbound.mail_from,
        )
        return
    queue_notice(
        session,
        network,
        kind="confirmation",
        template="four_eyes_waiting" if context["action"] == "awaiting" else "confirmation",
        to=actor.name,
        context=context,
        in_reply_to=parsed.message_id,
    )


async def _apply(
    session: AsyncSession, ctx: Context, report: Report, command: ModeratorCommand, actor: Actor
) -> dict[str, object]:
    """The incident fields, then the decision (if any); returns the confirmation's context."""
    network = ctx.network(report.network_id)
    incident = (
        await apply_change(session, network, report, command.incident, actor) if command.incident else {}
    )
    if command.tlp is not None:
        await change_label(session, report, command.tlp, actor)
    if command.action is None:
        return update_context(report.reference or "", incident) | {"tlp": report.tlp}
    decision = Decision(
        action=command.action,
        zones=command.zones,
        groups=command.groups,
        edit_text=command.edit_text,
        credit=command.credit,
        reason=command.reason,
        recipients=command.recipients,
        urgent=command.urgent,
        sms_text=command.sms_text,
    )
    applied = await decide(session, ctx, report, decision, actor)
    return confirmation_context(applied, decision) | {"incident": incident}
