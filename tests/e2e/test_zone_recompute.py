"""A zone recompute with tens of thousands of members, on both databases: only the difference is
written (deletes in chunks of ``IN`` values), manual rows stay, the rows equal what the polygons say."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, insert, select

from save_relay.membership.zones import import_zones
from save_relay.store.db import create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Subscriber, Zone, ZoneMembership
from tests.conftest import make_settings

SIDE = 150  # a 150 x 150 grid of subscribers, 0.001 degrees apart: 22,500 (more than two IN chunks)


def _zones(east: float) -> str:
    """One square zone from the grid's south-west corner to longitude ``east``."""
    ring = [[5.0, 51.0], [east, 51.0], [east, 51.2], [5.0, 51.2], [5.0, 51.0]]
    feature = {
        "type": "Feature",
        "properties": {"slug": "park", "name": "Park", "kind": "industrial-park", "parent": None},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]})


async def test_a_shrinking_zone_loses_exactly_the_members_outside(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            network_id = (await sync_networks(session, make_settings(db_url, 25, tmp_path)))["industrie"].id
            rows = [
                {
                    "network_id": network_id,
                    "company": f"S{i}-{j}",
                    "latitude": round(51.0 + i / 1000, 3),
                    "longitude": round(5.0 + j / 1000, 3),
                }
                for i in range(SIDE)
                for j in range(SIDE)
            ]
            await session.execute(insert(Subscriber), rows)
        counts = []
        for east in (5.2, 5.1, 5.0005, 5.1):  # everyone; west of 5.1 (its edge included); one column
            async with sessions() as session, session.begin():
                result = await import_zones(session, network_id, _zones(east))
                if east == 5.2:  # a manual member the recompute must leave alone
                    zone_id = await session.scalar(select(Zone.id).where(Zone.slug == "park"))
                    first = await session.scalar(select(func.min(Subscriber.id)))
                    await session.execute(
                        insert(ZoneMembership),
                        [{"subscriber_id": first, "zone_id": zone_id, "source": "manual"}],
                    )
            async with sessions() as session:
                stored = await session.execute(
                    select(ZoneMembership.source, func.count()).group_by(ZoneMembership.source)
                )
                counts.append((result.memberships.get("park"), dict(stored.all())))
    finally:
        await engine.dispose()
    expected = [SIDE * SIDE, SIDE * 101, SIDE, SIDE * 101]
    assert counts == [(n, {"computed": n, "manual": 1}) for n in expected]
