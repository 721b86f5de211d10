"""Follow-ups stay with their report: a reply to a distribution copy or to the acknowledgement.

Two ways in, one outcome:

- ``+followup-TOKEN``: the Reply-To of every report copy (a token per delivery, bound to its recipient)
  and of the reporter's acknowledgement (a token row bound to the report and the reporter's address;
  ``intrekken``/``retirer``/``withdraw``/``zurückziehen`` there withdraws the report: ``withdraw.py``).
- mail to the plain address whose In-Reply-To/References names one of our Message-IDs
  (``<save-relay.REF....@domain>``: the intake stored it as a follow-up, not as a report).

The mail is stored whole (``followups``: raw bytes and SHA-256 as received), linked to the report,
forwarded to the network's moderators and audited; it never becomes a report. Automatic mail (out of
office, bounces, our own mail coming back) is audited and ignored: not stored as a follow-up, not
forwarded. An unknown or expired token gets the refusal in the network's language. A thread whose
reference this network does not know (never one of ours) is what the mail would have been without the
header: a new report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.states import ChannelEvent, ReportStatus, TokenPurpose
from save_relay.delivery.notices import queue_notice
from save_relay.mail.commands import visible_reply, withdraw_requested
from save_relay.mail.i18n import Reason, Refusal, reason_text
from save_relay.mail.message_ids import references_named
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.moderation.announce import handle_post
from save_relay.moderation.discard import automatic_reason
from save_relay.moderation.withdraw import withdraw
from save_relay.processing.gate import Actor, Refused, actor_of, is_auto_generated, refuse
from save_relay.store import audit, channel_events, followups
from save_relay.store import inbound as inbound_store
from save_relay.store import tokens as token_store
from save_relay.store.tables import InboundMessage, Report, Token

log = logging.getLogger(__name__)

MAX_TEXT = 20_000  # characters of the typed text kept and forwarded (the raw mail is kept whole)


@dataclass(frozen=True, slots=True)
class Target:
    """The report a follow-up belongs to; ``sent_to``: the address the copy or acknowledgement with the
    token went to; ``ack``: the reporter's token (the acknowledgement's), which may withdraw."""

    report: Report
    found_by: str  # "token" or "thread"
    sent_to: str | None = None
    ack: Token | None = None


async def handle_followup(session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
    """A follow-up, in the processor's transaction: stored, forwarded, audited; or refused."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    automatic = is_auto_generated(parsed) or automatic_reason(parsed, network.settings) is not None
    action = "followup_refused"
    try:
        if inbound.token is None:
            target = await _by_thread(session, network, inbound)
            if target is None:  # no report of ours in the thread: the mail is a report after all
                await inbound_store.make_post(session, inbound, network.settings.reference_prefix)
                await handle_post(session, ctx, inbound)
                return
        else:
            target = await _by_token(session, network, inbound.token)
        if automatic:
            _ignore(session, network, actor, target.report, parsed)
            return
        if target.ack is not None and withdraw_requested(visible_reply(parsed.text)):
            action = "withdrawal_refused"
            await withdraw(session, ctx, target.report, target.ack, actor, parsed)
            return
        await _keep(session, ctx, network, inbound, parsed, actor, target)
    except Refused as refusal:
        refuse(
            session,
            network,
            actor,
            refusal,
            action=action,
            automatic=automatic,
            envelope_from=inbound.mail_from,
        )


async def _by_token(session: AsyncSession, network: NetworkRef, token: str) -> Target:
    """The report of a ``+followup-TOKEN``: a report copy's (per delivery) or an acknowledgement's."""
    conf = network.settings
    unknown = Refused(reason_text(Refusal.of(Reason.UNKNOWN_FOLLOWUP, address=conf.address), conf.language))
    copy = await followups.copy_for_token(session, network.id, token)
    if copy is not None:
        if as_utc(copy.created_at) + timedelta(days=conf.followup_days) <= utcnow():
            raise unknown
        report = await session.get(Report, copy.report_id)
        if report is None:
            raise unknown
        return Target(report, "token", sent_to=copy.recipient)
    row = await token_store.find(session, token, TokenPurpose.FOLLOWUP, network.id, lock=False)
    if row is None or row.report_id is None or as_utc(row.expires_at) <= utcnow():
        raise unknown
    report = await session.get(Report, row.report_id)
    if report is None:
        raise unknown
    return Target(report, "token", sent_to=row.address, ack=row)


async def _by_thread(session: AsyncSession, network: NetworkRef, inbound: InboundMessage) -> Target | None:
    """The report the thread's Message-IDs name (the last named that this network knows), if any."""
    conf = network.settings
    for reference in references_named(inbound.raw, conf.domain, conf.reference_prefix):
        report = await followups.report_by_reference(session, network.id, reference)
        if report is not None:
            return Target(report, "thread")
    return None


def _ignore(
    session: AsyncSession, network: NetworkRef, actor: Actor, report: Report, parsed: ParsedMessage
) -> None:
    """Automatic mail about a report (an out-of-office to a copy): audited, not kept, not forwarded."""
    reason = automatic_reason(parsed, network.settings) or "automatic mail"
    log.info(
        "%s: automatic reply from %s ignored",
        report.reference,
        actor.name,
        extra={"action": "followup_ignored", "reference": report.reference},
    )
    audit.record(
        session,
        action="followup_ignored",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=actor.message_id,
        reason=reason,
    )


async def _role(
    session: AsyncSession, network: NetworkRef, report: Report, sender: str
) -> tuple[str, str | None]:
    """(role, company): the reporter, a subscriber (with its company) or another sender."""
    company = await followups.company_of(session, network.id, sender)
    if report.sender and sender == report.sender:
        return "reporter", company
    return ("subscriber" if company else "other"), company


async def _keep(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    actor: Actor,
    target: Target,
) -> None:
    """Store the follow-up with its report, forward it to every moderator, audit it."""
    conf = network.settings
    report = target.report
    role, company = await _role(session, network, report, actor.name)
    text = (visible_reply(parsed.text) or parsed.text).strip()[:MAX_TEXT]
    moderators = list(conf.moderators)
    received = as_utc(inbound.received_at).astimezone(ZoneInfo(conf.timezone)).strftime("%Y-%m-%d %H:%M")
    context = {
        "reference": report.reference or "",
        "subject": report.subject or "-",
        "role": role,
        "sender": actor.name,
        "company": company,
        "sent_to": target.sent_to,
        "received": received,
        "files": len(parsed.attachments),
        "text": text,
    }
    for moderator in moderators:
        queue_notice(
            session,
            network,
            kind="followup",
            template="followup",
            to=moderator,
            context=context,
            reply_to=actor.name if parsed.sender is not None else None,
            headers=[("X-Save-Relay-Reference", report.reference or "")],
        )
    followup = followups.add(
        session,
        inbound,
        report,
        sender=actor.name,
        role=role,
        sent_to=target.sent_to,
        found_by=target.found_by,
        subject=parsed.subject,
        text=text,
        forwarded_to=len(moderators),
    )
    await session.flush()
    if report.status == ReportStatus.APPROVED:  # control rooms know distributed reports only (webhooks)
        channel_events.emit(
            session,
            network_id=network.id,
            event=ChannelEvent.REPORT_FOLLOWUP,
            report_id=report.id,
            followup_id=followup.id,
            role=role,
        )
    audit.record(
        session,
        action="followup_received",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=actor.message_id,
        followup_id=followup.id,
        role=role,
        found_by=target.found_by,
        sent_to=target.sent_to,
        sha256=followup.sha256,
        size=followup.size,
        forwarded_to=len(moderators),
    )
    log.info(
        "%s: follow-up from %s (%s) forwarded to %d moderator(s)",
        report.reference,
        actor.name,
        role,
        len(moderators),
        extra={"action": "followup_received", "reference": report.reference, "inbound_id": inbound.id},
    )
