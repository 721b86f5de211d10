"""What fanout-100k and scale-out share: prepared databases and one fan-out by daemons in child processes.

A template database (SQLite file or PostgreSQL database) is built once per size: N generated
subscribers and one report, posted over SMTP to an in-process Relay and announced (acknowledgement and
notifications sent), waiting for approval. Each measured run gets a copy of it (a file copy, or
``CREATE DATABASE ... TEMPLATE``), starts its daemons (``save-relay serve``, see ``bench.daemon``),
approves the report the CLI way in this process, and takes the time from the approval's commit to the
last subscriber recipient at the sink. A daemon sees an approval made by another process at its next
idle poll, set to ``IDLE_POLL`` seconds here (the default is 1 s).

Checks: every subscriber exactly once at the sink, every delivery ``sent`` after exactly one attempt.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench import generate, procstat
from bench.daemon import Daemon, write_config
from bench.fanout import approve, check_exactly_once, post_report, wait_announced, wait_recorded
from bench.intake import relay_settings, scratch_postgres
from bench.sink import CountingSink
from save_relay.app import Relay
from save_relay.core.context import Context
from save_relay.core.settings import Settings
from save_relay.store.db import SessionFactory, create_engine, is_sqlite, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Delivery

IDLE_POLL = 0.05


@dataclass(frozen=True, slots=True)
class Prepared:
    reference: str  # the report waiting for approval
    zone: str
    addresses: frozenset[str]  # the zone's subscribers


@dataclass(frozen=True, slots=True)
class DaemonRun:
    recipients: int
    seconds: float  # approval's commit to the last recipient at the sink
    peak_rss_mib: list[float]  # VmHWM of each daemon process, read after the last outcome was recorded
    cpu_shares: list[float]  # each daemon's CPU seconds over the measured window (1.0 = one core)
    sink_cpu_share: float
    bench_cpu_share: float  # this process: the approval and the polling
    postgres_cpu_share: float | None  # the PostgreSQL backends serving this database
    machine_busy: float  # share of all cores busy in the window, whoever used them
    sent_by: list[int]  # deliveries each daemon sent, in daemon order

    @property
    def per_second(self) -> float:
        return self.recipients / self.seconds


async def prepare(db_url: str, workdir: Path, sink: CountingSink, n: int, seed: int = 1) -> Prepared:
    """Migrate, generate ``n`` subscribers, post one report and wait until it is announced."""
    relay = Relay(relay_settings(db_url, workdir, sink.port))
    await relay.start()
    try:
        assert relay.ctx is not None
        async with relay.sessions() as session, session.begin():
            population = await generate.load(session, relay.ctx.networks["industrie"].id, n, seed)
        reference = await post_report(relay.smtp_port)
        await wait_announced(relay, reference)
    finally:
        await relay.stop()
    return Prepared(reference, population.zone_slug, population.addresses)


class Templates:
    """Prepared databases by size, built on first use; ``url`` None: SQLite, else that PostgreSQL server."""

    def __init__(self, sink: CountingSink, url: str | None = None) -> None:
        self.sink = sink
        self.url = url
        self.dir = Path(tempfile.mkdtemp(prefix="save-relay-bench-"))
        self._made: dict[int, tuple[str, Prepared]] = {}
        self._stack = contextlib.AsyncExitStack()
        self.setup_seconds: dict[int, float] = {}

    async def _make(self, n: int) -> tuple[str, Prepared]:
        if n not in self._made:
            started = time.monotonic()
            if self.url is None:
                url = f"sqlite+aiosqlite:///{self.dir / f'template-{n}.sqlite3'}"
            else:
                url = await self._stack.enter_async_context(scratch_postgres(self.url))
            self._made[n] = (url, await prepare(url, self.dir, self.sink, n))
            self.setup_seconds[n] = time.monotonic() - started
        return self._made[n]

    @contextlib.asynccontextmanager
    async def copy(self, n: int) -> AsyncIterator[tuple[str, Path, Prepared]]:
        """A fresh copy of the prepared database of size ``n``: (URL, a work folder, what it holds)."""
        template, prepared = await self._make(n)
        with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
            workdir = Path(tmp)
            if self.url is None:
                source = Path(str(make_url(template).database))
                for suffix in ("", "-wal"):  # the Relay's stop checkpointed the WAL; if not, it comes along
                    if Path(f"{source}{suffix}").exists():
                        shutil.copyfile(f"{source}{suffix}", workdir / f"relay.sqlite3{suffix}")
                yield f"sqlite+aiosqlite:///{workdir / 'relay.sqlite3'}", workdir, prepared
            else:
                name = make_url(template).database
                async with scratch_postgres(self.url, template=name) as url:
                    yield url, workdir, prepared

    async def close(self) -> None:
        await self._stack.aclose()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _Cpu:
    at: float
    daemons: list[float]
    sink: float
    bench: float
    postgres: dict[int, float] | None
    machine: procstat.MachineCpu

    @classmethod
    def read(cls, daemons: list[Daemon], sink: CountingSink, postgres: bool) -> _Cpu:
        return cls(
            time.monotonic(),
            [d.cpu_seconds() for d in daemons],
            sink.cpu_seconds(),
            time.process_time(),
            procstat.command_cpu("postgres") if postgres else None,
            procstat.MachineCpu.now(),
        )


async def _backends(sessions: SessionFactory) -> set[int]:
    """Process ids of the PostgreSQL backends connected to this database (the daemons' pools too)."""
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        )
        return {int(pid) for (pid,) in rows.all()}


async def _sent_by(sessions: SessionFactory, nodes: list[str]) -> tuple[list[int], int]:
    """Sent deliveries of the newest distribution per claiming node, and the most attempts of any."""
    async with sessions() as session:
        newest = select(func.max(Delivery.distribution_id)).scalar_subquery()
        rows = await session.execute(
            select(Delivery.claimed_by, func.count(), func.max(Delivery.attempts))
            .where(Delivery.distribution_id == newest, Delivery.status == "sent")
            .group_by(Delivery.claimed_by)
        )
        found = {node: (count, attempts) for node, count, attempts in rows.all()}
    return [found.get(node, (0, 0))[0] for node in nodes], max((a for _, a in found.values()), default=0)


async def fan_out(
    sink: CountingSink, settings: Settings, workdir: Path, prepared: Prepared, daemons: list[dict[str, Any]]
) -> DaemonRun:
    """Start one child daemon per overrides dict (each with its own ``node_name``), approve, measure."""
    n = len(prepared.addresses)
    children = [
        Daemon(
            write_config(
                settings, workdir / f"daemon-{i}.toml", outbound={"idle_poll_seconds": IDLE_POLL}, **overrides
            )
        )
        for i, overrides in enumerate(daemons)
    ]
    nodes = [str(overrides["node_name"]) for overrides in daemons]
    postgres = not is_sqlite(settings.database.url)
    engine = create_engine(settings.database.url)
    sessions = session_factory(engine)
    try:
        for child in children:
            await child.start()
        async with sessions() as session, session.begin():
            ctx = Context(settings, await sync_networks(session, settings))
        sink.reset()
        before = _Cpu.read(children, sink, postgres)
        queued = await approve(ctx, sessions, prepared.reference, prepared.zone)
        committed = time.monotonic()
        await sink.wait_matched(n, 60 + n / 250)
        after = _Cpu.read(children, sink, postgres)
        backends = await _backends(sessions) if postgres else set()
        seconds = sink.last_at - committed
        check_exactly_once(sink.dump(), prepared.addresses)
        states = await wait_recorded(sessions, n)
        sent_by, attempts = await _sent_by(sessions, nodes)
        if queued != n or states != {"sent": n} or sum(sent_by) != n or attempts != 1:
            raise AssertionError(
                f"queued {queued}, states {states}, sent by {dict(zip(nodes, sent_by, strict=True))}, "
                f"at most {attempts} attempts; expected {n} sent once each"
            )
        peaks = [child.peak_rss_mib() for child in children]
    finally:
        for child in children:  # all at once: they stop in parallel
            child.terminate()
        for child in children:
            await child.stop()
        await engine.dispose()
    window = after.at - before.at
    return DaemonRun(
        recipients=n,
        seconds=seconds,
        peak_rss_mib=peaks,
        cpu_shares=[(a - b) / window for a, b in zip(after.daemons, before.daemons, strict=True)],
        sink_cpu_share=(after.sink - before.sink) / window,
        bench_cpu_share=(after.bench - before.bench) / window,
        postgres_cpu_share=procstat.cpu_since(before.postgres, after.postgres, backends) / window
        if after.postgres is not None and before.postgres is not None
        else None,
        machine_busy=after.machine.share_since(before.machine),
        sent_by=sent_by,
    )
