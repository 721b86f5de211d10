"""Evidence holds: reports kept whole whatever the retention policy (and an erasure) would do."""

from __future__ import annotations

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.store.tables import EvidenceHold


async def get(session: AsyncSession, report_id: int) -> EvidenceHold | None:
    return await session.get(EvidenceHold, report_id)


def add(session: AsyncSession, hold: EvidenceHold) -> None:
    session.add(hold)


async def release(session: AsyncSession, report_id: int) -> None:
    await session.execute(delete(EvidenceHold).where(EvidenceHold.report_id == report_id))


def held_reports() -> Select[tuple[int]]:
    """The ids of the reports on hold, as a subquery."""
    return select(EvidenceHold.report_id)
