"""Load the demo network's zones (GeoJSON) and subscribers (CSV) from ``config/``; idempotent.

The full membership management (validation per line, dry runs, exports) is ``subscribers import``;
this loader only seeds a fresh database so that a newcomer has something to send to.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.geo import ZoneIndex, load_zones
from save_relay.mail.addresses import normalize_address
from save_relay.models import (
    Group,
    GroupMembership,
    Subscriber,
    SubscriberAddress,
    Zone,
    ZoneMembership,
)


@dataclass(frozen=True, slots=True)
class DemoCounts:
    zones: int
    subscribers: int
    addresses: int
    groups: int


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(";") if item.strip()]


async def load_demo(
    session: AsyncSession, network_id: int, zones_file: Path, subscribers_file: Path
) -> DemoCounts:
    """Replace the network's zones, groups and subscribers with the demo data."""
    shapes = load_zones(await asyncio.to_thread(zones_file.read_text, encoding="utf-8"))
    await session.execute(delete(Subscriber).where(Subscriber.network_id == network_id))
    await session.execute(delete(Zone).where(Zone.network_id == network_id))
    await session.execute(delete(Group).where(Group.network_id == network_id))
    zone_ids: dict[str, int] = {}
    for shape in shapes:
        zone = Zone(
            network_id=network_id,
            slug=shape.slug,
            name=shape.name,
            kind=shape.kind,
            parent_slug=shape.parent,
            geojson=shape.geojson,
        )
        session.add(zone)
        await session.flush()
        zone_ids[shape.slug] = zone.id
    index = ZoneIndex(shapes)
    group_ids: dict[str, int] = {}
    subscribers = addresses = 0
    with subscribers_file.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            latitude, longitude = float(row["latitude"]), float(row["longitude"])
            subscriber = Subscriber(
                network_id=network_id,
                company=row["company"].strip(),
                contact=(row.get("contact") or "").strip(),
                street=(row.get("street") or "").strip(),
                latitude=latitude,
                longitude=longitude,
            )
            session.add(subscriber)
            await session.flush()
            subscribers += 1
            for raw in _split(row.get("addresses")):
                address = normalize_address(raw)
                if address is not None:
                    session.add(SubscriberAddress(subscriber_id=subscriber.id, address=address.lower()))
                    addresses += 1
            for slug in index.zones_at(latitude, longitude):
                session.add(
                    ZoneMembership(subscriber_id=subscriber.id, zone_id=zone_ids[slug], source="computed")
                )
            for slug in _split(row.get("zones")):
                if slug in zone_ids:
                    session.add(
                        ZoneMembership(subscriber_id=subscriber.id, zone_id=zone_ids[slug], source="manual")
                    )
            for slug in _split(row.get("groups")):
                if slug not in group_ids:
                    group = Group(network_id=network_id, slug=slug, name=slug.replace("-", " ").title())
                    session.add(group)
                    await session.flush()
                    group_ids[slug] = group.id
                session.add(GroupMembership(subscriber_id=subscriber.id, group_id=group_ids[slug]))
    await session.flush()
    return DemoCounts(
        zones=len(zone_ids), subscribers=subscribers, addresses=addresses, groups=len(group_ids)
    )


async def has_subscribers(session: AsyncSession, network_id: int) -> bool:
    return (
        await session.scalar(select(Subscriber.id).where(Subscriber.network_id == network_id).limit(1))
    ) is not None
