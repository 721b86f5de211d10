"""Statistics queries: reports counted by category, zone, weekday and hour, month and company.

Each breakdown is one ``GROUP BY`` in the database over the reports a filter selects (never a row loop
in Python): the incident's weekday, hour and month on the network's clock are columns of the report
(written with the incident time, see ``core.clock.local_parts``), so the counts are the same on SQLite
(no time zones) and PostgreSQL, and right across daylight saving changes. Exercises are left out, and
so are reports that were no incident (discarded automatic mail, shunted, rejected, withdrawn).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    cast,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias

from save_relay.core.clock import as_utc, local_parts
from save_relay.core.states import ReportStatus
from save_relay.store.tables import Canvass, CanvassRecipient, Distribution, Report, Subscriber

COUNTED = (ReportStatus.PENDING, ReportStatus.APPROVED, ReportStatus.EXPIRED)


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """Which reports: one network, incident time in [start, end), optionally one zone and category."""

    network_id: int
    start: datetime | None = None
    end: datetime | None = None
    zone: str | None = None
    category: str | None = None


def _utc(value: datetime) -> datetime:
    """A bound in UTC: SQLite compares the stored (UTC, offset-less) text, so a local time would be off."""
    return as_utc(value).astimezone(UTC)


def _zones_of(dialect: str) -> TableValuedAlias:
    """Each zone slug of ``reports.zones`` as a table (column ``value``), in the database's JSON dialect."""
    if dialect == "postgresql":
        return func.json_array_elements_text(Report.zones).table_valued("value").alias("z")
    return func.json_each(Report.zones).table_valued("value").alias("z")


def _where(filt: StatsFilter, dialect: str, statuses: Sequence[str] = COUNTED) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Report.network_id == filt.network_id,
        Report.status.in_(list(statuses)),
        Report.exercise.is_(False),
    ]
    if filt.start is not None:
        conditions.append(Report.incident_at >= _utc(filt.start))
    if filt.end is not None:
        conditions.append(Report.incident_at < _utc(filt.end))
    if filt.category is not None:
        conditions.append(Report.category == filt.category)
    if filt.zone is not None:
        zones = _zones_of(dialect)
        conditions.append(
            exists(select(literal_column("1")).select_from(zones).where(zones.c.value == filt.zone))
        )
    return conditions


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _pairs(session: AsyncSession, query: Select[str, int]) -> list[tuple[str, int]]:
    return [(str(key), int(count)) for key, count in (await session.execute(query)).all()]


async def total(session: AsyncSession, filt: StatsFilter) -> int:
    query = select(func.count()).select_from(Report).where(*_where(filt, _dialect(session)))
    return int(await session.scalar(query) or 0)


async def by_category(session: AsyncSession, filt: StatsFilter) -> list[tuple[str, int]]:
    query = (
        select(Report.category, func.count())
        .where(*_where(filt, _dialect(session)))
        .group_by(Report.category)
        .order_by(func.count().desc(), Report.category)
    )
    return await _pairs(session, query)


async def by_zone(session: AsyncSession, filt: StatsFilter) -> list[tuple[str, int]]:
    """Reports per zone, most first. Grouped by the zone list as text, then split here: a few
    thousand distinct lists instead of a JSON table function on every row (3x faster on SQLite)."""
    zones_text = cast(Report.zones, Text)
    query = select(zones_text, func.count()).where(*_where(filt, _dialect(session))).group_by(zones_text)
    counts: dict[str, int] = {}
    for text, count in (await session.execute(query)).all():
        for slug in json.loads(text or "[]"):
            counts[str(slug)] = counts.get(str(slug), 0) + int(count)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


async def cube(session: AsyncSession, filt: StatsFilter) -> list[tuple[str, str, int, int, int]]:
    """(category, month, weekday, hour, reports): one scan from which the total and the breakdowns by
    category, weekday x hour and month are summed (``stats.collect``) instead of a scan each."""
    query = (
        select(
            Report.category,
            Report.incident_month,
            Report.incident_weekday,
            Report.incident_hour,
            func.count(),
        )
        .where(*_where(filt, _dialect(session)), Report.incident_weekday.is_not(None))
        .group_by(Report.category, Report.incident_month, Report.incident_weekday, Report.incident_hour)
    )
    rows = (await session.execute(query)).all()
    return [(str(c), str(m), int(d or 0), int(h or 0), int(n)) for c, m, d, h, n in rows]


async def by_weekday_hour(session: AsyncSession, filt: StatsFilter) -> dict[tuple[int, int], int]:
    """(weekday with Monday 0, hour) -> reports, on the network's clock."""
    query = (
        select(Report.incident_weekday, Report.incident_hour, func.count())
        .where(*_where(filt, _dialect(session)), Report.incident_weekday.is_not(None))
        .group_by(Report.incident_weekday, Report.incident_hour)
    )
    rows = (await session.execute(query)).all()
    return {(int(day or 0), int(hour or 0)): int(count) for day, hour, count in rows}


async def by_month(session: AsyncSession, filt: StatsFilter) -> list[tuple[str, str, int]]:
    """(month "YYYY-MM", category, reports), months in order: the trend per category."""
    query = (
        select(Report.incident_month, Report.category, func.count())
        .where(*_where(filt, _dialect(session)), Report.incident_month.is_not(None))
        .group_by(Report.incident_month, Report.category)
        .order_by(Report.incident_month, Report.category)
    )
    return [(str(m), str(c), int(n)) for m, c, n in (await session.execute(query)).all()]


async def by_company(session: AsyncSession, filt: StatsFilter, limit: int = 50) -> list[tuple[str, int]]:
    """Reports per reporting company (per site), most first."""
    query = (
        select(Subscriber.company, func.count())
        .select_from(Report)
        .join(Subscriber, Subscriber.id == Report.subscriber_id)
        .where(*_where(filt, _dialect(session)))
        .group_by(Subscriber.company)
        .order_by(func.count().desc(), Subscriber.company)
        .limit(limit)
    )
    return await _pairs(session, query)


async def decision_hours(session: AsyncSession, filt: StatsFilter) -> dict[int, int]:
    """Decided reports by whole hours from received to decided (a histogram: percentiles from it)."""
    dialect = _dialect(session)
    hours: ColumnElement[Any]
    if dialect == "postgresql":
        hours = func.floor(func.extract("epoch", Report.decided_at - Report.received_at) / 3600)
    else:
        hours = (func.julianday(Report.decided_at) - func.julianday(Report.received_at)) * 24
    bucket = cast(hours, Integer)
    decided = (ReportStatus.APPROVED, ReportStatus.REJECTED)
    query = (
        select(bucket, func.count())
        .where(*_where(filt, dialect, decided), Report.decided_at.is_not(None))
        .group_by(bucket)
    )
    return {int(h or 0): int(n) for h, n in (await session.execute(query)).all()}


async def distributions(session: AsyncSession, filt: StatsFilter) -> tuple[int, int]:
    """(distributions, recipients) of the selected reports."""
    query = (
        select(func.count(Distribution.id), func.coalesce(func.sum(Distribution.recipients), 0))
        .join(Report, Report.id == Distribution.report_id)
        .where(*_where(filt, _dialect(session)))
    )
    count, recipients = (await session.execute(query)).one()
    return int(count), int(recipients)


async def canvass_responses(
    session: AsyncSession, network_id: int, start: datetime | None, end: datetime | None
) -> list[tuple[int, str, int, int]]:
    """(canvass id, title, recipients, answered) of the canvasses sent in the period."""
    conditions = [Canvass.network_id == network_id, Canvass.sent_at.is_not(None)]
    if start is not None:
        conditions.append(Canvass.sent_at >= _utc(start))
    if end is not None:
        conditions.append(Canvass.sent_at < _utc(end))
    query = (
        select(
            Canvass.id,
            Canvass.title,
            func.count(CanvassRecipient.id),
            func.count(CanvassRecipient.responded_at),
        )
        .outerjoin(CanvassRecipient, CanvassRecipient.canvass_id == Canvass.id)
        .where(and_(*conditions))
        .group_by(Canvass.id, Canvass.title)
        .order_by(Canvass.id)
    )
    return [(int(i), str(t), int(r), int(a)) for i, t, r, a in (await session.execute(query)).all()]


async def _rewrite_local_times(
    session: AsyncSession, condition: ColumnElement[bool], zone: ZoneInfo, batch: int
) -> int:
    """Write the local weekday, hour and month of the reports ``condition`` selects, in id order and in
    batches (one bulk UPDATE by primary key each); returns how many rows changed."""
    done, last = 0, 0
    while True:
        rows = (
            await session.execute(
                select(
                    Report.id,
                    Report.incident_at,
                    Report.received_at,
                    Report.incident_weekday,
                    Report.incident_hour,
                    Report.incident_month,
                )
                .where(condition, Report.id > last)
                .order_by(Report.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return done
        changes = []
        for report_id, incident_at, received_at, *stored in rows:
            parts = local_parts(incident_at or received_at, zone)
            if tuple(stored) != parts:
                weekday, hour, month = parts
                changes.append(
                    {
                        "id": report_id,
                        "incident_at": incident_at or received_at,
                        "incident_weekday": weekday,
                        "incident_hour": hour,
                        "incident_month": month,
                    }
                )
        if changes:
            await session.execute(update(Report), changes)
        done += len(changes)
        last = rows[-1][0]


async def local_times_stale(
    session: AsyncSession, network_id: int, zone: ZoneInfo, sample: int = 200
) -> bool:
    """Whether the newest reports' stored weekday/hour differ from the network's clock now: its time
    zone was changed in the settings (a zone with the same offsets changes nothing, and needs nothing)."""
    rows = (
        await session.execute(
            select(Report.incident_at, Report.incident_weekday, Report.incident_hour, Report.incident_month)
            .where(Report.network_id == network_id, Report.incident_weekday.is_not(None))
            .order_by(Report.id.desc())
            .limit(sample)
        )
    ).all()
    return any(at is not None and local_parts(at, zone) != (d, h, m) for at, d, h, m in rows)


async def fill_local_times(session: AsyncSession, network_id: int, timezone: str, batch: int = 5000) -> int:
    """Write the local weekday, hour and month where they are missing (reports from before migration
    0008), or of every report when the time zone changed (``local_times_stale``); returns how many.
    Cheap when there is nothing to do: one indexed probe and a sample of the newest reports."""
    zone = ZoneInfo(timezone)
    if await local_times_stale(session, network_id, zone):
        return await _rewrite_local_times(session, Report.network_id == network_id, zone, batch)
    missing = and_(Report.network_id == network_id, Report.incident_weekday.is_(None))
    if await session.scalar(select(Report.id).where(missing).limit(1)) is None:
        return 0
    return await _rewrite_local_times(session, missing, zone, batch)
