"""Statistics figures kept per month and day (``stats_periods``): the same counts as counting every
report, kept while a period's reports do not change, a changed day counted again and its month summed
anew (also when a report moves to another month), and partial months at the ends of a period counted
directly; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from save_relay.cli.demo import add_incident, load_demo
from save_relay.core.clock import utcnow
from save_relay.core.context import NetworkRef
from save_relay.moderation.incident import set_incident_time
from save_relay.stats.collect import Stats, collect
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.stats_figures import Figures
from save_relay.store.tables import Report, StatsPeriod
from tests.conftest import make_settings

BRUSSELS = ZoneInfo("Europe/Brussels")

#: (UTC time, category, zone, status): January to March 2026, by hand.
REPORTS = [
    ((2026, 1, 5, 9, 0), "theft", "maatheide", "approved"),  # Mon 5/1 10:00 CET
    ((2026, 1, 31, 22, 30), "copper-theft", "maatheide", "approved"),  # Sat 31/1 23:30 CET
    ((2026, 1, 31, 23, 30), "copper-theft", "kolonel-dusart", "approved"),  # Sun 1/2 00:30 CET: February
    ((2026, 2, 14, 12, 0), "burglary", "kolonel-dusart", "pending"),  # Sat 14/2 13:00 CET
    ((2026, 2, 20, 12, 0), "burglary", "maatheide", "rejected"),  # rejected: not counted
    ((2026, 3, 2, 7, 0), "theft", "maatheide", "expired"),  # Mon 2/3 08:00 CET
]


@pytest.fixture
async def network_db(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[SessionFactory, NetworkRef]]:
    settings = make_settings(db_url, 25, tmp_path)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        network = (await sync_networks(session, settings))["industrie"]
        await load_demo(session, network.id, settings.demo.zones, settings.demo.subscribers)
        for n, (utc, category, zone, status) in enumerate(REPORTS):
            fields = {"status": status, "category": category, "zones": [zone]}
            await add_incident(session, network, n, datetime(*utc, tzinfo=UTC), **fields)
    yield sessions, network
    await engine.dispose()


async def _collect(sessions: SessionFactory, network: NetworkRef, **kwargs: object) -> Stats:
    async with sessions() as session, session.begin():
        return await collect(session, network, **kwargs)  # type: ignore[arg-type]


async def _age_reports(sessions: SessionFactory, hours: float = 1.0) -> None:
    """Make every report look unchanged for an hour (beyond the margin), so kept months stay kept."""
    async with sessions() as session, session.begin():
        await session.execute(update(Report).values(changed_at=utcnow() - timedelta(hours=hours)))


async def _kept(sessions: SessionFactory, network: NetworkRef) -> dict[str, Figures]:
    async with sessions() as session:
        rows = await session.scalars(select(StatsPeriod).where(StatsPeriod.network_id == network.id))
        return {row.period: Figures.from_json(row.figures) for row in rows}


def _month_totals(stats: Stats) -> dict[str, int]:
    totals: dict[str, int] = {}
    for month, _, n in stats.months:
        totals[month] = totals.get(month, 0) + n
    return totals


async def test_kept_months_give_the_counts_by_hand(network_db: tuple[SessionFactory, NetworkRef]) -> None:
    sessions, network = network_db
    stats = await _collect(sessions, network)
    assert stats.total == 5
    assert _month_totals(stats) == {"2026-01": 2, "2026-02": 2, "2026-03": 1}
    assert stats.categories == [("copper-theft", 2), ("theft", 2), ("burglary", 1)]
    assert dict(stats.zones) == {"maatheide": 3, "kolonel-dusart": 2}
    assert stats.weekday_hour[0][10] == 1 and stats.weekday_hour[5][23] == 1 and stats.weekday_hour[6][0] == 1
    assert stats.weekday_hour[5][13] == 1 and stats.weekday_hour[0][8] == 1
    kept = set(await _kept(sessions, network))
    assert {p for p in kept if len(p) == 7} == {"2026-01", "2026-02", "2026-03"}
    assert len([p for p in kept if len(p) == 10]) == 31 + 28 + 31  # every day, empty ones too
    # the same from the kept months, and narrowed to a category
    again = await _collect(sessions, network, category="copper-theft")
    assert again.total == 2 and _month_totals(again) == {"2026-01": 1, "2026-02": 1}


async def _tamper(sessions: SessionFactory, network: NetworkRef, period: str, factor: int) -> None:
    figures = (await _kept(sessions, network))[period]
    figures.cells = {key: n * factor for key, n in figures.cells.items()}
    async with sessions() as session, session.begin():
        await session.execute(
            update(StatsPeriod)
            .where(StatsPeriod.network_id == network.id, StatsPeriod.period == period)
            .values(figures=figures.to_json())
        )


async def test_kept_figures_are_used_until_one_of_their_reports_changes(
    network_db: tuple[SessionFactory, NetworkRef],
) -> None:
    sessions, network = network_db
    await _age_reports(sessions)
    assert (await _collect(sessions, network)).total == 5
    # Tamper with January's kept figures and with those of its 5th (one report): while January's reports
    # do not change, the month's kept figures are what counts.
    await _tamper(sessions, network, "2026-01", 10)
    await _tamper(sessions, network, "2026-01-05", 10)
    assert _month_totals(await _collect(sessions, network))["2026-01"] == 20
    # A moderator corrects the category of the report of 31 January: January is summed again from its
    # days, the 31st counted again from its reports, the 5th (unchanged) taken as kept.
    async with sessions() as session, session.begin():
        report = await session.scalar(select(Report).where(Report.reference == "DEMO-000002"))
        assert report is not None
        report.category = "burglary"
    stats = await _collect(sessions, network)
    assert _month_totals(stats)["2026-01"] == 10 + 1
    assert dict(stats.categories) == {"theft": 10 + 1, "copper-theft": 1, "burglary": 2}


async def test_a_report_moved_to_another_month_leaves_the_old_month(
    network_db: tuple[SessionFactory, NetworkRef],
) -> None:
    sessions, network = network_db
    await _age_reports(sessions)
    assert _month_totals(await _collect(sessions, network)) == {"2026-01": 2, "2026-02": 2, "2026-03": 1}
    async with sessions() as session, session.begin():
        report = await session.scalar(select(Report).where(Report.reference == "DEMO-000002"))
        assert report is not None and report.incident_month == "2026-01"
        set_incident_time(
            report, datetime(2026, 3, 10, 20, 0, tzinfo=BRUSSELS), "moderator", network.settings
        )
    assert _month_totals(await _collect(sessions, network)) == {"2026-01": 1, "2026-02": 2, "2026-03": 2}


async def test_partial_months_at_the_ends_of_a_period(network_db: tuple[SessionFactory, NetworkRef]) -> None:
    sessions, network = network_db
    await _age_reports(sessions)
    await _collect(sessions, network)  # every month kept
    # 15 January to 15 February, local midnights: two partial months, nothing whole
    stats = await _collect(
        sessions,
        network,
        start=datetime(2026, 1, 15, tzinfo=BRUSSELS),
        end=datetime(2026, 2, 15, tzinfo=BRUSSELS),
    )
    assert stats.total == 3 and _month_totals(stats) == {"2026-01": 1, "2026-02": 2}
    # 1 January to 1 March: whole months only; 6 January to 3 March: both ends partial, February whole
    whole = await _collect(
        sessions,
        network,
        start=datetime(2026, 1, 1, tzinfo=BRUSSELS),
        end=datetime(2026, 3, 1, tzinfo=BRUSSELS),
    )
    assert whole.total == 4
    ends = await _collect(
        sessions,
        network,
        start=datetime(2026, 1, 6, tzinfo=BRUSSELS),
        end=datetime(2026, 3, 3, tzinfo=BRUSSELS),
    )
    assert _month_totals(ends) == {"2026-01": 1, "2026-02": 2, "2026-03": 1}
    # within one month
    inside = await _collect(
        sessions,
        network,
        start=datetime(2026, 2, 2, tzinfo=BRUSSELS),
        end=datetime(2026, 2, 28, tzinfo=BRUSSELS),
    )
    assert inside.total == 1 and inside.categories == [("burglary", 1)]
