"""Statistics queries: which reports count (``where``), a few direct breakdowns, local times.

Each breakdown is a ``GROUP BY`` in the database over the reports a filter selects (never a row loop
in Python; ``stats_figures`` computes them all at once, ``stats_cache`` keeps them per month). The
incident's weekday, hour and month on the network's clock are columns of the report (written with the
incident time, see ``core.clock.local_parts``), so the counts are the same on SQLite (no time zones)
and PostgreSQL, and right across daylight saving changes. Exercises are left out, and so are reports
that were no incident (discarded automatic mail, shunted, rejected, withdrawn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias

from save_relay.core.clock import as_utc, local_parts
from save_relay.core.states import ReportStatus
from save_relay.store.tables import Canvass, CanvassRecipient, Report, StatsPeriod

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


def where(filt: StatsFilter, dialect: str, statuses: Sequence[str] = COUNTED) -> list[ColumnElement[bool]]:
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


async def by_category(session: AsyncSession, filt: StatsFilter) -> list[tuple[str, int]]:
    query = (
        select(Report.category, func.count())
        .where(*where(filt, _dialect(session)))
        .group_by(Report.category)
        .order_by(func.count().desc(), Report.category)
    )
    return await _pairs(session, query)


async def by_weekday_hour(session: AsyncSession, filt: StatsFilter) -> dict[tuple[int, int], int]:
    """(weekday with Monday 0, hour) -> reports, on the network's clock."""
    query = (
        select(Report.incident_weekday, Report.incident_hour, func.count())
        .where(*where(filt, _dialect(session)), Report.incident_weekday.is_not(None))
        .group_by(Report.incident_weekday, Report.incident_hour)
    )
    rows = (await session.execute(query)).all()
    return {(int(day or 0), int(hour or 0)): int(count) for day, hour, count in rows}


async def by_month(session: AsyncSession, filt: StatsFilter) -> list[tuple[str, str, int]]:
    """(month "YYYY-MM", category, reports), months in order: the trend per category."""
    query = (
        select(Report.incident_month, Report.category, func.count())
        .where(*where(filt, _dialect(session)), Report.incident_month.is_not(None))
        .group_by(Report.incident_month, Report.category)
        .order_by(Report.incident_month, Report.category)
    )
    return [(str(m), str(c), int(n)) for m, c, n in (await session.execute(query)).all()]


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
                    Report.incident_day,
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
                weekday, hour, month, day = parts
                changes.append(
                    {
                        "id": report_id,
                        "incident_at": incident_at or received_at,
                        "incident_weekday": weekday,
                        "incident_hour": hour,
                        "incident_month": month,
                        "incident_day": day,
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
            select(
                Report.incident_at,
                Report.incident_weekday,
                Report.incident_hour,
                Report.incident_month,
                Report.incident_day,
            )
            .where(Report.network_id == network_id, Report.incident_weekday.is_not(None))
            .order_by(Report.id.desc())
            .limit(sample)
        )
    ).all()
    return any(at is not None and local_parts(at, zone)[:3] != (d, h, m) for at, d, h, m, _ in rows)


async def fill_local_times(session: AsyncSession, network_id: int, timezone: str, batch: int = 5000) -> int:
    """Write the local weekday, hour, month and day where they are missing (reports from before
    migrations 0008 and 0018), or of every report when the time zone changed (``local_times_stale``);
    returns how many. Cheap when there is nothing to do: one probe and a sample of the newest reports."""
    zone = ZoneInfo(timezone)
    if await local_times_stale(session, network_id, zone):
        condition = Report.network_id == network_id
    else:
        missing = or_(Report.incident_weekday.is_(None), Report.incident_day.is_(None))
        condition = and_(Report.network_id == network_id, missing)
        if await session.scalar(select(Report.id).where(condition).limit(1)) is None:
            return 0
    done = await _rewrite_local_times(session, condition, zone, batch)
    if done:  # reports moved between months: the kept figures of every month go
        await session.execute(delete(StatsPeriod).where(StatsPeriod.network_id == network_id))
    return done
