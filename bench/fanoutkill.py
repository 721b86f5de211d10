"""fanout-kill: SIGKILL the daemon mid fan-out, start it again, count the duplicates at the sink.

``save-relay serve`` in a child process (as fanout-100k, ``bench.scale``) on a copy of a prepared
database with ``n`` subscribers. The report is approved; when half of them are at the sink the daemon
gets SIGKILL and is started again at once with the same config (the same ``node_name``, so it takes
back the leases it held; the lease itself is the 300 s default). Measured: recipients received twice
(a delivery done but not yet recorded at the kill is sent again), and the time from the restart to
the last recipient. Checks: every subscriber at the sink at least once, every delivery ``sent``.
The bound (issue 16): at most the deliveries in flight, one per outbound connection.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.daemon import Daemon, write_config
from bench.fanout import approve, wait_recorded
from bench.intake import pg_url, relay_settings
from bench.scale import IDLE_POLL, Templates
from bench.sink import CountingSink
from save_relay.core.context import Context
from save_relay.store.db import create_engine, session_factory
from save_relay.store.networks import sync_networks

RECIPIENTS = 2_000
KILL_AT = 0.5  # share of the recipients at the sink when the daemon is killed


@dataclass(frozen=True, slots=True)
class KillRun:
    recipients: int
    at_kill: int  # recipients at the sink when SIGKILL was sent
    duplicates: int  # recipients received more than once (extra copies)
    restart_to_done: float  # seconds from the restart to the last recipient
    connections: int


async def _until_all(sink: CountingSink, expected: frozenset[str], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    await sink.wait_matched(len(expected), timeout)
    while True:
        received = sink.dump()
        if expected <= set(received):
            return received
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(expected - set(received))} recipients missing after {timeout} s")
        await asyncio.sleep(0.1)


async def run_once(sink: CountingSink, templates: Templates, n: int) -> KillRun:
    async with templates.copy(n) as (url, workdir, prepared):
        settings = relay_settings(url, workdir, sink.port)
        first, second = (  # one config twice, each start with its own log
            Daemon(
                write_config(
                    settings,
                    workdir / name,
                    outbound={"idle_poll_seconds": IDLE_POLL},
                    node_name="daemon",
                )
            )
            for name in ("daemon.toml", "daemon-again.toml")
        )
        engine = create_engine(url)
        sessions = session_factory(engine)
        try:
            await first.start()
            async with sessions() as session, session.begin():
                ctx = Context(settings, await sync_networks(session, settings))
            sink.reset()
            queued = await approve(ctx, sessions, prepared.reference, prepared.zone)
            await sink.wait_matched(int(n * KILL_AT), 60 + n / 250)
            first.kill()
            at_kill = sink.count("matched")
            restarted = time.monotonic()
            await second.start()
            received = await _until_all(sink, prepared.addresses, 60 + n / 250)  # well under the lease
            done = sink.last_at - restarted
            extra = set(received) - prepared.addresses
            states = await wait_recorded(sessions, n)
            if queued != n or extra or states != {"sent": n}:
                raise AssertionError(f"queued {queued}, {len(extra)} unexpected, states {states}")
        finally:
            first.kill()
            await second.stop()
            await engine.dispose()
    duplicates = sum(c - 1 for c in Counter(received).values())
    return KillRun(n, at_kill, duplicates, done, settings.outbound.connections)


async def run(sink: CountingSink, runs: int, n: int) -> dict[str, Any]:
    """``runs`` kills on SQLite, and on PostgreSQL when a URL is set (``bench.intake.pg_url``)."""
    out: dict[str, Any] = {}
    for kind, url in [("sqlite", None), *([("postgresql", pg_url())] if pg_url() else [])]:
        templates = Templates(sink, url)
        done: list[KillRun] = []
        try:
            for i in range(runs):
                done.append(result := await run_once(sink, templates, n))
                print(
                    f"  run {i + 1}/{runs} fanout-kill {kind:<10} killed at {result.at_kill}/{n}, "
                    f"{result.duplicates} duplicates, done {result.restart_to_done:.2f} s after the restart",
                    flush=True,
                )
        finally:
            await templates.close()
        out[kind] = summary(done)
    return out


def table(summaries: dict[str, Any]) -> str:
    """The row per database ("" when it did not run)."""
    if not summaries:
        return ""
    lines = [
        f"{'fanout-kill':<12} {'recipients':>10} {'duplicates median':>17} {'max':>4} {'bound':>5} "
        f"{'restart→done':>12}"
    ]
    for kind, s in summaries.items():
        lines.append(
            f"{kind:<12} {s['recipients']:>10} {s['median_duplicates']:>17} {s['max_duplicates']:>4} "
            f"{s['connections']:>5} {s['median_restart_to_done_seconds']:>10.2f} s"
        )
    return "\n".join(lines)


def summary(runs: list[KillRun]) -> dict[str, Any]:
    return {
        "recipients": runs[0].recipients,
        "connections": runs[0].connections,
        "median_duplicates": statistics.median(r.duplicates for r in runs),
        "max_duplicates": max(r.duplicates for r in runs),
        "median_restart_to_done_seconds": statistics.median(r.restart_to_done for r in runs),
        "bound_met": all(r.duplicates <= r.connections for r in runs),
        "runs": [
            {
                "at_kill": r.at_kill,
                "duplicates": r.duplicates,
                "restart_to_done_seconds": round(r.restart_to_done, 2),
            }
            for r in runs
        ],
    }
