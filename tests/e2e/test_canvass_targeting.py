"""Who a canvass reaches: points just inside and just outside the radius, on both databases.

Distances are computed here independently of ``save_relay.core.geo``: due north or south a great-circle
distance is R * delta-latitude, and the other points are placed with the "destination point" formula
(start, bearing, distance), so each lies at a known great-circle distance from the centre.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.cli.demo import load_demo
from save_relay.store.canvass_targets import Area, select_targets
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.recipients import recipients_query
from save_relay.store.tables import Group, GroupMembership, Subscriber, SubscriberAddress
from tests.conftest import make_settings

R = 6_371_008.8  # the mean Earth radius (IUGG), in metres
CENTRE = (51.2412, 5.3107)
RADIUS = 1500.0


def destination(lat: float, lon: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` along the great circle leaving (lat, lon) at ``bearing_deg``."""
    phi, lam, theta, delta = math.radians(lat), math.radians(lon), math.radians(bearing_deg), metres / R
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), math.degrees(lam2)


# Due north/south by hand: delta-latitude = d / R; 1499 m -> 0.0134808 deg, 1501 m -> 0.0134988 deg.
HAND = {
    "north-in": ((51.2412 + 0.0134808, 5.3107), 1499.0),
    "north-out": ((51.2412 + 0.0134988, 5.3107), 1501.0),
    "south-in": ((51.2412 - 0.0134808, 5.3107), 1499.0),
    "south-out": ((51.2412 - 0.0134988, 5.3107), 1501.0),
}
PLACED = {
    f"{name}-{'in' if d < RADIUS else 'out'}": (destination(*CENTRE, bearing, d), d)
    for name, bearing in (("east", 90.0), ("west", 270.0), ("northeast", 45.0), ("southwest", 225.0))
    for d in (RADIUS - 0.5, RADIUS + 0.5)
}
POINTS = HAND | PLACED


@pytest.fixture
async def sessions(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[SessionFactory, int]]:
    settings = make_settings(db_url, 2525, tmp_path)
    engine = create_engine(db_url)
    factory = session_factory(engine)
    async with factory() as session, session.begin():
        network_id = (await sync_networks(session, settings))["industrie"].id
    yield factory, network_id
    await engine.dispose()


async def _add(
    factory: SessionFactory,
    network_id: int,
    company: str,
    point: tuple[float, float] | None,
    addresses: list[str],
    *,
    enabled: bool = True,
    status: str = "active",
) -> int:
    async with factory() as session, session.begin():
        lat, lon = point if point else (None, None)
        subscriber = Subscriber(
            network_id=network_id, company=company, latitude=lat, longitude=lon, enabled=enabled
        )
        session.add(subscriber)
        await session.flush()
        for address in addresses:
            session.add(SubscriberAddress(subscriber_id=subscriber.id, address=address, status=status))
        return subscriber.id


async def test_radius_is_great_circle_distance_inclusive(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    for name, (point, _) in POINTS.items():
        await _add(factory, network_id, name, point, [f"{name}@example.org"])
    async with factory() as session:
        targets = await select_targets(session, network_id, Area(point=CENTRE, radius_m=RADIUS))
    found = {t.company: t for t in targets}
    assert set(found) == {name for name in POINTS if name.endswith("-in")}
    for name, target in found.items():
        assert target.distance_m == pytest.approx(POINTS[name][1], abs=0.01)
    assert [t.distance_m for t in targets] == sorted(t.distance_m or 0 for t in targets)  # nearest first


async def test_each_address_once_and_only_reachable_ones(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    near, nearer = destination(*CENTRE, 0, 300), destination(*CENTRE, 0, 100)
    await _add(factory, network_id, "Two Addresses", near, ["a@two.example", "B@two.example"])
    await _add(factory, network_id, "Shares An Address", nearer, ["a@two.example"])
    await _add(factory, network_id, "Disabled", near, ["x@disabled.example"], enabled=False)
    await _add(factory, network_id, "Unsubscribed", near, ["x@unsub.example"], status="unsubscribed")
    await _add(factory, network_id, "No Location", None, ["x@nowhere.example"])
    police = await _add(factory, network_id, "Patrol", near, ["ploeg@police.example"])
    async with factory() as session, session.begin():
        group = Group(network_id=network_id, slug="politie-ploegen", name="Ploegen")
        session.add(group)
        await session.flush()
        session.add(GroupMembership(subscriber_id=police, group_id=group.id))
    async with factory() as session:
        targets = await select_targets(
            session, network_id, Area(point=CENTRE, radius_m=500), ["politie-ploegen"]
        )
        everyone = await select_targets(session, network_id, Area(point=CENTRE, radius_m=500))
    assert [(t.address, t.company) for t in targets] == [
        ("a@two.example", "Shares An Address"),  # once, with its nearest subscriber (100 m)
        ("b@two.example", "Two Addresses"),  # addresses are compared in lower case
    ]
    assert targets[0].distance_m == pytest.approx(100.0, abs=0.01)
    assert "ploeg@police.example" in {t.address for t in everyone}  # excluded only as a default group


async def test_zones_reach_what_a_distribution_to_those_zones_reaches(
    sessions: tuple[SessionFactory, int],
) -> None:
    factory, network_id = sessions
    root = Path(__file__).resolve().parents[2]
    async with factory() as session, session.begin():
        await load_demo(session, network_id, root / "config/zones.geojson", root / "config/subscribers.csv")
    async with factory() as session:
        targets = await select_targets(
            session, network_id, Area(zones=("kolonel-dusart",)), ["politie-ploegen"]
        )
        expected = set(await session.scalars(recipients_query(network_id, ["kolonel-dusart"], [])))
        both = await select_targets(
            session,
            network_id,
            Area(point=(51.23988, 5.28620), radius_m=300, zones=("maatheide",)),
            ["politie-ploegen"],
        )
        vos = await session.scalar(select(Subscriber.id).where(Subscriber.company == "Metaalwerken Vos NV"))
    assert {t.address for t in targets} == expected
    assert len(expected) >= 8 and all(t.distance_m is None for t in targets)
    addresses = {t.address for t in both}
    assert "security@metaalwerken-vos.example" in addresses  # in the circle
    assert "security@smeltwerk-nijs.example" in addresses  # in the zone
    assert next(t for t in both if t.subscriber_id == vos).distance_m == pytest.approx(0.0, abs=0.01)
