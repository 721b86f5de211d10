"""The moderation queue seen from the CLI: list, show, and decide without a mail program."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.errors import NotFound
from save_relay.mail.parse import parse_message
from save_relay.store import deliveries
from save_relay.store.tables import AuditEntry, Distribution, InboundMessage, Report


@dataclass(frozen=True, slots=True)
class ReportRow:
    reference: str
    status: str
    received_at: datetime
    sender: str
    subject: str
    zones: list[str]


async def list_reports(session: AsyncSession, status: str | None, limit: int = 200) -> list[ReportRow]:
    query = select(Report).order_by(Report.id.desc()).limit(limit)
    if status:
        query = query.where(Report.status == status)
    return [
        ReportRow(
            r.reference or "", r.status, as_utc(r.received_at), r.sender or "", r.subject, list(r.zones)
        )
        for r in await session.scalars(query)
    ]


async def get_report(session: AsyncSession, reference: str) -> Report:
    report = await session.scalar(
        select(Report).where(Report.reference == reference.strip().upper()).with_for_update()
    )
    if report is None:
        raise NotFound(f"no report {reference}")
    return report


async def describe(session: AsyncSession, reference: str) -> dict[str, object]:
    """Everything a moderator wants to see about one report, as plain values."""
    report = await get_report(session, reference)
    inbound = await session.get(InboundMessage, report.inbound_id)
    assert inbound is not None
    parsed = parse_message(inbound.raw)
    history = await session.scalars(
        select(AuditEntry).where(AuditEntry.object_ref == report.reference).order_by(AuditEntry.id)
    )
    sent: dict[str, int] = {}
    for distribution_id in await session.scalars(
        select(Distribution.id).where(Distribution.report_id == report.id)
    ):
        for key, value in (await deliveries.counts(session, distribution_id)).items():
            sent[key] = sent.get(key, 0) + value
    return {
        "reference": report.reference,
        "status": report.status,
        "received": as_utc(report.received_at).isoformat(timespec="seconds"),
        "sender": f"{report.sender_name} <{report.sender}>" if report.sender else inbound.mail_from,
        "subject": report.subject,
        "zones": report.zones,
        "groups": report.groups,
        "sha256": inbound.sha256,
        "size": inbound.size,
        "attachments": [f"{a.filename} ({a.content_type}, {a.size} bytes)" for a in parsed.attachments],
        "decided_by": report.decided_by,
        "reason": report.reason,
        "deliveries": sent,
        "text": report.edited_text if report.edited_text is not None else parsed.text,
        "history": [
            f"{as_utc(e.at).isoformat(timespec='seconds')} {e.action} by {e.actor} via {e.via}"
            + (f" ({e.message_id})" if e.message_id else "")
            for e in history
        ],
    }
