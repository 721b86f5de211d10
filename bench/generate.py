"""Seeded benchmark data: N subscribers with one address each, all in one zone, inserted in bulk.

Addresses are ``user{i}@company{i % 500}.example``; the rows go in with SQLAlchemy core ``insert()``
executemany (one statement per table), not through the ORM unit of work.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store.tables import Base

ZONE_SLUG = "bench-park"
DOMAINS = 500
# A small square in Lommel (west, south, east, north), lon/lat as GeoJSON has them.
SQUARE = (5.300, 51.200, 5.310, 51.210)


@dataclass(frozen=True, slots=True)
class Population:
    zone_slug: str
    addresses: frozenset[str]


def address(i: int) -> str:
    return f"user{i}@company{i % DOMAINS}.example"


def addresses(n: int) -> list[str]:
    return [address(i) for i in range(n)]


def zone_geojson() -> dict[str, Any]:
    west, south, east, north = SQUARE
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


async def load(session: AsyncSession, network_id: int, n: int, seed: int = 1) -> Population:
    """Insert one zone and ``n`` subscribers in it (in the caller's transaction)."""
    rng = random.Random(seed)
    tables = Base.metadata.tables
    zones, subscribers = tables["zones"], tables["subscribers"]
    zone_id = (
        await session.execute(
            insert(zones)
            .values(
                network_id=network_id,
                slug=ZONE_SLUG,
                name="Bench park",
                kind="industrial-park",
                parent_slug=None,
                geojson=zone_geojson(),
            )
            .returning(zones.c.id)
        )
    ).scalar_one()
    first = int(await session.scalar(select(func.coalesce(func.max(subscribers.c.id), 0))) or 0) + 1
    now = utcnow()
    west, south, east, north = SQUARE
    await session.execute(
        insert(subscribers),
        [
            {
                "id": first + i,
                "network_id": network_id,
                "company": f"Bench bedrijf {i:06d}",
                "contact": f"Contact {rng.randrange(10**6):06d}",
                "street": f"Industrieweg {rng.randrange(1, 400)}",
                "latitude": rng.uniform(south, north),
                "longitude": rng.uniform(west, east),
                "enabled": True,
                "created_at": now,
            }
            for i in range(n)
        ],
    )
    await session.execute(
        insert(tables["subscriber_addresses"]),
        [
            {
                "subscriber_id": first + i,
                "address": address(i),
                "status": "active",
                "bounce_score": 0.0,
                "changed_at": now,
            }
            for i in range(n)
        ],
    )
    await session.execute(
        insert(tables["zone_memberships"]),
        [{"subscriber_id": first + i, "zone_id": zone_id, "source": "computed"} for i in range(n)],
    )
    return Population(zone_slug=ZONE_SLUG, addresses=frozenset(addresses(n)))


WORDS = (
    "bestelwagen",
    "poort",
    "werf",
    "kabel",
    "camera",
    "nacht",
    "verdacht",
    "voertuig",
    "hek",
    "koper",
    "diefstal",
    "politie",
    "melding",
    "industrieweg",
    "container",
    "alarm",
    "inbraak",
    "getuige",
    "nummerplaat",
    "bedrijf",
    "terrein",
)


def reporter(i: int) -> str:
    """Report senders are distinct addresses that match the sink's ``user`` prefix (their acks count)."""
    return f"user-r{i}@reporters{i % DOMAINS}.example"


def report_text(i: int, size: int, seed: int = 1) -> str:
    """About ``size`` characters of seeded Dutch-looking text, lines of at most 78 characters."""
    rng = random.Random(seed * 1_000_003 + i)
    lines, line, total = [], [], 0
    while total < size:
        word = rng.choice(WORDS)
        if sum(len(w) + 1 for w in line) + len(word) > 76:
            lines.append(" ".join(line))
            total += len(lines[-1]) + 1
            line = []
        line.append(word)
    return "\n".join(lines) + "\n"
