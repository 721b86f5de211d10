"""Draw the README's charts from the demo network: its zones and subscribers (``config/``) and a year of
seeded reports (categories, incident times with more at night and at the weekend, the reporter's zones),
stored as the relay stores them and drawn by ``save-relay stats --chart``'s own code.

    .venv/bin/python scripts/demo_charts.py [OUTDIR]      # default: docs/charts/
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from save_relay.cli.demo import add_incident, load_demo
from save_relay.core.geo import ZoneShape
from save_relay.core.settings import NetworkSettings, load_settings
from save_relay.moderation.incident import set_place
from save_relay.stats import charts
from save_relay.stats.collect import Stats, collect
from save_relay.store import zones as zone_store
from save_relay.store.db import create_engine, session_factory
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks
from save_relay.store.recipients import sender_info, zone_table
from save_relay.store.subscribers import address_rows

ROOT = Path(__file__).resolve().parents[1]
REPORTS = 600
WEIGHTS = {"copper-theft": 5, "burglary": 4, "theft": 6, "suspicious-vehicle": 8, "suspicious-person": 4}


def incident_time(rng: random.Random) -> datetime:
    """A time in 2026, more often at night (22-05 h) and at the weekend."""
    while True:
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 24 * 3600))
        night = at.hour >= 21 or at.hour < 5
        weekend = at.weekday() >= 4
        if rng.random() < 0.25 + 0.45 * night + 0.2 * weekend:
            return at


async def figures() -> tuple[Stats, list[ZoneShape], NetworkSettings]:
    """The demo network's statistics (in a temporary SQLite database) and its zones."""
    with tempfile.TemporaryDirectory(prefix="save-relay-demo-charts-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'relay.sqlite3'}"
        settings = load_settings(ROOT / "config" / "save-relay.example.toml", database={"url": url})
        engine = create_engine(url)
        await upgrade(engine)
        sessions = session_factory(engine)
        rng = random.Random(2026)
        async with sessions() as session, session.begin():
            network = (await sync_networks(session, settings))["industrie"]
            await load_demo(
                session, network.id, ROOT / "config/zones.geojson", ROOT / "config/subscribers.csv"
            )
            table = await zone_table(session, network.id)
            senders = [row.address for row in await address_rows(session, network.id)]
            for n in range(REPORTS):
                info = await sender_info(session, network.id, rng.choice(senders), table)
                fields = {
                    "status": "approved",
                    "category": rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0],
                    "zones": list(info.zones) if info else [],
                    "subscriber_id": info.subscriber_id if info else None,
                }
                report = await add_incident(session, network, n, incident_time(rng), **fields)
                if info and info.latitude is not None and info.longitude is not None:
                    set_place(report, info.latitude, info.longitude, info.company, "reporter")
        async with sessions() as session:
            result = await collect(session, network)
            shapes = await zone_store.shapes(session, network.id)
        await engine.dispose()
    return result, shapes, network.settings


def main(outdir: Path) -> None:
    result, shapes, conf = asyncio.run(figures())
    names = {c.slug: c.name(conf.language) for c in conf.categories}
    outdir.mkdir(parents=True, exist_ok=True)
    for kind in charts.KINDS:
        path = outdir / f"{kind}.svg"
        path.write_bytes(charts.render(charts.draw(kind, result, shapes, names, conf.language), "svg"))
        print(f"{path}: {result.total} reports")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "charts")
