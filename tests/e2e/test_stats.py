"""Statistics over reports with known categories and incident times, across both daylight saving
changes of Europe/Brussels in 2026 (29 March: 02:00 CET -> 03:00 CEST; 25 October: 03:00 CEST ->
02:00 CET), on SQLite and PostgreSQL; and ``save-relay stats`` as an operator runs it.

The expected counts are written by hand from the local times in the comments, not computed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from save_relay.cli.demo import add_incident, load_demo
from save_relay.core.context import NetworkRef
from save_relay.core.settings import Settings
from save_relay.stats.collect import collect
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.stats import StatsFilter, by_category, by_month, by_weekday_hour, fill_local_times
from tests.conftest import make_settings
from tests.e2e.test_cli import one_line, relay_config, run_cli, write_config

#: (UTC time, category, status, exercise, zone); the local time (Brussels) in the comment.
REPORTS = [
    ((2026, 3, 28, 23, 30), "copper-theft", "approved", False, "maatheide"),  # Sun 29/3 00:30 CET
    ((2026, 3, 29, 0, 30), "copper-theft", "approved", False, "maatheide"),  # Sun 01:30 CET
    ((2026, 3, 29, 1, 30), "burglary", "pending", False, "kolonel-dusart"),  # Sun 03:30 CEST (02:xx skipped)
    ((2026, 7, 1, 22, 30), "theft", "approved", False, "kolonel-dusart"),  # Thu 2/7 00:30 CEST
    ((2026, 10, 24, 22, 30), "copper-theft", "expired", False, "maatheide"),  # Sun 25/10 00:30 CEST
    ((2026, 10, 25, 0, 30), "burglary", "approved", False, "maatheide"),  # Sun 02:30 CEST
    ((2026, 10, 25, 1, 30), "burglary", "approved", False, "kolonel-dusart"),  # Sun 02:30 CET (again)
    ((2026, 10, 25, 1, 45), "fire", "approved", True, "maatheide"),  # an exercise: left out
    ((2026, 10, 25, 2, 0), "fire", "rejected", False, "maatheide"),  # rejected: no incident
]
#: (weekday Monday=0, hour) -> reports, by hand from the comments above.
EXPECTED = {(6, 0): 2, (6, 1): 1, (6, 3): 1, (3, 0): 1, (6, 2): 2}


async def add_reports(sessions: SessionFactory, network: NetworkRef) -> None:
    async with sessions() as session, session.begin():
        for n, (utc, category, status, exercise, zone) in enumerate(REPORTS):
            at = datetime(*utc, tzinfo=UTC)
            fields = {"status": status, "category": category, "exercise": exercise, "zones": [zone]}
            await add_incident(session, network, n, at, **fields)


@pytest.fixture
async def stats_db(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[SessionFactory, NetworkRef, Settings]]:
    settings = make_settings(db_url, 25, tmp_path)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        network = (await sync_networks(session, settings))["industrie"]
        await load_demo(session, network.id, settings.demo.zones, settings.demo.subscribers)
    await add_reports(sessions, network)
    yield sessions, network, settings
    await engine.dispose()


async def test_weekday_hour_counts_across_daylight_saving_changes(
    stats_db: tuple[SessionFactory, NetworkRef, Settings],
) -> None:
    sessions, network, _ = stats_db
    async with sessions() as session:
        filt = StatsFilter(network.id)
        assert await by_weekday_hour(session, filt) == EXPECTED
        assert await by_category(session, filt) == [("burglary", 3), ("copper-theft", 3), ("theft", 1)]
        assert await by_month(session, filt) == [
            ("2026-03", "burglary", 1),
            ("2026-03", "copper-theft", 2),
            ("2026-07", "theft", 1),
            ("2026-10", "burglary", 2),
            ("2026-10", "copper-theft", 1),
        ]
        # A day on the network's clock: 28 March 23:30 UTC is 29 March 00:30 in Brussels.
        brussels = ZoneInfo("Europe/Brussels")
        sunday = await collect(
            session,
            network,
            start=datetime(2026, 3, 29, tzinfo=brussels),
            end=datetime(2026, 3, 30, tzinfo=brussels),
        )
        assert sunday.total == 3
        zoned = await collect(session, network, zone="kolonel-dusart")
        assert zoned.total == 3 and zoned.zones[0] == ("kolonel-dusart", 3)
        burglaries = await collect(session, network, category="burglary")
        assert burglaries.weekday_hour[6][2] == 2 and burglaries.weekday_hour[6][3] == 1


async def test_a_changed_time_zone_rewrites_the_local_times(
    stats_db: tuple[SessionFactory, NetworkRef, Settings],
) -> None:
    sessions, network, _ = stats_db
    async with sessions() as session, session.begin():
        assert await fill_local_times(session, network.id, "Europe/Brussels") == 0  # nothing to do
    async with sessions() as session, session.begin():
        assert await fill_local_times(session, network.id, "UTC") == len(REPORTS)
    async with sessions() as session:
        utc = await by_weekday_hour(session, StatsFilter(network.id))
    # In UTC: Sat 28/3 23:30; Sun 29/3 00:30, 01:30; Wed 1/7 22:30; Sat 24/10 22:30; Sun 25/10 00:30, 01:30.
    assert utc == {(5, 23): 1, (6, 0): 2, (6, 1): 2, (2, 22): 1, (5, 22): 1}


def _stats(config: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli(config, "stats", *args, cwd=config.parent)
    return result.returncode, result.stdout, result.stderr


async def test_the_stats_command(
    stats_db: tuple[SessionFactory, NetworkRef, Settings], tmp_path: Path, db_url: str
) -> None:
    data = relay_config(tmp_path)
    data["database"]["url"] = db_url
    config = write_config(tmp_path / "save-relay.toml", data)

    def ok(*args: str) -> str:
        code, out, err = _stats(config, *args)
        assert code == 0, err
        return out

    def refused(*args: str) -> str:
        code, _, err = _stats(config, *args)
        assert code == 1
        return one_line(err)

    text = await asyncio.to_thread(ok)
    assert text.startswith("reports: 7\nby category:\n  inbraak ")
    assert "  zo    2   1   2   1   0" in text  # Sunday: 00, 01, 02, 03 h (Dutch network)
    figures = json.loads(await asyncio.to_thread(ok, "--json", "--from", "2026-10", "--to", "2026-10"))
    assert figures["total"] == 3
    assert figures["weekday_hour"][6][:4] == [1, 0, 2, 0]
    assert figures["categories"] == [["burglary", 2], ["copper-theft", 1]]
    rows = (await asyncio.to_thread(ok, "--csv", "--category", "koperdiefstal")).splitlines()
    assert rows[:3] == ["dimension,key,count", "total,,3", "category,copper-theft,3"]
    assert "weekday_hour,6-00,2" in rows and "zone,maatheide,3" in rows
    one = json.loads(await asyncio.to_thread(ok, "--json", "--zone", "Bedrijventerrein Maatheide"))
    assert one["total"] == 4 and one["zone"] == "maatheide"
    svg = tmp_path / "heatmap.svg"
    said = await asyncio.to_thread(ok, "--chart", "heatmap", "-o", str(svg))
    assert said.startswith(f"{svg}: heatmap of 7 report(s)")
    assert svg.read_text().startswith("<?xml") and "Meldingen per weekdag en uur" in svg.read_text()
    png = tmp_path / "months.png"
    await asyncio.to_thread(ok, "--chart", "months", "-o", str(png))
    assert png.read_bytes().startswith(b"\x89PNG")
    for args, expected in [
        (("--from", "2026-13-01"), "--from: '2026-13-01' is not a date (YYYY-MM-DD or YYYY-MM)"),
        (("--to", "gisteren"), "--to: 'gisteren' is not a date"),
        (("--from", "2026-10-02", "--to", "2026-10-01"), "--to 2026-10-01 is before --from 2026-10-02"),
        (("--category", "sprookje"), "--category: no category 'sprookje' (there are: copper-theft,"),
        (("--zone", "Atlantis"), "--zone: no zone 'Atlantis'"),
        (("--chart", "pie", "-o", "x.svg"), "--chart: 'pie' is not one of heatmap, months, zones"),
        (("--chart", "zones"), "--chart needs -o FILE.svg or -o FILE.png"),
        (("--csv", "--json"), "give --csv or --json, not both"),
    ]:
        assert expected in await asyncio.to_thread(refused, *args), args
