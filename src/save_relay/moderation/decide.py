"""Moderation: a new report is announced to the moderators; a decision (by mail or CLI) is applied once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.core.errors import CommandRefused
from save_relay.delivery.notices import notify_moderators, queue_notice
from save_relay.mail.commands import REPLY_MARKERS
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.moderation.ackrate import ack_allowed
from save_relay.moderation.distribution import distribute
from save_relay.store import audit, members
from save_relay.store import tokens as token_store
from save_relay.store.networks import NetworkRef
from save_relay.store.tables import InboundMessage, Report

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a moderator decided about one report."""

    action: str  # "approve" or "reject"
    zones: Sequence[str] | None = None
    groups: Sequence[str] | None = None
    edit_text: str | None = None
    credit: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and how: ``via`` is mail (with the reply's Message-ID) or cli."""

    name: str
    via: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    reference: str
    action: str
    zones: tuple[str, ...]
    groups: tuple[str, ...]
    recipients: int = 0
    unknown: tuple[str, ...] = field(default_factory=tuple)


def is_auto_generated(parsed: ParsedMessage) -> bool:
    return parsed.auto_submitted or parsed.from_mailer_daemon or parsed.sender is None


async def announce(
    session: AsyncSession,
    ctx: Context,
    inbound: InboundMessage,
    report: Report,
    parsed: ParsedMessage | None = None,
) -> None:
    """Fill the report from its message, acknowledge the reporter, notify every moderator.

    ``parsed``: the caller's ``parse_message(inbound.raw)``, if it has one (parsing 20 KB is not free).
    """
    network = ctx.network(inbound.network_id)
    conf = network.settings
    parsed = parsed or parse_message(inbound.raw)
    report.subject = parsed.subject[:300]
    if parsed.sender is not None:
        report.sender = parsed.sender.address.lower()
        report.sender_name = parsed.sender.name[:200]
    zones = await members.zone_table(session, network.id)  # one query for the sender's zones and the list
    info = await members.sender_info(session, network.id, report.sender, zones) if report.sender else None
    report.subscriber_id = info.subscriber_id if info else None
    report.zones = list(info.zones) if info else []
    report.groups = list(conf.default_groups)
    context = {
        "reference": report.reference,
        "subject": report.subject or "(geen onderwerp)",
    }
    # A null return path marks a bounce or other automatic mail (RFC 3834 section 2): never answered.
    automatic = is_auto_generated(parsed) or not inbound.mail_from.strip("<> ")
    if conf.send_acknowledgements and report.sender and not automatic:
        await _acknowledge(session, network, report, context, parsed.message_id)
    expires = utcnow() + timedelta(hours=conf.confirm_ttl_hours)
    local_expiry = expires.astimezone(ZoneInfo(conf.timezone)).strftime("%Y-%m-%d %H:%M")
    await notify_moderators(
        session,
        ctx,
        network,
        purpose="confirm",
        report_id=report.id,
        headers=[("X-Save-Relay-Reference", report.reference or "")],
        kind="notification",
        template="notification",
        expires_at=expires,
        context={
            **context,
            "reply_marker": REPLY_MARKERS[0],
            "sender": f"{report.sender_name} <{report.sender}>" if report.sender else "(onbekend)",
            "subscriber": info.company if info else None,
            "received": report.received_at.astimezone(ZoneInfo(conf.timezone)).strftime("%Y-%m-%d %H:%M"),
            "proposed_zones": report.zones,
            "default_groups": report.groups,
            "attachments": parsed.attachments,
            "known_zones": list(zones.names),
            "defects": list(parsed.defects)[:5],
            "text": parsed.text[:20_000],
            "expires": local_expiry,
        },
    )
    report.notified_at = utcnow()
    audit.record(
        session,
        action="report_received",
        actor=report.sender or inbound.mail_from or "<>",
        via=inbound.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=parsed.message_id,
        sha256=inbound.sha256,
        size=inbound.size,
    )


async def _acknowledge(
    session: AsyncSession,
    network: NetworkRef,
    report: Report,
    context: dict[str, Any],
    in_reply_to: str | None,
) -> None:
    """Queue the reporter's acknowledgement, unless the address had its hourly share (then audited)."""
    assert report.sender is not None
    limit = network.settings.ack_per_sender_per_hour
    if not await ack_allowed(session, report.sender, limit):
        log.info("no acknowledgement to %s: rate limit", report.sender, extra={"action": "ack_rate_limited"})
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
    queue_notice(
        session,
        network,
        kind="ack",
        template="ack",
        to=report.sender,
        context=context,
        in_reply_to=in_reply_to,
    )


def _resolve(requested: Sequence[str], known: dict[str, str]) -> tuple[list[str], list[str]]:
    """Map names or slugs (any case) to slugs; return (found, unknown)."""
    lookup = {slug.lower(): slug for slug in known} | {name.lower(): slug for slug, name in known.items()}
    found: list[str] = []
    unknown: list[str] = []
    for item in requested:
        slug = lookup.get(item.strip().lower())
        if slug is None:
            unknown.append(item)
        elif slug not in found:
            found.append(slug)
    return found, unknown


async def decide(
    session: AsyncSession, ctx: Context, report: Report, decision: Decision, actor: Actor
) -> Applied:
    """Apply a decision to a pending report; raises CommandRefused and changes nothing when it can't."""
    network = ctx.network(report.network_id)
    if report.status != "pending":
        raise CommandRefused(f"report {report.reference} is already {report.status}")
    zones, groups = list(report.zones), list(report.groups)
    if decision.zones is not None:
        zones, unknown = _resolve(decision.zones, await members.zone_slugs(session, network.id))
        if unknown:
            raise CommandRefused(f"unknown zone(s): {', '.join(unknown)}")
    if decision.groups is not None:
        extra, unknown = _resolve(decision.groups, await members.group_slugs(session, network.id))
        if unknown:
            raise CommandRefused(f"unknown group(s): {', '.join(unknown)}")
        groups = list(dict.fromkeys([*network.settings.default_groups, *extra]))
    if decision.action == "approve" and not zones and not groups:
        raise CommandRefused("no zones or groups to send to: add 'zones: ...'")
    report.decided_at, report.decided_by = utcnow(), actor.name
    await token_store.use_all_for_report(session, report.id, "confirm")
    applied = Applied(report.reference or "", decision.action, tuple(zones), tuple(groups))
    if decision.action == "reject":
        report.status, report.reason = "rejected", decision.reason
    else:
        report.status, report.zones, report.groups = "approved", zones, groups
        report.credit = decision.credit
        report.edited_text = decision.edit_text
        inbound = await session.get(InboundMessage, report.inbound_id)
        assert inbound is not None
        fanout = await distribute(session, network, report, parse_message(inbound.raw), inbound.raw)
        applied = Applied(applied.reference, "approve", applied.zones, applied.groups, fanout.recipients)
    audit.record(
        session,
        action=f"report_{report.status}",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=actor.message_id,
        zones=list(applied.zones),
        groups=list(applied.groups),
        recipients=applied.recipients,
        edited=decision.edit_text is not None,
        credit=decision.credit,
        reason=decision.reason,
    )
    log.info(
        "%s %s by %s",
        report.reference,
        report.status,
        actor.name,
        extra={"action": f"report_{report.status}"},
    )
    return applied


def confirmation_context(applied: Applied, decision: Decision) -> dict[str, object]:
    return {
        "reference": applied.reference,
        "action": applied.action,
        "zones": applied.zones,
        "groups": applied.groups,
        "recipients": applied.recipients,
        "edited": decision.edit_text is not None,
        "credit": decision.credit,
        "reason": decision.reason,
    }


def send_error(
    session: AsyncSession,
    network: NetworkRef,
    to: str,
    reason: str,
    reference: str | None,
    in_reply_to: str | None,
) -> None:
    queue_notice(
        session,
        network,
        kind="error",
        template="command_error",
        to=to,
        context={"reason": reason, "reference": reference},
        in_reply_to=in_reply_to,
    )
