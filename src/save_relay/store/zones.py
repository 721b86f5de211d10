"""Zone rows: read them back as shapes, insert, update and delete them."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.geo import ZoneShape
from save_relay.store.tables import Zone


async def zones(session: AsyncSession, network_id: int) -> dict[str, Zone]:
    """The network's zones by slug, locked for update on PostgreSQL."""
    rows = await session.scalars(
        select(Zone).where(Zone.network_id == network_id).order_by(Zone.slug).with_for_update()
    )
    return {zone.slug: zone for zone in rows}


def as_shape(zone: Zone) -> ZoneShape:
    return ZoneShape(zone.slug, zone.name, zone.kind, zone.parent_slug, shape(zone.geojson), zone.geojson)


async def shapes(session: AsyncSession, network_id: int) -> list[ZoneShape]:
    """The stored zones as shapes (validated when they were imported), in slug order."""
    rows = await session.scalars(select(Zone).where(Zone.network_id == network_id).order_by(Zone.slug))
    return [as_shape(zone) for zone in rows]


async def feature_collection(session: AsyncSession, network_id: int) -> dict[str, Any]:
    """The network's zones as one GeoJSON FeatureCollection, the largest first: a map draws a
    municipality under its sectors, so a click lands on the smallest zone under the pointer."""
    found = await shapes(session, network_id)
    found.sort(key=lambda zone: zone.geometry.area, reverse=True)
    features = [
        {
            "type": "Feature",
            "properties": {"slug": zone.slug, "name": zone.name, "kind": zone.kind},
            "geometry": zone.geojson,
        }
        for zone in found
    ]
    return {"type": "FeatureCollection", "features": features}


async def add(session: AsyncSession, network_id: int, zone: ZoneShape) -> Zone:
    row = Zone(
        network_id=network_id,
        slug=zone.slug,
        name=zone.name,
        kind=zone.kind,
        parent_slug=zone.parent,
        geojson=zone.geojson,
    )
    session.add(row)
    await session.flush()
    return row


async def remove(session: AsyncSession, zone_ids: list[int]) -> None:
    """Delete zones; their memberships go with them (ON DELETE CASCADE)."""
    if zone_ids:
        await session.execute(delete(Zone).where(Zone.id.in_(zone_ids)))
