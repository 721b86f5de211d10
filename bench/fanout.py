"""fanout-10k: one report approved through the CLI path to N generated subscribers of one zone.

A real Relay on a fresh SQLite database sends to the sink over SMTP (8 connections, batches of 500).
Measured: from the commit of the approval to the last subscriber recipient counted at the sink.
"""

from __future__ import annotations

import asyncio
import email.policy
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from sqlalchemy import func, select

from bench import generate
from bench.sink import CountingSink
from save_relay.app import Relay
from save_relay.core.context import Context
from save_relay.core.settings import Settings, load_settings
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store import deliveries
from save_relay.store.db import SessionFactory
from save_relay.store.reports import by_reference as get_report
from save_relay.store.tables import Delivery, Report

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
MODERATORS = ["inspecteur.peeters@politie.lommel.be", "commissaris.janssens@politie.lommel.be"]
CONNECTIONS = 8
BATCH_SIZE = 500
PUBLIC_URL = "https://relay.example.be"


@dataclass(frozen=True, slots=True)
class Run:
    recipients: int
    seconds: float
    approve_seconds: float  # decide() until its commit (render + INSERT ... SELECT), not in ``seconds``
    mean_message_bytes: float
    bench_cpu: float = 0.0  # CPU seconds of this process (all threads) during the measurement
    sink_cpu: float = 0.0  # CPU seconds of the sink process during the measurement

    @property
    def per_second(self) -> float:
        return self.recipients / self.seconds


def report_message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Jan Vos <{REPORTER}>"
    message["To"] = NETWORK
    message["Subject"] = "Koperdiefstal op de werf, verdachte witte bestelwagen"
    message["Message-ID"] = "<bench-report-1@metaalwerken-vos.example>"
    message["Date"] = "Tue, 24 Nov 2026 03:12:00 +0100"
    message.set_content(
        "Vannacht om 03:00 stond een witte bestelwagen (Ford Transit, Poolse plaat, deels leesbaar:\n"
        "WX 4...) een half uur aan onze poort aan de Balendijk. Twee mannen in donkere kledij hebben\n"
        "het hek aan de achterkant geforceerd en ongeveer 200 kg koperkabel van de werf meegenomen.\n"
        "De camerabeelden zijn beschikbaar voor de politie. Wees alert op gelijkaardige voertuigen.\n"
    )
    return message


def settings_for(workdir: Path, sink_port: int) -> Settings:
    return load_settings(
        None,
        database={"url": f"sqlite+aiosqlite:///{workdir / 'relay.sqlite3'}"},
        smtp={"host": "127.0.0.1", "port": 0, "hostname": "relay.bench"},
        http={"host": "127.0.0.1", "port": 0, "public_url": PUBLIC_URL},  # one-click unsubscribe URLs
        metrics={"host": "127.0.0.1", "port": 0},  # a free port: a running daemon may hold 9925
        outbound={
            "mode": "smtp",
            "smarthost_host": "127.0.0.1",
            "smarthost_port": sink_port,
            "connections": CONNECTIONS,
            "batch_size": BATCH_SIZE,
            "maildir": str(workdir / "outbox"),
        },
        networks={
            "industrie": {
                "address": NETWORK,
                "name": "SaVE Lommel",
                "language": "nl",
                "moderators": MODERATORS,
                "default_groups": [],
            }
        },
    )


async def post_report(port: int) -> str:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30, start_tls=False)
    await client.connect()
    try:
        await client.mail(REPORTER)
        await client.rcpt(NETWORK)
        response = await client.data(report_message().as_bytes(policy=email.policy.SMTP))
    finally:
        await client.quit()
    found = re.search(r"[A-Z]+-\d{4}-\d{6}", response.message)
    if response.code != 250 or found is None:
        raise RuntimeError(f"report refused: {response.code} {response.message}")
    return found.group(0)


async def wait_announced(relay: Relay, reference: str, timeout: float = 30.0) -> None:
    """Until the report is announced and the acknowledgement and notifications are sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with relay.sessions() as session:
            notified = await session.scalar(select(Report.notified_at).where(Report.reference == reference))
            unsent = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
            )
        if notified is not None and unsent == 0:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{reference} was not announced within {timeout} s")


async def wait_recorded(sessions: SessionFactory, n: int, timeout: float = 30.0) -> dict[str, int]:
    """The newest distribution's delivery states once every outcome is recorded (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:
            distribution_id = await session.scalar(select(func.max(Delivery.distribution_id)))
            states = await deliveries.counts(session, distribution_id or 0)
        if states.get("sent") == n or time.monotonic() > deadline:
            return states
        await asyncio.sleep(0.05)


def check_exactly_once(received: list[str], expected: frozenset[str]) -> None:
    counts = Counter(received)
    twice = sorted(a for a, c in counts.items() if c > 1)
    missing = expected - counts.keys()
    extra = counts.keys() - expected
    if twice or missing or extra:
        raise AssertionError(
            f"not exactly once: {len(missing)} missing, {len(twice)} duplicated, {len(extra)} unexpected"
            f" (e.g. {(sorted(missing) + twice + sorted(extra))[:3]})"
        )


async def approve(ctx: Context, sessions: SessionFactory, reference: str, zone: str) -> int:
    """Approve the report for ``zone`` as the CLI does (one transaction); returns the recipients queued."""
    async with sessions() as session, session.begin():
        report = await get_report(session, reference)
        applied = await decide(
            session,
            ctx,
            report,
            Decision(action="approve", zones=[zone]),
            Actor(name="bench", via="cli"),
        )
    return applied.recipients


async def run_once(sink: CountingSink, n: int, seed: int = 1, timeout: float = 240.0) -> Run:
    with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
        relay = Relay(settings_for(Path(tmp), sink.port))
        await relay.start()  # migrates the fresh database and syncs the networks
        try:
            assert relay.ctx is not None and relay.worker is not None
            async with relay.sessions() as session, session.begin():
                population = await generate.load(session, relay.ctx.networks["industrie"].id, n, seed)
            reference = await post_report(relay.smtp_port)
            await wait_announced(relay, reference)
            sink.reset()
            started = time.monotonic()
            queued = await approve(relay.ctx, relay.sessions, reference, population.zone_slug)
            committed = time.monotonic()
            cpu = (time.process_time(), sink.cpu_seconds())
            # A CLI approval in another process is seen at the worker's next idle poll (default 1 s);
            # waking it here measures the sending, not the poll interval.
            relay.worker.wake()
            await sink.wait_matched(n, timeout)
            seconds = sink.last_at - committed
            bench_cpu, sink_cpu = time.process_time() - cpu[0], sink.cpu_seconds() - cpu[1]
            mean_bytes = sink.count("bytes") / max(1, sink.count("messages"))
            check_exactly_once(sink.dump(), population.addresses)
            states = await wait_recorded(relay.sessions, n)
            if queued != n or states != {"sent": n}:
                raise AssertionError(f"queued {queued}, delivery states {states}, expected {n} sent")
        finally:
            await relay.stop()
    return Run(n, seconds, committed - started, mean_bytes, bench_cpu, sink_cpu)
