"""Who a canvass goes to: every active address within the radius of the point, or in the zones.

The radius search asks the database only for the subscribers inside the circle's bounding box (the
latitude bands it touches, each with an indexed longitude range: ``save_relay.store.latcell``), then keeps
those whose great-circle distance is at most the radius. An address is canvassed once, with the
distance of its nearest subscriber. Members of the network's default groups (the police's own patrol
shifts) are never canvassed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.geo import bounding_box, haversine_m, within_radius
from save_relay.core.states import AddressStatus
from save_relay.store.latcell import lat_cells
from save_relay.store.tables import (
    Group,
    GroupMembership,
    Subscriber,
    SubscriberAddress,
    Zone,
    ZoneMembership,
)


@dataclass(frozen=True, slots=True)
class Target:
    """One address to canvass; ``distance_m`` is None when there is no point or no location."""

    address: str
    subscriber_id: int
    company: str
    distance_m: float | None


@dataclass(frozen=True, slots=True)
class Area:
    """Where a canvass looks: a circle (point and radius), zones, or both (their union)."""

    point: tuple[float, float] | None = None
    radius_m: float | None = None
    zones: tuple[str, ...] = ()


_Columns = tuple[int, str, float | None, float | None, str]  # subscriber id, company, lat, lon, address
_Query = Select[int, str, float | None, float | None, str]


def _addresses(network_id: int, excluded_groups: Sequence[str]) -> _Query:
    """Active addresses of enabled subscribers of the network, outside ``excluded_groups``."""
    excluded = (
        select(GroupMembership.subscriber_id)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(Group.network_id == network_id, Group.slug.in_(list(excluded_groups) or [""]))
    )
    return (
        select(
            Subscriber.id,
            Subscriber.company,
            Subscriber.latitude,
            Subscriber.longitude,
            func.lower(SubscriberAddress.address),
        )
        .join(SubscriberAddress, SubscriberAddress.subscriber_id == Subscriber.id)
        .where(
            Subscriber.network_id == network_id,
            Subscriber.enabled,
            SubscriberAddress.status == AddressStatus.ACTIVE,
            Subscriber.id.not_in(excluded),
        )
    )


async def _in_circle(session: AsyncSession, base: _Query, area: Area) -> list[Target]:
    assert area.point is not None and area.radius_m is not None
    lat, lon = area.point
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, area.radius_m)
    query = base.where(
        Subscriber.latitude.between(min_lat, max_lat), Subscriber.longitude.between(min_lon, max_lon)
    )
    cells = lat_cells(min_lat, max_lat)
    if cells is not None:
        query = query.where(Subscriber.lat_cell.in_(cells))
    located = [
        (subscriber_id, company, float(plat), float(plon), address)
        for subscriber_id, company, plat, plon, address in await _rows(session, query)
        if plat is not None and plon is not None
    ]
    inside = within_radius([(row[2], row[3]) for row in located], lat, lon, area.radius_m)
    return [
        Target(row[4], row[0], row[1], haversine_m(lat, lon, row[2], row[3]))
        for row in (located[i] for i in inside)
    ]


async def _rows(session: AsyncSession, query: _Query) -> list[_Columns]:
    return [(row[0], row[1], row[2], row[3], row[4]) for row in (await session.execute(query)).all()]


async def _in_zones(session: AsyncSession, base: _Query, network_id: int, area: Area) -> list[Target]:
    members = (
        select(ZoneMembership.subscriber_id)
        .join(Zone, Zone.id == ZoneMembership.zone_id)
        .where(Zone.network_id == network_id, Zone.slug.in_(list(area.zones)))
    )
    rows = await _rows(session, base.where(Subscriber.id.in_(members)))
    point = area.point

    def distance(lat: float | None, lon: float | None) -> float | None:
        if point is None or lat is None or lon is None:
            return None
        return haversine_m(point[0], point[1], lat, lon)

    return [Target(row[4], row[0], row[1], distance(row[2], row[3])) for row in rows]


async def select_targets(
    session: AsyncSession, network_id: int, area: Area, excluded_groups: Sequence[str] = ()
) -> list[Target]:
    """The addresses to canvass, each once, nearest first (then by company and address)."""
    base = _addresses(network_id, excluded_groups)
    found: list[Target] = []
    if area.point is not None and area.radius_m is not None:
        found += await _in_circle(session, base, area)
    if area.zones:
        found += await _in_zones(session, base, network_id, area)
    best: dict[str, Target] = {}
    for target in found:
        known = best.get(target.address)
        if known is None or _key(target) < _key(known):
            best[target.address] = target
    return sorted(best.values(), key=lambda t: (*_key(t), t.company, t.address))


def _key(target: Target) -> tuple[bool, float]:
    return (target.distance_m is None, target.distance_m or 0.0)
