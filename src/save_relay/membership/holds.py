"""``save-relay queue hold REF``: put a report on an evidence hold (or release it), audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.errors import SaveRelayError
from save_relay.core.states import ApprovalStatus
from save_relay.store import approvals, audit
from save_relay.store import holds as hold_store
from save_relay.store.reports import by_reference as get_report
from save_relay.store.tables import ApprovalRequest, EvidenceHold, Report


async def set_hold(
    session: AsyncSession,
    reference: str,
    *,
    actor: str,
    reason: str,
    release: bool,
    four_eyes_hours: float | None = None,
) -> str:
    """Hold (or release) the report ``reference``; returns a one-line summary. NotFound if unknown.

    ``four_eyes_hours``: releasing needs a second, different moderator (``four_eyes.hold_release``): the
    first asks (kept that many hours), the second's release goes through; the same one twice is refused.
    """
    report = await get_report(session, reference)
    existing = await hold_store.get(session, report.id)
    first: dict[str, object] | None = None
    if release:
        if existing is None:
            return f"{report.reference} was not on hold"
        if four_eyes_hours is not None:
            first = await _second_eyes(session, report, actor, reason, four_eyes_hours)
            if first is None:
                return (
                    f"{report.reference}: releasing its hold waits for a second moderator (four-eyes); "
                    "another moderator runs the same command"
                )
        await hold_store.release(session, report.id)
        action, summary = "evidence_hold_released", f"{report.reference} released from its evidence hold"
    else:
        if existing is not None:
            since = f"{existing.held_at:%Y-%m-%d}"
            return f"{report.reference} is already on hold (since {since}, by {existing.held_by})"
        hold_store.add(
            session, EvidenceHold(report_id=report.id, held_at=utcnow(), held_by=actor, reason=reason)
        )
        action, summary = "evidence_hold", f"{report.reference} on evidence hold: kept whatever the retention"
    extra: dict[str, Any] = {"first_approval": first} if first else {}  # four-eyes: who asked first
    audit.record(
        session,
        action=action,
        actor=actor,
        via="cli",
        network_id=report.network_id,
        object_ref=report.reference,
        reason=reason,
        **extra,
    )
    return summary


async def _second_eyes(
    session: AsyncSession, report: Report, actor: str, reason: str, hours: float
) -> dict[str, object] | None:
    """The first request to release waits (None); a second, different moderator's confirms it (the first
    one's who, how and when); the same one twice is refused."""
    waiting = await approvals.waiting_for(session, report.id, "hold_release")
    now = utcnow()
    if waiting is None:
        session.add(
            ApprovalRequest(
                network_id=report.network_id,
                report_id=report.id,
                kind="hold_release",
                status=ApprovalStatus.WAITING,
                first_by=actor,
                first_via="cli",
                decision={"reason": reason},
                reasons=["hold_release"],
                expires_at=now + timedelta(hours=hours),
            )
        )
        audit.record(
            session,
            action="evidence_hold_release_waiting",
            actor=actor,
            via="cli",
            network_id=report.network_id,
            object_ref=report.reference,
            reason=reason,
        )
        return None
    if waiting.first_by == actor:
        raise SaveRelayError(
            f"{report.reference}: {actor} already asked to release its hold; "
            "four-eyes needs another moderator"
        )
    waiting.status, waiting.second_by, waiting.closed_at = ApprovalStatus.CONFIRMED, actor, now
    return waiting.first_approval()
