"""Scheduled moderation housekeeping: remind the moderators of waiting reports, expire old ones, and
wake the outbound worker for deferred deliveries that are due.

Each function is a scheduler job (``save_relay.processing.scheduler``): it runs in the caller's transaction,
claims its reports with ``FOR UPDATE SKIP LOCKED`` and returns how many it handled.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.context import Context
from save_relay.core.states import ReportStatus
from save_relay.delivery.notices import ask_moderators
from save_relay.mail.i18n import reply_marker
from save_relay.mail.parse import parse_message
from save_relay.moderation.outcome import tell_reporter
from save_relay.store import audit, deliveries
from save_relay.store import reports as reports_store
from save_relay.store import tokens as token_store
from save_relay.store.aftercommit import after_commit
from save_relay.store.tables import InboundMessage

log = logging.getLogger(__name__)


async def remind_moderators(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Remind every moderator, once per report, of reports pending longer than the setting's hours.

    Each reminder carries a fresh reply address, so the moderator can decide by answering it.
    """
    hours = ctx.settings.scheduler.moderation_reminder_hours
    if not hours:
        return 0
    reports = await reports_store.pending(
        session, list(ctx.by_id), received_before=now - timedelta(hours=hours), unreminded=True
    )
    for report in reports:
        report.reminded_at = now
        network = ctx.network(report.network_id)
        conf = network.settings
        zone = ZoneInfo(conf.timezone)
        expires = now + timedelta(hours=conf.confirm_ttl_hours)
        context = {
            "reference": report.reference,
            "subject": report.subject or "-",
            "sender": report.sender or "-",
            "received": as_utc(report.received_at).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "hours": round((now - as_utc(report.received_at)).total_seconds() / 3600),
            "reply_marker": reply_marker(conf.language),
        }
        await ask_moderators(
            session,
            ctx,
            network,
            report,
            kind="reminder",
            template="moderation_reminder",
            expires_at=expires,
            context=context,
        )
        audit.record(
            session,
            action="report_reminder_sent",
            actor="system",
            via="scheduler",
            network_id=network.id,
            object_ref=report.reference,
            moderators=len(conf.moderators),
        )
    if reports:
        log.info(
            "reminded moderators of %d report(s)",
            len(reports),
            extra={"action": "report_reminders", "references": [r.reference for r in reports]},
        )
    return len(reports)


async def expire_reports(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Reports pending longer than the setting's days become ``expired``; the reporter is told (unless
    the report was automatic mail), the reply addresses die, the audit log says so."""
    days = ctx.settings.scheduler.report_expiry_days
    if not days:
        return 0
    reports = await reports_store.pending(
        session, list(ctx.by_id), received_before=now - timedelta(days=days)
    )
    for report in reports:
        network = ctx.network(report.network_id)
        report.status, report.decided_at, report.decided_by = ReportStatus.EXPIRED, now, "system"
        report.reason = f"no decision within {days:g} days"
        await token_store.use_all_for_report(session, report.id, "confirm")
        inbound = await session.get(InboundMessage, report.inbound_id)
        parsed = parse_message(inbound.raw if inbound else b"")
        told = tell_reporter(
            session,
            network,
            report,
            parsed,
            kind="expired",
            template="report_expired",
            context={"reference": report.reference, "subject": report.subject or "-", "days": days},
        )
        audit.record(
            session,
            action="report_expired",
            actor="system",
            via="scheduler",
            network_id=network.id,
            object_ref=report.reference,
            reporter_told=told,
            days=days,
        )
    if reports:
        expired = ctx.metrics.reports_decided.labels(outcome=ReportStatus.EXPIRED.value)
        after_commit(session, lambda: expired.inc(len(reports)))
        log.info(
            "expired %d report(s)",
            len(reports),
            extra={"action": "reports_expired", "references": [r.reference for r in reports]},
        )
    return len(reports)


async def retries_due(session: AsyncSession, ctx: Context, now: datetime) -> bool:
    """True when a deferred delivery is due (the scheduler then wakes the outbound worker)."""
    due = await deliveries.next_due(session)
    return due is not None and due <= now
