"""The radius search through latitude bands (``subscribers.lat_cell``), on both databases.

Points sit exactly on band edges (multiples of 0.01 degrees), one float step either side of them, and at
random; circles are smaller and larger than a band, centred on an edge or with an edge through their
rim. The search must find exactly what it finds without the bands, and what a plain haversine loop
finds (points within a millimetre of the rim are left to rounding).
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.geo import EARTH_RADIUS_M, haversine_m
from save_relay.store import canvass_targets as targeting
from save_relay.store.canvass_targets import Area, select_targets
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.latcell import lat_cell
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Subscriber, SubscriberAddress
from tests.conftest import make_settings

BAND_M = EARTH_RADIUS_M * math.pi / 180 / 100  # the north-south size of one band, about 1112 m
EDGES = [round(51.20 + k / 100, 2) for k in range(11)]  # 51.20 ... 51.30, each a band edge
CIRCLES = [
    ((51.25, 5.31), 500.0),  # centred on an edge, smaller than a band
    ((51.25, 5.31), BAND_M),  # its rim touches the edges 51.24 and 51.26 (due south and north)
    ((51.2537, 5.3044), 5_000.0),  # several bands
    ((51.2412, 5.3107), 1_500.0),  # the canvass tests' circle
    ((51.2651, 5.2899), 12_000.0),  # more than the whole test area
]


def _points() -> list[tuple[float, float]]:
    rng = random.Random(5)
    lons = [5.31, *(rng.uniform(5.22, 5.40) for _ in range(40))]
    points = [
        (lat, lon)
        for edge in EDGES
        for lat in (math.nextafter(edge, -math.inf), edge, math.nextafter(edge, math.inf))
        for lon in lons
    ]
    return points + [(rng.uniform(51.19, 51.31), rng.uniform(5.22, 5.40)) for _ in range(1_500)]


@pytest.fixture
async def located(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[SessionFactory, int, list[int]]]:
    """A network whose subscribers stand at ``_points()``, one address each; their ids in that order."""
    engine = create_engine(db_url)
    factory = session_factory(engine)
    async with factory() as session, session.begin():
        network_id = (await sync_networks(session, make_settings(db_url, 2525, tmp_path)))["industrie"].id
        rows = [
            {"network_id": network_id, "company": f"S{i:05d}", "latitude": lat, "longitude": lon}
            for i, (lat, lon) in enumerate(_points())
        ]
        await session.execute(insert(Subscriber), rows)
        ids = list(await session.scalars(select(Subscriber.id).order_by(Subscriber.company)))
        await session.execute(
            insert(SubscriberAddress), [{"subscriber_id": i, "address": f"s{i}@example.org"} for i in ids]
        )
    yield factory, network_id, ids
    await engine.dispose()


async def test_the_database_puts_each_point_in_the_band_python_expects(
    located: tuple[SessionFactory, int, list[int]],
) -> None:
    factory, _, _ = located
    async with factory() as session:
        rows = (await session.execute(select(Subscriber.latitude, Subscriber.lat_cell))).all()
    assert len(rows) == len(_points())
    assert [cell for _, cell in rows] == [lat_cell(lat) for lat, _ in rows if lat is not None]


@pytest.mark.parametrize(("centre", "radius"), CIRCLES)
async def test_the_bands_change_nothing_in_the_result(
    located: tuple[SessionFactory, int, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    centre: tuple[float, float],
    radius: float,
) -> None:
    factory, network_id, ids = located
    async with factory() as session:
        with_bands = await select_targets(session, network_id, Area(point=centre, radius_m=radius))
    monkeypatch.setattr(targeting, "lat_cells", lambda *_: None)  # the latitude range alone
    async with factory() as session:
        without = await select_targets(session, network_id, Area(point=centre, radius_m=radius))
    assert with_bands == without
    found = {t.subscriber_id for t in with_bands}
    for subscriber_id, (lat, lon) in zip(ids, _points(), strict=True):
        distance = haversine_m(*centre, lat, lon)
        if abs(distance - radius) > 1e-3:
            assert (subscriber_id in found) == (distance < radius), (lat, lon, distance)
    assert len(found) > 0


async def test_a_moved_subscriber_changes_band(located: tuple[SessionFactory, int, list[int]]) -> None:
    factory, network_id, ids = located
    async with factory() as session, session.begin():
        await session.execute(update(Subscriber).where(Subscriber.id == ids[0]).values(latitude=50.9))
        await session.execute(update(Subscriber).where(Subscriber.id == ids[1]).values(latitude=None))
    async with factory() as session:
        cells = {i: c for i, c in (await session.execute(select(Subscriber.id, Subscriber.lat_cell))).all()}
        near = await select_targets(session, network_id, Area(point=(50.9, 5.31), radius_m=100))
    assert (cells[ids[0]], cells[ids[1]]) == (lat_cell(50.9), None)
    assert [t.subscriber_id for t in near] == [ids[0]]


async def test_sqlite_walks_the_band_index(
    located: tuple[SessionFactory, int, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, network_id, _ = located
    real, captured = targeting._rows, []

    async def rows(session: AsyncSession, query: targeting._Query) -> list[targeting._Columns]:
        captured.append(query)
        return await real(session, query)

    monkeypatch.setattr(targeting, "_rows", rows)
    async with factory() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the plan is SQLite's; PostgreSQL picks by its statistics")
        await select_targets(session, network_id, Area(point=(51.25, 5.31), radius_m=2000))
        sql = captured[0].compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
        plan = " ".join(row[3] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_subscribers_lat_cell (network_id=? AND lat_cell=? AND longitude>? AND longitude<?)" in plan
