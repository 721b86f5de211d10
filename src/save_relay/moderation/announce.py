"""A new report: filled from its message, acknowledged to the reporter, announced to every moderator.

``handle_post`` is the processor's handler for mail to a network's plain address: automatic mail and
loops are discarded with a reason (``discard.py``); anything else is a report to announce.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.routing import Purpose
from save_relay.core.states import TokenPurpose
from save_relay.core.tlp import Label
from save_relay.delivery.notices import ask_moderators, queue_notice
from save_relay.mail import message_ids
from save_relay.mail.fingerprint import content_digest
from save_relay.mail.i18n import reply_marker
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.moderation.ackrate import ack_allowed, repeat_of
from save_relay.moderation.discard import automatic_reason, discard
from save_relay.moderation.incident import describe_incident, incident_context
from save_relay.moderation.labels import label_on_arrival
from save_relay.moderation.preview import PreviewFile, make_preview, removed_lines
from save_relay.processing.gate import is_auto_generated
from save_relay.store import audit, inbound, recipients
from save_relay.store import tokens as token_store
from save_relay.store.tables import InboundMessage, Report

log = logging.getLogger(__name__)


async def handle_post(session: AsyncSession, ctx: Context, message: InboundMessage) -> None:
    """Mail to the plain address: discarded with its reason when automatic, else announced."""
    report = await inbound.report_for_inbound(session, message.id)
    if report is None:
        raise LookupError("post without a report")
    parsed = parse_message(message.raw)
    if reason := automatic_reason(parsed, ctx.network(message.network_id).settings):
        await discard(session, message, report, parsed, reason)
        return
    await announce(session, ctx, message, report, parsed)


async def announce(
    session: AsyncSession,
    ctx: Context,
    message: InboundMessage,
    report: Report,
    parsed: ParsedMessage | None = None,
) -> None:
    """Fill the report from its message, acknowledge the reporter, notify every moderator.

    ``parsed``: the caller's ``parse_message(message.raw)``, if it has one (parsing 20 KB is not free).
    """
    network = ctx.network(message.network_id)
    conf = network.settings
    parsed = parsed or parse_message(message.raw)
    report.subject = parsed.subject[:300]
    if parsed.sender is not None:
        report.sender = parsed.sender.address.lower()
        report.sender_name = parsed.sender.name[:200]
    zones = await recipients.zone_table(session, network.id)  # one query for the sender's zones and the list
    info = await recipients.sender_info(session, network.id, report.sender, zones) if report.sender else None
    report.subscriber_id = info.subscriber_id if info else None
    report.zones = list(info.zones) if info else []
    report.groups = list(conf.default_groups)
    describe_incident(report, parsed, info, conf)
    files = await make_preview(session, report, parsed, message.raw, conf)
    label_on_arrival(report, parsed, conf)
    label = Label(report.tlp)
    digest = content_digest(parsed)
    repeat = await repeat_of(session, report, digest) if report.sender else None
    attached, _ = _fitting(files, conf.notification_attachments_max_bytes)
    context = {
        "reference": report.reference,
        "subject": report.subject or "(geen onderwerp)",
    }
    # A null return path marks a bounce or other automatic mail (RFC 3834 section 2): never answered.
    automatic = is_auto_generated(parsed) or not message.mail_from.strip("<> ")
    if conf.send_acknowledgements and report.sender and not automatic:
        await _acknowledge(session, ctx, network, report, context, parsed.message_id, (digest, repeat))
    expires = utcnow() + timedelta(hours=conf.confirm_ttl_hours)
    local_expiry = _local(expires, conf.timezone)
    await ask_moderators(
        session,
        ctx,
        network,
        report,
        kind="notification",
        template="notification",
        expires_at=expires,
        attachments=[(f.filename, f.content_type, f.data) for f in attached if f.data is not None],
        context={
            **context,
            "reply_marker": reply_marker(conf.language),
            "sender": f"{report.sender_name} <{report.sender}>" if report.sender else "(onbekend)",
            "subscriber": info.company if info else None,
            "received": _local(report.received_at, conf.timezone),
            "proposed_zones": report.zones,
            "default_groups": report.groups,
            "attachments": files,
            "attached_positions": [f.position for f in attached],
            "preview": f"{label.tag}\n\n{report.preview_text or ''}",  # the label is part of what goes out
            "removed": removed_lines(report, files, conf.language),
            "known_zones": list(zones.names),
            "defects": list(parsed.defects)[:5],
            "expires": local_expiry,
            "repeat_of": repeat[0] if repeat else None,
            "repeat_received": _local(repeat[1], conf.timezone) if repeat else None,
            **incident_context(report, conf),
        },
    )
    report.notified_at = utcnow()
    audit.record(
        session,
        action="report_received",
        actor=report.sender or message.mail_from or "<>",
        via=message.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=parsed.message_id,
        sha256=message.sha256,
        size=message.size,
        tlp=label.value,
    )
    log.info(
        "%s announced to %d moderator(s)",
        report.reference,
        len(conf.moderators),
        extra={"action": "report_announced", "reference": report.reference, "inbound_id": message.id},
    )


async def _acknowledge(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    report: Report,
    context: dict[str, Any],
    in_reply_to: str | None,
    content: tuple[str, tuple[str, datetime] | None],
) -> None:
    """Queue the reporter's acknowledgement, unless it is the same message again (``repeat``: the first
    one's reference and time) or an unknown address had its hourly share; either is audited.
    ``content``: the message's fingerprint, kept on the report once it is acknowledged, and the repeat.

    A subscriber always gets one, so a busy company always has its reference number; the limit is there
    against floods and loops from addresses the network does not know (automatic mail is never answered).
    Its Reply-To is ``+followup-TOKEN``, a token bound to the report and the reporter's address: a reply
    there is a follow-up, or ``intrekken`` withdraws the report (``moderation/followup.py``).
    """
    assert report.sender is not None
    digest, repeat = content
    if repeat is not None:
        log.info(
            "no acknowledgement to %s: same message as %s",
            report.sender,
            repeat[0],
            extra={"action": "ack_repeat", "reference": report.reference},
        )
        audit.record(
            session,
            action="ack_repeat",
            actor="system",
            via="system",
            network_id=network.id,
            object_ref=report.reference,
            recipient=report.sender,
            first=repeat[0],
        )
        return
    limit = network.settings.ack_per_sender_per_hour
    known = report.subscriber_id is not None
    if not known and not await ack_allowed(session, report.sender, limit):
        log.info(
            "no acknowledgement to %s: rate limit",
            report.sender,
            extra={"action": "ack_rate_limited", "reference": report.reference},
        )
        audit.record(
            session,
            action="ack_rate_limited",
            actor="system",
            via="system",
            network_id=network.id,
            object_ref=report.reference,
            recipient=report.sender,
            limit=limit,
        )
        return
    report.content_digest = digest  # acknowledged: the same message again within the hour is a repeat
    conf = network.settings
    token = await token_store.issue(
        session,
        purpose=TokenPurpose.FOLLOWUP,
        network_id=network.id,
        address=report.sender,
        expires_at=utcnow() + timedelta(days=conf.followup_days),
        report_id=report.id,
    )
    queue_notice(
        session,
        network,
        kind="ack",
        template="ack",
        to=report.sender,
        context=context,
        reply_to=ctx.subaddress(conf, Purpose.FOLLOWUP, token),
        in_reply_to=in_reply_to,
        message_id=message_ids.message_id(report.reference or "", conf.domain, tag="ack"),
    )


def _local(moment: datetime, timezone: str) -> str:
    """``moment`` as the network's local "YYYY-MM-DD HH:MM"."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _fitting(files: list[PreviewFile], limit: int) -> tuple[list[PreviewFile], list[PreviewFile]]:
    """The photos (and other sendable files) that fit in ``limit`` bytes in order, and the others."""
    attached: list[PreviewFile] = []
    others: list[PreviewFile] = []
    total = 0
    for file in files:
        if file.data is not None and total + file.size <= limit:
            attached.append(file)
            total += file.size
        else:
            others.append(file)
    return attached, others
