"""``save-relay queue hold REF``: put a report on an evidence hold (or release it), audited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store import audit
from save_relay.store import holds as hold_store
from save_relay.store.reports import by_reference as get_report
from save_relay.store.tables import EvidenceHold


async def set_hold(session: AsyncSession, reference: str, *, actor: str, reason: str, release: bool) -> str:
    """Hold (or release) the report ``reference``; returns a one-line summary. NotFound if unknown."""
    report = await get_report(session, reference)
    existing = await hold_store.get(session, report.id)
    if release:
        if existing is None:
            return f"{report.reference} was not on hold"
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
    audit.record(
        session,
        action=action,
        actor=actor,
        via="cli",
        network_id=report.network_id,
        object_ref=report.reference,
        reason=reason,
    )
    return summary
