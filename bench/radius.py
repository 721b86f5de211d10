"""radius-1m and zones-1m: recipient selection among 1,000,000 generated subscribers (SQLite, and
PostgreSQL in a scratch database when configured).

Setup (once, not timed): a migrated SQLite database, 1,000,000 subscribers with one active address
each, spread uniformly over ``REGION`` (about 111 x 139 km), bulk-inserted with ``sqlite3``
``executemany`` (PostgreSQL: asyncpg ``COPY``, then ``ANALYZE``), and 200 seeded star-shaped zones
(12 vertices, radius 1-5 km) stored like ``zones import`` stores them.

- **radius**: ``canvass.targeting.select_targets`` with a point and ``RADIUS_M`` (the bounding-box query
  on ``ix_subscribers_lat_cell``, one longitude range per latitude band, then exact haversine), at
  ``QUERIES`` seeded centres per run.
  Baseline: a naive Python loop over all 1,000,000 points in memory with ``geo.haversine_m``
  (``NAIVE_QUERIES`` centres per run). Both must find the same subscribers.
- **zones**: ``membership.zones.recompute_zones`` for all 200 zones in one transaction (read every
  located subscriber, ``ZoneIndex.members``, write the computed memberships), and
  ``ZoneIndex.memberships`` alone on the 1,000,000 points. The memberships are deleted before each
  run (not timed), so that every run writes all of them: the recompute writes only what changed.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import random
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from bench import generate
from bench.intake import relay_settings, scratch_postgres
from save_relay.core.geo import ZoneIndex, ZoneShape, haversine_m, load_zones
from save_relay.membership.zones import recompute_zones
from save_relay.store import zones as zone_store
from save_relay.store.canvass_targets import Area, select_targets
from save_relay.store.db import create_engine, session_factory
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks
from save_relay.store.tables import ZoneMembership

SUBSCRIBERS = 1_000_000
ZONES = 200
RADIUS_M = 2_000.0
QUERIES = 20
NAIVE_QUERIES = 1  # each takes about 0.7 s; three runs give the median
REGION = (50.5, 51.5, 4.0, 6.0)  # min lat, max lat, min lon, max lon
KM_PER_DEGREE = 111.32


@dataclass(slots=True)
class SelectionRun:
    radius_ms: list[float] = field(default_factory=list)  # select_targets, per query
    naive_ms: list[float] = field(default_factory=list)  # the Python loop, per query
    found: list[int] = field(default_factory=list)  # targets per radius query
    recompute_s: float = 0.0  # recompute_zones, all 200 zones, incl. commit
    memberships_s: float = 0.0  # ZoneIndex.memberships alone
    member_rows: int = 0


@functools.cache
def points(n: int = SUBSCRIBERS, seed: int = 7) -> list[tuple[float, float]]:
    """The subscribers' seeded positions (made once: SQLite and PostgreSQL get the same; do not modify)."""
    rng = random.Random(seed)
    lat0, lat1, lon0, lon1 = REGION
    return [(rng.uniform(lat0, lat1), rng.uniform(lon0, lon1)) for _ in range(n)]


def zone_collection(n: int = ZONES, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    lat0, lat1, lon0, lon1 = REGION
    features = []
    for z in range(n):
        lat, lon = rng.uniform(lat0, lat1), rng.uniform(lon0, lon1)
        radius_km = rng.uniform(1.0, 5.0)
        ring = []
        for k in range(12):
            angle = 2 * math.pi * (k + rng.uniform(-0.3, 0.3)) / 12
            r = radius_km * rng.uniform(0.6, 1.0)
            ring.append(
                [
                    lon + r * math.cos(angle) / (KM_PER_DEGREE * math.cos(math.radians(lat))),
                    lat + r * math.sin(angle) / KM_PER_DEGREE,
                ]
            )
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "slug": f"zone-{z:03d}",
                    "name": f"Zone {z}",
                    "kind": "municipality",
                    "parent": None,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def naive(pts: list[tuple[float, float]], lat: float, lon: float, radius_m: float) -> list[int]:
    return [i for i, (plat, plon) in enumerate(pts) if haversine_m(lat, lon, plat, plon) <= radius_m]


class Selection:
    """The 1,000,000-subscriber database, built once; ``run_once`` times the queries on it."""

    def __init__(self, postgres_url: str | None = None) -> None:
        """``postgres_url``: a server on which to create (and drop) a scratch database; None: SQLite."""
        self._tmp = tempfile.TemporaryDirectory(prefix="save-relay-bench-")
        self._stack = contextlib.AsyncExitStack()
        self.postgres_url = postgres_url
        self.path = Path(self._tmp.name) / "relay.sqlite3"
        self.url = f"sqlite+aiosqlite:///{self.path}"
        self.points = points()
        self.shapes: list[ZoneShape] = load_zones(zone_collection())
        self.network_id = 0
        self.first_id = 0
        self.setup_seconds = 0.0

    async def setup(self) -> None:
        started = time.monotonic()
        if self.postgres_url is not None:
            self.url = await self._stack.enter_async_context(scratch_postgres(self.postgres_url))
        engine = create_engine(self.url)
        try:
            await upgrade(engine)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                networks = await sync_networks(session, relay_settings(self.url, Path(self._tmp.name), 25))
                self.network_id = networks["industrie"].id
                await generate.load(session, self.network_id, 1)  # one row made by SQLAlchemy: its formats
        finally:
            await engine.dispose()
        if self.postgres_url is not None:
            await self._copy_postgres()
        else:
            self._insert_sqlite()
        engine = create_engine(self.url)
        try:
            async with session_factory(engine)() as session, session.begin():
                for shape in self.shapes:
                    await zone_store.add(session, self.network_id, shape)
        finally:
            await engine.dispose()
        self.setup_seconds = time.monotonic() - started
        # The 1,000,000 points kept for the naive baseline are millions of tracked objects: the first
        # full collection after setup landed in the first timed query (+200 to +800 ms under load).
        # Collect now and leave them out of later collections; a relay holds no such list.
        gc.collect()
        gc.freeze()

    async def _copy_postgres(self) -> None:
        import asyncpg

        from bench.intake import _dsn

        db = await asyncpg.connect(_dsn(self.url))
        try:
            first, created = await db.fetchrow("SELECT id, created_at FROM subscribers")
            await db.execute(
                "DELETE FROM zone_memberships; DELETE FROM subscriber_addresses; DELETE FROM subscribers"
            )
            self.first_id = first
            await db.copy_records_to_table(
                "subscribers",
                columns=[
                    *("id", "network_id", "company", "contact", "street"),
                    *("latitude", "longitude", "enabled", "created_at"),
                ],
                records=[
                    (first + i, self.network_id, f"Bedrijf {i:07d}", "", "", lat, lon, True, created)
                    for i, (lat, lon) in enumerate(self.points)
                ],
            )
            await db.copy_records_to_table(
                "subscriber_addresses",
                columns=["subscriber_id", "address", "status", "bounce_score", "changed_at"],
                records=[
                    (first + i, generate.address(i), "active", 0.0, created) for i in range(len(self.points))
                ],
            )
            await db.execute("ANALYZE subscribers; ANALYZE subscriber_addresses")
        finally:
            await db.close()

    def _insert_sqlite(self) -> None:
        with sqlite3.connect(self.path) as db:
            first, created = db.execute("SELECT id, created_at FROM subscribers").fetchone()
            db.execute("DELETE FROM zone_memberships")
            db.execute("DELETE FROM subscriber_addresses")
            db.execute("DELETE FROM subscribers")
            self.first_id = first
            db.executemany(
                "INSERT INTO subscribers (id, network_id, company, contact, street, latitude, longitude,"
                " enabled, created_at) VALUES (?, ?, ?, '', '', ?, ?, 1, ?)",
                (
                    (first + i, self.network_id, f"Bedrijf {i:07d}", lat, lon, created)
                    for i, (lat, lon) in enumerate(self.points)
                ),
            )
            db.executemany(
                "INSERT INTO subscriber_addresses (subscriber_id, address, status, bounce_score, changed_at)"
                " VALUES (?, ?, 'active', 0.0, ?)",
                ((first + i, generate.address(i), created) for i in range(len(self.points))),
            )
        db.close()

    async def run_once(self, seed: int) -> SelectionRun:
        rng = random.Random(seed)
        lat0, lat1, lon0, lon1 = REGION
        centres = [
            (rng.uniform(lat0 + 0.1, lat1 - 0.1), rng.uniform(lon0 + 0.1, lon1 - 0.1)) for _ in range(QUERIES)
        ]
        run = SelectionRun()
        engine = create_engine(self.url)
        sessions = session_factory(engine)
        try:
            for k, (lat, lon) in enumerate(centres):
                async with sessions() as session:
                    t0 = time.perf_counter()
                    targets = await select_targets(
                        session, self.network_id, Area(point=(lat, lon), radius_m=RADIUS_M)
                    )
                    run.radius_ms.append(1000 * (time.perf_counter() - t0))
                run.found.append(len(targets))
                if k < NAIVE_QUERIES:
                    t0 = time.perf_counter()
                    expected = naive(self.points, lat, lon, RADIUS_M)
                    run.naive_ms.append(1000 * (time.perf_counter() - t0))
                    got = sorted(t.subscriber_id - self.first_id for t in targets)
                    if got != expected:
                        raise AssertionError(f"radius query found {len(got)}, the naive loop {len(expected)}")
            async with sessions() as session, session.begin():
                await session.execute(delete(ZoneMembership))
            t0 = time.perf_counter()
            async with sessions() as session, session.begin():
                counts = await recompute_zones(session, self.network_id, self.shapes)
            run.recompute_s = time.perf_counter() - t0
            async with sessions() as session:
                rows = await session.scalar(select(func.count()).select_from(ZoneMembership))
            run.member_rows = int(rows or 0)
            t0 = time.perf_counter()
            hits = ZoneIndex(self.shapes).memberships(self.points)
            run.memberships_s = time.perf_counter() - t0
            if run.member_rows != sum(counts.values()) or run.member_rows != sum(len(h) for h in hits):
                raise AssertionError(f"{run.member_rows} membership rows, {sum(counts.values())} computed")
        finally:
            await engine.dispose()
        return run

    async def close(self) -> None:
        gc.unfreeze()
        await self._stack.aclose()
        self._tmp.cleanup()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)
