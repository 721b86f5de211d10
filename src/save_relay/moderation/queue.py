"""The moderation queue seen from the CLI: one report described with its history and deliveries."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.mail.parse import parse_message
from save_relay.store import audit, deliveries, followups, reports, sms
from save_relay.store.tables import InboundMessage


async def describe(session: AsyncSession, reference: str) -> dict[str, object]:
    """Everything a moderator wants to see about one report, as plain values."""
    report = await reports.by_reference(session, reference)
    inbound = await session.get(InboundMessage, report.inbound_id)
    assert inbound is not None
    parsed = parse_message(inbound.raw)
    history = await audit.entries_about(session, report.reference or "")
    sent: dict[str, int] = {}
    distribution_ids = await reports.distribution_ids(session, report.id)
    for distribution_id in distribution_ids:
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
        "tlp": _label(report.tlp, report.tlp_reporter, report.tlp_consent),
        "sha256": inbound.sha256,
        "size": inbound.size,
        "attachments": [f"{a.filename} ({a.content_type}, {a.size} bytes)" for a in parsed.attachments],
        "category": f"{report.category} ({report.category_source})",
        "incident": f"{as_utc(report.incident_at).isoformat(timespec='minutes')} ({report.incident_source})"
        if report.incident_at
        else "?",
        "place": _place(report.place_lat, report.place_lon, report.place_label, report.place_source),
        "exercise": report.exercise,
        "decided_by": report.decided_by,
        "reason": report.reason,
        "deliveries": sent,
        "sms": [sms_line(line) for line in await sms.of_distributions(session, distribution_ids)],
        "followups": [
            f"{as_utc(f.received_at).isoformat(timespec='seconds')} from {f.sender} ({f.role}, "
            f"{f.size} bytes, sha256 {f.sha256[:16]}...): {' '.join(f.text.split())[:200]}"
            for f in await followups.of_report(session, report.id)
        ],
        "text": report.edited_text if report.edited_text is not None else parsed.text,
        "history": [
            f"{as_utc(e.at).isoformat(timespec='seconds')} {e.action} by {e.actor} via {e.via}"
            + (f" ({e.message_id})" if e.message_id else "")
            for e in history
        ],
    }


def sms_line(line: sms.SmsLine) -> str:
    """``+32470123456 sent (2 parts), receipt DELIVRD 2026-12-06T02:10:00+00:00``, with the last error."""
    parts = f" ({line.parts} parts)" if line.parts > 1 else ""
    receipt = "no receipt yet"
    if line.receipt is not None:
        at = f" {as_utc(line.receipt_at).isoformat(timespec='seconds')}" if line.receipt_at else ""
        receipt = f"receipt {line.receipt}{at}"
    error = f", {line.attempts} attempt(s), last error: {line.error}" if line.error else ""
    return f"{line.number} {line.status}{parts}, {receipt}{error}"


def _label(tlp: str, reporter: str, consent: str | None) -> str:
    """``TLP:AMBER (reporter: TLP:GREEN, consent: TLP:CLEAR)``: the label and where it came from."""
    extra = f"reporter's: TLP:{reporter}" + (f", consent to TLP:{consent}" if consent else "")
    return f"TLP:{tlp}" + (f" ({extra})" if reporter != tlp or consent else "")


def _place(lat: float | None, lon: float | None, label: str, source: str) -> str:
    if lat is None or lon is None:
        return "?"
    return f"{label + ' ' if label else ''}{lat:.5f}, {lon:.5f} ({source})"
