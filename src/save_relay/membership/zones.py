"""Zones from a GeoJSON file: validated (``geo.load_zones``), stored, and memberships recomputed.

Only what changed is recomputed: a new zone or a zone whose polygon changed gets its computed members
anew; a renamed or re-parented zone keeps them; manual memberships (from the CSV) are never touched.
A zone missing from the file is kept unless ``prune`` is asked for (its memberships would go with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.geo import ZoneIndex, ZoneShape, load_zones
from save_relay.store import subscribers as store
from save_relay.store import zones as zone_store


@dataclass(slots=True)
class ZoneImport:
    """What a zone import did (or, in a dry run, would do)."""

    added: list[str] = field(default_factory=list)
    reshaped: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    memberships: dict[str, int] = field(default_factory=dict)  # zone -> computed members, where recomputed

    def lines(self) -> list[str]:
        out = [f"zone {slug}: new, {self.memberships.get(slug, 0)} subscriber(s)" for slug in self.added]
        out += [
            f"zone {slug}: polygon changed, {self.memberships.get(slug, 0)} subscriber(s)"
            for slug in self.reshaped
        ]
        out += [f"zone {slug}: name, kind or parent changed" for slug in self.renamed]
        out += [f"zone {slug}: removed" for slug in self.removed]
        out += [f"zone {slug}: not in the file, kept (use --prune to remove it)" for slug in self.kept]
        return out


async def recompute_zones(
    session: AsyncSession, network_id: int, shapes: Sequence[ZoneShape]
) -> dict[str, int]:
    """Rewrite the computed members of ``shapes`` (stored zones) from every located subscriber."""
    if not shapes:
        return {}
    ids = await store.zone_ids(session, network_id)
    points = await store.located(session, network_id)
    coords = np.array([(lat, lon) for _, lat, lon in points], dtype=np.float64).reshape(-1, 2)
    members = {
        zone.slug: {points[i][0] for i in hits}
        for zone, hits in zip(shapes, ZoneIndex(shapes).members(coords), strict=True)
    }
    await store.set_computed_members(session, {ids[slug]: found for slug, found in members.items()})
    return {slug: len(ids_) for slug, ids_ in members.items()}


async def import_zones(
    session: AsyncSession, network_id: int, geojson: str | bytes, *, prune: bool = False
) -> ZoneImport:
    """Validate ``geojson`` (raises ``geo.ZoneError`` listing every problem) and apply it."""
    shapes = load_zones(geojson)
    existing = await zone_store.zones(session, network_id)
    result = ZoneImport()
    recompute: list[ZoneShape] = []
    for zone in shapes:
        row = existing.pop(zone.slug, None)
        if row is None:
            await zone_store.add(session, network_id, zone)
            result.added.append(zone.slug)
            recompute.append(zone)
            continue
        if row.geojson != zone.geojson:
            row.geojson = zone.geojson
            result.reshaped.append(zone.slug)
            recompute.append(zone)
        if (row.name, row.kind, row.parent_slug) != (zone.name, zone.kind, zone.parent):
            row.name, row.kind, row.parent_slug = zone.name, zone.kind, zone.parent
            if zone.slug not in result.reshaped:
                result.renamed.append(zone.slug)
        elif zone.slug not in result.reshaped:
            result.unchanged.append(zone.slug)
    if prune:
        await zone_store.remove(session, [row.id for row in existing.values()])
        result.removed = sorted(existing)
    else:
        result.kept = sorted(existing)
    await session.flush()
    result.memberships = await recompute_zones(session, network_id, recompute)
    return result
