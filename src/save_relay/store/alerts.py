"""What the CAP alerts are made of: approved reports, and the Update and Cancel messages issued for
them (audit entries ``cap_issued``: who, when, which identifier; the feed serves the latest)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import ReportStatus
from save_relay.store.tables import AuditEntry, Report

ISSUED = "cap_issued"


async def approved(session: AsyncSession, network_id: int, limit: int) -> list[Report]:
    """The network's approved reports, the last decided first (the feed)."""
    query = (
        select(Report)
        .where(Report.network_id == network_id, Report.status == ReportStatus.APPROVED)
        .order_by(Report.decided_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def report(session: AsyncSession, network_id: int, reference: str) -> Report | None:
    """One of the network's reports by reference (any status; read, not locked)."""
    query = select(Report).where(
        Report.network_id == network_id, Report.reference == reference.strip().upper()
    )
    return await session.scalar(query)


async def issued(session: AsyncSession, references: Sequence[str]) -> dict[str, list[AuditEntry]]:
    """The Update and Cancel messages issued for ``references``, oldest first per reference."""
    if not references:
        return {}
    query = (
        select(AuditEntry)
        .where(AuditEntry.action == ISSUED, AuditEntry.object_ref.in_(list(references)))
        .order_by(AuditEntry.id)
    )
    found: dict[str, list[AuditEntry]] = {ref: [] for ref in references}
    for entry in await session.scalars(query):
        found[entry.object_ref or ""].append(entry)
    return found
