"""Everyone told (issue 15): after a moderator's decision, the other moderators get a short notice and the
reporter gets the outcome. Queued in the decision's transaction, so they go out if and only if it commits.

Expiry tells the reporter itself (``housekeeping.expire_reports``); this module covers approve and reject,
by mail reply or CLI alike (``decide`` calls it).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import NetworkRef
from save_relay.delivery.notices import queue_notice
from save_relay.mail import message_ids
from save_relay.mail.parse import ParsedMessage
from save_relay.processing.gate import Actor, is_auto_generated
from save_relay.store.tables import Report


def _context(network: NetworkRef, report: Report, recipients: int) -> dict[str, object]:
    zone = ZoneInfo(network.settings.timezone)
    decided = as_utc(report.decided_at or utcnow()).astimezone(zone)
    return {
        "reference": report.reference or "",
        "subject": report.subject or "-",
        "by": report.decided_by or "?",
        "at": decided.strftime("%Y-%m-%d %H:%M"),
        "recipients": recipients,
        "reason": report.reason or "",
    }


def tell_everyone(
    session: AsyncSession,
    network: NetworkRef,
    report: Report,
    parsed: ParsedMessage,
    actor: Actor,
    *,
    action: str,
    recipients: int,
) -> tuple[int, bool]:
    """Queue the notice to every moderator but the one who decided, and the outcome to the reporter unless
    the report was automatic mail. Returns (moderators told, reporter told)."""
    context = _context(network, report, recipients) | {"action": action}
    others = [m for m in network.settings.moderators if m.lower() != actor.name.lower()]
    for moderator in others:
        queue_notice(
            session,
            network,
            kind="decided",
            template="decision_notice",
            to=moderator,
            context=context,
            headers=[("X-Save-Relay-Reference", report.reference or "")],
        )
    told = tell_reporter(
        session, network, report, parsed, kind="outcome", template="report_outcome", context=context
    )
    return len(others), told


def tell_reporter(
    session: AsyncSession,
    network: NetworkRef,
    report: Report,
    parsed: ParsedMessage,
    *,
    kind: str,
    template: str,
    context: dict[str, object],
) -> bool:
    """Queue ``template`` to the reporter, in reply to the report, unless it was automatic mail; True if
    queued. Used for the outcome of a decision and for expiry."""
    if not report.sender or is_auto_generated(parsed):
        return False
    queue_notice(
        session,
        network,
        kind=kind,
        template=template,
        to=report.sender,
        context=context,
        in_reply_to=parsed.message_id,
        headers=[("X-Save-Relay-Reference", report.reference or "")],
        # a reply to the outcome (to the network address) names the report: a follow-up, not a report
        message_id=message_ids.message_id(report.reference or "", network.settings.domain, tag=kind),
    )
    return True
