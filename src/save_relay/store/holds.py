"""Evidence holds: reports kept whole whatever the retention policy (and an erasure) would do."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.store.evidence import replies_about
from save_relay.store.tables import Distribution, EvidenceHold, Followup, Report


async def get(session: AsyncSession, report_id: int) -> EvidenceHold | None:
    return await session.get(EvidenceHold, report_id)


def add(session: AsyncSession, hold: EvidenceHold) -> None:
    session.add(hold)


async def release(session: AsyncSession, report_id: int) -> None:
    await session.execute(delete(EvidenceHold).where(EvidenceHold.report_id == report_id))


def held_reports() -> Select[tuple[int]]:
    """The ids of the reports on hold, as a subquery."""
    return select(EvidenceHold.report_id)


@dataclass(frozen=True, slots=True)
class HeldEvidence:
    """What a hold keeps, by table: the held reports, the mail that proves what happened to them (the
    report itself, the moderators' replies and follow-ups on its tokens) and their distributions."""

    report_ids: frozenset[int] = frozenset()
    inbound_ids: frozenset[int] = frozenset()
    distribution_ids: frozenset[int] = frozenset()
    followup_ids: frozenset[int] = frozenset()


async def held_evidence(session: AsyncSession) -> HeldEvidence:
    reports = list(await session.scalars(select(Report).where(Report.id.in_(held_reports()))))
    inbound = {report.inbound_id for report in reports}
    for report in reports:
        inbound |= {reply.id for reply in await replies_about(session, report)}
    followups = (
        await session.execute(
            select(Followup.id, Followup.inbound_id).where(Followup.report_id.in_([r.id for r in reports]))
        )
    ).all()
    inbound |= {inbound_id for _, inbound_id in followups}
    distributions = await session.scalars(
        select(Distribution.id).where(Distribution.report_id.in_([r.id for r in reports]))
    )
    return HeldEvidence(
        report_ids=frozenset(r.id for r in reports),
        inbound_ids=frozenset(inbound),
        distribution_ids=frozenset(distributions),
        followup_ids=frozenset(followup_id for followup_id, _ in followups),
    )
