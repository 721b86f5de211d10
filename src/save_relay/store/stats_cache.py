"""Statistics figures kept per month and per day (``stats_periods``): a year without reading a year.

A month's figures are the sum of its days'; each is kept with the time its computation started and
stays current while none of its reports changed after that time less ``MARGIN``
(``reports.changed_at``): a transaction still open while the period was read commits rows stamped
earlier, by its own node's clock; ten minutes covers any transaction here and the clock differences
between nodes. One seek per month finds whether any of its reports changed; for a month that did, the
changed reports name their days, only those days are counted again from their reports (a day's, not
a month's or a year's), and the month is summed from its days anew. A report whose incident time moves
takes its old and new months with it (``tables.stats``, a flush event); a time zone change drops all
(``stats.fill_local_times``).

The days at either end of a period that are not whole months are counted directly, and so is a zone
filter (one zone's reports).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.store.stats import StatsFilter
from save_relay.store.stats_figures import Figures, figures, figures_by_day
from save_relay.store.tables import Report, StatsPeriod

MARGIN = timedelta(minutes=10)
#: up to this many changed days of a month are counted one by one (an index range each), more in
#: one pass over the month grouped by day
FEW_DAYS = 3


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` ("YYYY-MM"), both included."""
    out = [first]
    while out[-1] < last:
        out.append(_shift(out[-1], 1))
    return out


def _month_start(month: str, zone: ZoneInfo) -> datetime:
    return datetime(int(month[:4]), int(month[5:]), 1, tzinfo=zone)


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _is_month_start(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return (local.day, local.hour, local.minute, local.second, local.microsecond) == (1, 0, 0, 0, 0)


def _day_bounds(day: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(int(day[:4]), int(day[5:7]), int(day[8:]), tzinfo=zone)
    following = (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
    return start, following


def _days_of(month: str, zone: ZoneInfo) -> list[str]:
    first = _month_start(month, zone)
    following = _month_start(_shift(month, 1), zone)
    count = (following.replace(tzinfo=None) - first.replace(tzinfo=None)).days
    return [f"{month}-{day:02d}" for day in range(1, count + 1)]


async def _kept(session: AsyncSession, network_id: int, periods: list[str]) -> dict[str, StatsPeriod]:
    query = select(StatsPeriod).where(StatsPeriod.network_id == network_id, StatsPeriod.period.in_(periods))
    return {row.period: row for row in (await session.execute(query)).scalars()}


async def _changed(
    session: AsyncSession, network_id: int, month: str, since: datetime
) -> list[tuple[datetime | None, datetime, datetime | None]]:
    """(incident at, received at, changed at) of the month's reports changed after ``since``: a seek
    on the month index, then the few rows it finds."""
    query = select(Report.incident_at, Report.received_at, Report.changed_at).where(
        *_changed_after(network_id, month, since)
    )
    return [
        (incident, received, changed) for incident, received, changed in (await session.execute(query)).all()
    ]


async def _keep(session: AsyncSession, network_id: int, period: str, started: datetime, got: Figures) -> None:
    """Keep a period's figures; of two nodes computing it at once, the later start wins."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(StatsPeriod).values(
        network_id=network_id, period=period, computed_at=started, figures=got.to_json()
    )
    statement = statement.on_conflict_do_update(
        index_elements=[StatsPeriod.network_id, StatsPeriod.period],
        set_={"computed_at": statement.excluded.computed_at, "figures": statement.excluded.figures},
        where=StatsPeriod.computed_at < statement.excluded.computed_at,
    )
    await session.execute(statement)


async def _month_from_days(session: AsyncSession, network_id: int, month: str, zone: ZoneInfo) -> Figures:
    """A month summed from its days, the days counted again where one of their reports changed."""
    started = utcnow()
    days = _days_of(month, zone)
    kept = await _kept(session, network_id, days)
    stale = {day for day in days if day not in kept}
    if len(stale) < len(days):
        oldest = min(as_utc(row.computed_at) for row in kept.values())
        for incident_at, received_at, changed_at in await _changed(
            session, network_id, month, oldest - MARGIN
        ):
            day = as_utc(incident_at or received_at).astimezone(zone).strftime("%Y-%m-%d")
            row = kept.get(day)
            if row is None or changed_at is None or as_utc(changed_at) > as_utc(row.computed_at) - MARGIN:
                stale.add(day)
    total = Figures()
    if len(stale) > FEW_DAYS:  # one pass over the month gives every day
        counted = await figures_by_day(session, StatsFilter(network_id), Report.incident_month == month)
        for day in days:
            found = counted.get(int(day[8:]), Figures())
            if day in stale:
                await _keep(session, network_id, day, started, found)
            else:
                found = Figures.from_json(kept[day].figures)  # unchanged: the same as counted
            total.add(found)
    else:
        for day in days:
            if day in stale:
                start, end = _day_bounds(day, zone)
                found = await figures(session, StatsFilter(network_id, start, end))
                await _keep(session, network_id, day, started, found)
            else:
                found = Figures.from_json(kept[day].figures)
            total.add(found)
    await _keep(session, network_id, month, started, total)
    return total


async def month_figures(session: AsyncSession, network_id: int, months: list[str], timezone: str) -> Figures:
    """The figures of whole months: kept ones where none of their reports changed, the others summed
    from their days."""
    zone = ZoneInfo(timezone)
    kept = await _kept(session, network_id, months)
    total = Figures()
    for month in months:
        row = kept.get(month)
        if row is not None and not await _changed_since(session, network_id, month, row.computed_at - MARGIN):
            total.add(Figures.from_json(row.figures))
        else:
            total.add(await _month_from_days(session, network_id, month, zone))
    return total


async def _changed_since(session: AsyncSession, network_id: int, month: str, since: datetime) -> bool:
    query = select(Report.id).where(*_changed_after(network_id, month, since))
    return await session.scalar(query.limit(1)) is not None


def _changed_after(network_id: int, month: str, since: datetime) -> tuple[ColumnElement[bool], ...]:
    """The month's reports changed after ``since``: what ``ix_reports_month_changed`` answers."""
    return (Report.network_id == network_id, Report.incident_month == month, Report.changed_at > since)


async def _month_span(session: AsyncSession, network_id: int) -> tuple[str | None, str | None]:
    """The first and last month with a report (two seeks on the month index)."""
    query = select(func.min(Report.incident_month), func.max(Report.incident_month))
    first, last = (await session.execute(query.where(Report.network_id == network_id))).one()
    return first, last


async def period_figures(session: AsyncSession, filt: StatsFilter, timezone: str) -> Figures:
    """The figures of the reports ``filt`` selects, narrowed to ``filt.category``: whole months from
    ``stats_months``, the partial months at either end of the period and zone filters counted directly."""
    if filt.zone is not None:
        return (await figures(session, filt)).only(filt.category)
    zone = ZoneInfo(timezone)
    first, last = await _month_span(session, filt.network_id)
    if first is None or last is None:
        return Figures()
    start, end, network_id = filt.start, filt.end, filt.network_id
    total = Figures()
    if start is not None and end is not None and start >= end:
        return total
    if start is not None and not _is_month_start(start, zone):  # the partial first month
        head_end = _month_start(_shift(month_of(start, zone), 1), zone)
        if end is not None and end <= head_end:  # the period lies within one month
            return (await figures(session, StatsFilter(network_id, start, end))).only(filt.category)
        total.add(await figures(session, StatsFilter(network_id, start, head_end)))
        start = head_end
    if end is not None and not _is_month_start(end, zone):  # the partial last month
        tail_start = _month_start(month_of(end, zone), zone)
        total.add(await figures(session, StatsFilter(network_id, tail_start, end)))
        end = tail_start
    if start is not None:
        first = max(first, month_of(start, zone))
    if end is not None:
        last = min(last, _shift(month_of(end, zone), -1))
    if first <= last:
        total.add(await month_figures(session, network_id, months_between(first, last), timezone))
    return total.only(filt.category)
