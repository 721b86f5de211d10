"""Reports: the moderation queue's rows, looked up by reference, listed, and claimed for housekeeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ScalarSelect, Select, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.errors import NotFound
from save_relay.core.states import ReportStatus
from save_relay.store.tables import Distribution, InboundMessage, Report, ReportAttachment

HOUSEKEEPING_BATCH = 50  # reports per transaction; the scheduler drains the rest at once


Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True, slots=True)
class ReportRow:
    reference: str
    status: str
    received_at: datetime
    sender: str
    subject: str
    zones: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFilter:
    """What the console's queue narrows to besides the status: a zone the report is for, a category,
    and a period of reception (``since`` included, ``until`` excluded)."""

    zone: str | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_reports(
    session: AsyncSession,
    status: str | None,
    limit: int = 200,
    network_id: int | None = None,
    narrow: ReportFilter | None = None,
) -> list[ReportRow]:
    # the six columns shown, not whole reports (their previews and texts): 200 rows of a queue page
    columns = (
        Report.reference,
        Report.status,
        Report.received_at,
        Report.sender,
        Report.subject,
        Report.zones,
    )
    query = select(*columns).order_by(Report.id.desc()).limit(limit)
    if status:
        query = query.where(Report.status == status)
    if network_id is not None:
        query = query.where(Report.network_id == network_id)
    if narrow is not None:
        query = _narrowed(query, narrow)
    return [
        ReportRow(
            r.reference or "", r.status, as_utc(r.received_at), r.sender or "", r.subject, list(r.zones)
        )
        for r in await session.execute(query)
    ]


def _narrowed(query: Q, narrow: ReportFilter) -> Q:
    if narrow.zone:
        # ``zones`` is a JSON list on both databases: its text holds the slug in quotes (slugs are
        # plain [a-z0-9-], and LIKE's own wildcards are escaped), which needs no JSON functions
        # that differ between SQLite and PostgreSQL.
        query = query.where(cast(Report.zones, String).contains(f'"{narrow.zone}"', autoescape=True))
    if narrow.category:
        query = query.where(Report.category == narrow.category)
    if narrow.since is not None:
        query = query.where(Report.received_at >= narrow.since)
    if narrow.until is not None:
        query = query.where(Report.received_at < narrow.until)
    return query


#: The console queue counts each status up to this many reports; more shows as "1000+".
COUNT_CAP = 1000


async def status_counts(session: AsyncSession, network_id: int, cap: int = COUNT_CAP) -> dict[str, int]:
    """Reports of one network per status, each counted up to ``cap`` (the console queue's counts).

    One statement, a capped count per status, each a range of ``ix_reports_status`` read at most ``cap``
    entries deep: a GROUP BY read every report of the network (100,000 index entries, 17-30 ms on
    PostgreSQL in the console bench) to show that 93,000 of them are approved. A value equal to ``cap``
    means "``cap`` or more"."""

    def capped(status: str) -> ScalarSelect[int]:
        some = select(Report.id).where(Report.network_id == network_id, Report.status == status).limit(cap)
        return select(func.count()).select_from(some.subquery()).scalar_subquery()

    statuses = list(ReportStatus)
    row = (await session.execute(select(*(capped(s).label(s.value) for s in statuses)))).one()
    return {status.value: int(count) for status, count in zip(statuses, row, strict=True) if count}


async def by_reference(session: AsyncSession, reference: str) -> Report:
    report = await session.scalar(
        select(Report).where(Report.reference == reference.strip().upper()).with_for_update()
    )
    if report is None:
        raise NotFound(f"no report {reference}")
    return report


async def raw_of(session: AsyncSession, report: Report) -> bytes:
    """The report's mail as received (the evidence: never altered)."""
    raw = await session.scalar(select(InboundMessage.raw).where(InboundMessage.id == report.inbound_id))
    return raw or b""


async def distribution_ids(session: AsyncSession, report_id: int) -> list[int]:
    return list(await session.scalars(select(Distribution.id).where(Distribution.report_id == report_id)))


async def pending(
    session: AsyncSession,
    network_ids: Sequence[int],
    *,
    received_before: datetime,
    unreminded: bool = False,
    limit: int = HOUSEKEEPING_BATCH,
) -> list[Report]:
    """Pending reports of ``network_ids`` received before the time (and not yet reminded of, with
    ``unreminded``), locked (``SKIP LOCKED``: several daemons share the work), oldest first."""
    query = select(Report).where(
        Report.status == ReportStatus.PENDING,
        Report.network_id.in_(list(network_ids)),
        Report.received_at <= received_before,
    )
    if unreminded:
        query = query.where(Report.reminded_at.is_(None))
    return list(
        await session.scalars(query.order_by(Report.id).limit(limit).with_for_update(skip_locked=True))
    )


async def attachments(session: AsyncSession, report_id: int) -> list[ReportAttachment]:
    """The report's attachments as its distribution carries them, in order."""
    rows = await session.scalars(
        select(ReportAttachment)
        .where(ReportAttachment.report_id == report_id)
        .order_by(ReportAttachment.position)
    )
    return list(rows)


async def inbound_of(session: AsyncSession, report: Report) -> InboundMessage:
    """The mail ``report`` was made from, as intake stored it."""
    inbound = await session.get(InboundMessage, report.inbound_id)
    if inbound is None:  # a foreign key makes this impossible; say so rather than crash
        raise NotFound(f"report {report.reference}: its received mail is missing")
    return inbound


async def earlier_same(
    session: AsyncSession, report: Report, digest: str, since: datetime
) -> tuple[str, datetime] | None:
    """The reference and reception time of another report of this network from the same sender with
    ``content_digest`` equal to ``digest`` received after ``since``, if any (``ix_reports_content``). The
    digest is set when a report's acknowledgement is queued, so only an acknowledged message makes a later
    one a repeat, whatever the processing order."""
    if report.sender is None:
        return None
    row = (
        await session.execute(
            select(Report.reference, Report.received_at)
            .where(
                Report.network_id == report.network_id,
                Report.content_digest == digest,
                Report.sender == report.sender,
                Report.received_at > since,
                Report.id != report.id,
                Report.reference.is_not(None),
            )
            .order_by(Report.id)
            .limit(1)
        )
    ).first()
    return (str(row[0]), as_utc(row[1])) if row is not None else None
