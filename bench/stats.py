"""stats-1m: ``save-relay stats`` over 1,000,000 reports (a year, 200 zones) on SQLite and PostgreSQL.

``python -m bench.stats [--runs 3] [--reports 1000000]`` (PostgreSQL too with
``SAVE_RELAY_BENCH_DATABASE_URL`` or ``SAVE_RELAY_TEST_DATABASE_URL``); writes
``bench/results/<date>-stats.json``.

Setup (once, not timed): a migrated database, 1,000,000 reports spread over 2026 with seeded
categories, incident times (their weekday/hour/month on the Brussels clock, as the relay writes them),
one or two of 200 zones each, 2% exercises and 5% rejected; bulk-inserted with ``sqlite3``
``executemany`` (PostgreSQL: asyncpg ``COPY``, then ``ANALYZE``), each with its inbound message.

- **stats**: ``stats.collect.collect`` for the whole year, every breakdown (total, categories, zones,
  weekday x hour, months, companies, decision times, distributions, canvasses): what the command runs;
  three times per run: cold (no figures kept: every day counted, every day and month kept), warm
  (all kept) and after one report changed (its day counted again and its month summed from its days:
  the usual case while reports come in).
- Baseline: a naive Python aggregation in the same run: every counted report's category, zones,
  weekday, hour and month read into Python (one SELECT) and counted with ``collections.Counter``.
  Both must give the same counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update

from bench.intake import _dsn, relay_settings, scratch_postgres
from save_relay.core.clock import local_parts
from save_relay.stats.collect import Stats, collect
from save_relay.store.db import create_engine, session_factory
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Report, StatsPeriod

REPORTS = 1_000_000
ZONES = 200
CATEGORIES = ("copper-theft", "burglary", "theft", "suspicious-vehicle", "suspicious-person", "vandalism")
BRUSSELS = ZoneInfo("Europe/Brussels")
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results"
#: when the seeded reports last changed: before any statistics are kept (a year ahead of a real
#: database, the seeded incidents run to 31 December, later than "now" for most of the year)
CHANGED_AT = YEAR_START - timedelta(days=1)


def rows(n: int, network_id: int, first_inbound: int, seed: int = 19) -> list[tuple[Any, ...]]:
    """(inbound id, status, category, zones JSON, incident at, weekday, hour, month, exercise, day)."""
    rng = random.Random(seed)
    out = []
    seconds = 365 * 24 * 3600
    for i in range(n):
        at = YEAR_START + timedelta(seconds=rng.randrange(seconds))
        weekday, hour, month, day = local_parts(at, BRUSSELS)
        zones = rng.sample(range(ZONES), rng.choice((1, 1, 2)))
        zone_json = json.dumps([f"zone-{z:03d}" for z in zones])
        status = "rejected" if rng.random() < 0.05 else "approved"
        out.append(
            (
                first_inbound + i,
                status,
                rng.choice(CATEGORIES),
                zone_json,
                at,
                weekday,
                hour,
                month,
                rng.random() < 0.02,
                day,
            )
        )
    return out


class StatsBench:
    def __init__(self, n: int, postgres_url: str | None) -> None:
        self.n = n
        self.postgres_url = postgres_url
        self._tmp = tempfile.TemporaryDirectory(prefix="save-relay-bench-stats-")
        self._stack = contextlib.AsyncExitStack()
        self.url = f"sqlite+aiosqlite:///{Path(self._tmp.name) / 'relay.sqlite3'}"
        self.setup_seconds = 0.0
        self.network: Any = None

    async def setup(self) -> None:
        started = time.monotonic()
        if self.postgres_url is not None:
            self.url = await self._stack.enter_async_context(scratch_postgres(self.postgres_url))
        engine = create_engine(self.url)
        try:
            await upgrade(engine)
            async with session_factory(engine)() as session, session.begin():
                settings = relay_settings(self.url, Path(self._tmp.name), 25)
                self.network = (await sync_networks(session, settings))["industrie"]
        finally:
            await engine.dispose()
        data = rows(self.n, self.network.id, 1)
        if self.postgres_url is not None:
            await self._copy(data)
        else:
            self._insert(data)
        self.setup_seconds = time.monotonic() - started

    def _insert(self, data: list[tuple[Any, ...]]) -> None:
        path = self.url.split("///", 1)[1]
        network = self.network.id
        changed = CHANGED_AT.strftime("%Y-%m-%d %H:%M:%S.000000")
        with sqlite3.connect(path) as db:
            db.executemany(
                "INSERT INTO inbound_messages (id, network_id, purpose, raw, sha256, size, mail_from,"
                " rcpt_to, peer, via, received_at, status) VALUES (?, ?, 'post', x'00', '', 1, 'a@b.example',"
                " 'industrie@politie.lommel.be', '', 'smtp', ?, 'done')",
                ((r[0], network, r[4].strftime("%Y-%m-%d %H:%M:%S.000000")) for r in data),
            )
            db.executemany(
                "INSERT INTO reports (network_id, inbound_id, status, sender_name, subject, zones, groups,"
                " credit, received_at, category, category_source, incident_at, incident_source,"
                " incident_weekday, incident_hour, incident_month, place_label, place_source, exercise,"
                " preview_removed, changed_at, incident_day) VALUES (?, ?, ?, '', '', ?, '[]', 0, ?, ?,"
                " 'suggested', ?, 'text', ?, ?, ?, '', 'none', ?, '[]', ?, ?)",
                (
                    (
                        network,
                        r[0],
                        r[1],
                        r[3],
                        stamp,
                        r[2],
                        stamp,
                        r[5],
                        r[6],
                        r[7],
                        int(r[8]),
                        changed,
                        r[9],
                    )
                    for r in data
                    for stamp in (r[4].strftime("%Y-%m-%d %H:%M:%S.000000"),)
                ),
            )
            db.execute("ANALYZE")
        db.close()

    async def _copy(self, data: list[tuple[Any, ...]]) -> None:
        import asyncpg

        db = await asyncpg.connect(_dsn(self.url))
        network = self.network.id
        try:
            await db.copy_records_to_table(
                "inbound_messages",
                columns=[
                    *("id", "network_id", "purpose", "raw", "sha256", "size", "mail_from", "rcpt_to"),
                    *("peer", "via", "received_at", "status"),
                ],
                records=[
                    (
                        r[0],
                        network,
                        "post",
                        b"\x00",
                        "",
                        1,
                        "a@b.example",
                        "industrie@politie.lommel.be",
                        "",
                        "smtp",
                        r[4],
                        "done",
                    )
                    for r in data
                ],
            )
            await db.copy_records_to_table(
                "reports",
                columns=[
                    *("network_id", "inbound_id", "status", "sender_name", "subject", "zones", "groups"),
                    *("credit", "received_at", "category", "category_source", "incident_at"),
                    *("incident_source", "incident_weekday", "incident_hour", "incident_month"),
                    *("place_label", "place_source", "exercise", "preview_removed", "changed_at"),
                    "incident_day",
                ],
                records=[
                    (
                        network,
                        r[0],
                        r[1],
                        "",
                        "",
                        r[3],
                        "[]",
                        False,
                        r[4],
                        r[2],
                        "suggested",
                        r[4],
                        "text",
                        r[5],
                        r[6],
                        r[7],
                        "",
                        "none",
                        r[8],
                        "[]",
                        CHANGED_AT,
                        r[9],
                    )
                    for r in data
                ],
            )
            await db.execute("ANALYZE reports; ANALYZE inbound_messages")
        finally:
            await db.close()

    async def run_once(self) -> dict[str, float]:
        """Milliseconds of ``collect`` cold (no month kept: every month counted and kept), warm (every
        month kept) and after one report changed (its day counted again), and of the
        naive aggregation; every result compared with the naive counts."""
        engine = create_engine(self.url)
        sessions = session_factory(engine)
        times: dict[str, float] = {}
        results: list[Stats] = []
        try:
            async with sessions() as session, session.begin():
                await session.execute(delete(StatsPeriod))
            for name in ("cold", "warm", "changed"):
                if name == "changed":
                    async with sessions() as session, session.begin():
                        last = await session.scalar(select(func.max(Report.id)))
                        await session.execute(update(Report).where(Report.id == last).values(subject="x"))
                async with sessions() as session, session.begin():
                    t0 = time.perf_counter()
                    results.append(await collect(session, self.network))
                    times[name] = 1000 * (time.perf_counter() - t0)
            async with sessions() as session:
                t0 = time.perf_counter()
                naive = await naive_counts(session, self.network.id)
                times["naive"] = 1000 * (time.perf_counter() - t0)
        finally:
            await engine.dispose()
        for result in results:
            check(result, naive)
        return times

    async def close(self) -> None:
        await self._stack.aclose()
        self._tmp.cleanup()


async def naive_counts(session: Any, network_id: int) -> dict[str, Counter[Any]]:
    """Every counted report into Python, counted there (what the GROUP BYs replace)."""
    query = select(
        Report.category, Report.zones, Report.incident_weekday, Report.incident_hour, Report.incident_month
    ).where(
        Report.network_id == network_id,
        Report.status.in_(("pending", "approved", "expired")),
        Report.exercise.is_(False),
    )
    counts: dict[str, Counter[Any]] = {k: Counter() for k in ("category", "zone", "cell", "month")}
    for category, zones, weekday, hour, month in (await session.execute(query)).all():
        counts["category"][category] += 1
        counts["zone"].update(zones)
        counts["cell"][(weekday, hour)] += 1
        counts["month"][month] += 1
    return counts


def check(result: Stats, naive: dict[str, Counter[Any]]) -> None:
    cells = {(d, h): n for d, row in enumerate(result.weekday_hour) for h, n in enumerate(row) if n}
    months: Counter[str] = Counter()
    for month, _, n in result.months:
        months[month] += n
    if (
        dict(result.categories) != dict(naive["category"])
        or dict(result.zones) != dict(naive["zone"])
        or cells != dict(naive["cell"])
        or months != naive["month"]
        or result.total != sum(naive["category"].values())
    ):
        raise AssertionError("collect and the naive aggregation disagree")


async def bench(runs: int, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pg = os.environ.get("SAVE_RELAY_BENCH_DATABASE_URL") or os.environ.get("SAVE_RELAY_TEST_DATABASE_URL")
    for kind, url in (("sqlite", None), ("postgresql", pg)):
        if kind == "postgresql" and not url:
            continue
        suite = StatsBench(n, url)
        try:
            await suite.setup()
            print(f"stats-1m-{kind}: {n:,} reports in {suite.setup_seconds:.0f} s", flush=True)
            done: list[dict[str, float]] = []
            for i in range(runs):
                times = await suite.run_once()
                done.append(times)
                shown = ", ".join(f"{k} {v:.0f} ms" for k, v in times.items())
                print(f"  run {i + 1}/{runs}: {shown}", flush=True)
        finally:
            await suite.close()
        row: dict[str, Any] = {"reports": n, "zones": ZONES, "setup_s": round(suite.setup_seconds, 1)}
        for name in ("cold", "warm", "changed", "naive"):
            row[f"{name}_ms"] = [round(t[name], 1) for t in done]
            row[f"median_{name}_ms"] = round(statistics.median(t[name] for t in done), 1)
        row["target_ms"] = 500
        out[f"stats-1m-{kind}"] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=REPORTS)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = asyncio.run(bench(args.runs, args.reports))
    results["load_before"] = load
    results["load_after"] = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{date.today():%Y-%m-%d}-stats.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
