"""intake: 20 concurrent SMTP senders post N reports of ~20 KB to a real Relay; each 250 follows a commit.

The relay (SQLite, or PostgreSQL in a scratch database) runs in this process with its processor and
outbound worker; its acknowledgements (one per report, each reporter is a distinct address) and
notifications (one per moderator) go to the counting sink. Measured: from the first MAIL FROM to the
last 250, and per message the time from MAIL FROM to the 250 after DATA, in the sender. Afterwards the
run waits until every acknowledgement and notification has reached the sink (exactly once).

Fairness (issue 16): halfway through, a second sender, a known subscriber of the network, posts one
report on a connection of its own; measured are the time from its 250 to its announcement
(``Report.notified_at``, set when the moderators' notifications are queued) and the announcement
backlog when the senders stop (reports accepted but not yet announced).

The baseline is a bare aiosmtpd server in this same process that appends each message to one file and
fsyncs it (in a thread) before answering 250.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench import generate
from bench.fanout import MODERATORS, NETWORK, PUBLIC_URL, check_exactly_once
from bench.sink import CountingSink
from save_relay.app import Relay
from save_relay.core.clock import as_utc, utcnow
from save_relay.core.settings import Settings, load_settings
from save_relay.store.tables import Delivery, InboundMessage, Report, Subscriber, SubscriberAddress

SENDERS = 20
REPORT_BYTES = 20 * 1024
REFERENCE = re.compile(r"[A-Z]+-\d{4}-\d{6}")  # in the 250: "Ok: queued as SAVE-2026-000123"
PG_ENV = ("SAVE_RELAY_BENCH_DATABASE_URL", "SAVE_RELAY_TEST_DATABASE_URL")
KNOWN_SENDER = "user-wachtdienst@bewaking.example"  # the second sender, a subscriber (the sink's prefix)


@dataclass(frozen=True, slots=True)
class IntakeRun:
    messages: int
    seconds: float  # first MAIL FROM to the last 250
    latencies: list[float]  # per message, MAIL FROM to the 250 after DATA, seconds
    drain_seconds: float | None = None  # last 250 until every ack and notification is at the sink
    mean_message_bytes: float = 0.0
    backlog: int | None = None  # reports accepted but not yet announced when the senders stopped
    known_seconds: float | None = None  # the known sender's report: its 250 to its announcement

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    def quantile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def pg_url() -> str | None:
    for name in PG_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def scratch_postgres(url: str, template: str | None = None) -> AsyncIterator[str]:
    """A new database on the server of ``url``, empty or a copy of the database ``template`` (dropped
    afterwards); yields its asyncpg URL."""
    import asyncpg

    name = f"save_relay_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_dsn(url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await admin.close()
    try:
        yield (
            make_url(url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        admin = await asyncpg.connect(_dsn(url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def database(kind: str, workdir: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'relay.sqlite3'}"
        return
    url = pg_url()
    if url is None:
        raise RuntimeError(f"set one of {PG_ENV} for PostgreSQL")
    async with scratch_postgres(url) as scratch:
        yield scratch


def relay_settings(db_url: str, workdir: Path, sink_port: int, **network: Any) -> Settings:
    return load_settings(
        None,
        database={"url": db_url},
        smtp={"host": "127.0.0.1", "port": 0, "hostname": "relay.bench"},  # 127.0.0.1 is rate-limit exempt
        http={"host": "127.0.0.1", "port": 0, "public_url": PUBLIC_URL},
        metrics={"host": "127.0.0.1", "port": 0},  # a free port: a running daemon may hold 9925
        outbound={
            "mode": "smtp",
            "smarthost_host": "127.0.0.1",
            "smarthost_port": sink_port,
            "connections": 8,
            "batch_size": 500,
            "maildir": str(workdir / "outbox"),
        },
        networks={
            "industrie": {
                "address": NETWORK,
                "name": "SaVE Lommel",
                "language": "nl",
                "moderators": MODERATORS,
                "default_groups": [],
                **network,
            }
        },
    )


def report(i: int, size: int = REPORT_BYTES, run_id: str = "r") -> tuple[str, bytes]:
    sender = generate.reporter(i)
    message = EmailMessage()
    message["From"] = f"Melder {i} <{sender}>"
    message["To"] = NETWORK
    message["Subject"] = f"Verdacht voertuig aan de werf, melding {i}"
    message["Message-ID"] = f"<bench-{run_id}-{i}@reporters.example>"
    message["Date"] = "Tue, 24 Nov 2026 03:12:00 +0100"
    message.set_content(generate.report_text(i, size))
    return sender, message.as_bytes(policy=email.policy.SMTP)


async def _sender(
    port: int, work: Iterator[tuple[str, bytes]], latencies: list[float], replies: list[str]
) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120, start_tls=False)
    await client.connect()
    try:
        for sender, data in work:  # shared iterator: each task takes the next message
            t0 = time.monotonic()
            errors, reply = await client.sendmail(sender, [NETWORK], data)
            latencies.append(time.monotonic() - t0)
            replies.append(reply)
            if errors:
                raise RuntimeError(f"refused: {errors}")
    finally:
        await client.quit()


async def send_all(
    port: int, messages: list[tuple[str, bytes]], replies: list[str] | None = None
) -> tuple[float, list[float]]:
    """Every message over SENDERS connections; (seconds, time to 250 of each); the 250 texts into replies."""
    latencies: list[float] = []
    work = iter(messages)
    started = time.monotonic()
    sink = replies if replies is not None else []
    await asyncio.gather(*(_sender(port, work, latencies, sink) for _ in range(SENDERS)))
    return time.monotonic() - started, latencies


async def wait_drained(relay: Relay, sink: CountingSink, n: int, timeout: float) -> None:
    """Until every report is announced and every delivery (ack, notifications) is sent and at the sink."""
    deadline = time.monotonic() + timeout
    while True:
        async with relay.sessions() as session:
            announced = await session.scalar(
                select(func.count()).select_from(Report).where(Report.notified_at.is_not(None))
            )
            total = await session.scalar(select(func.count()).select_from(Delivery))
            unsent = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
            )
        if (
            announced == n
            and unsent == 0
            and sink.count("recipients") >= (total or 0)
            and sink.count("matched") >= n
        ):
            expected = n * (1 + len(MODERATORS))
            if total != expected or sink.count("recipients") != expected:
                raise AssertionError(
                    f"{total} deliveries, {sink.count('recipients')} at the sink, expected {expected}"
                )
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not drained in {timeout} s: {announced}/{n} announced, {unsent} unsent")
        await asyncio.sleep(0.1)


async def add_known_sender(relay: Relay) -> None:
    """``KNOWN_SENDER`` becomes an active address of a subscriber of the network."""
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        subscriber = Subscriber(network_id=relay.ctx.networks["industrie"].id, company="Bewaking NV")
        session.add(subscriber)
        await session.flush()
        session.add(SubscriberAddress(subscriber_id=subscriber.id, address=KNOWN_SENDER))


async def post_known_midway(port: int, replies: list[str], n: int) -> tuple[str, datetime]:
    """When half of the ``n`` flood messages have their 250, ``KNOWN_SENDER`` posts one report on its
    own connection; (its 250's text, when the 250 came)."""
    while len(replies) < n // 2:
        await asyncio.sleep(0.01)
    _sender_address, data = report(n, run_id="known")
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120, start_tls=False)
    await client.connect()
    try:
        errors, reply = await client.sendmail(KNOWN_SENDER, [NETWORK], data)
    finally:
        await client.quit()
    if errors:
        raise RuntimeError(f"refused: {errors}")
    return reply, utcnow()


async def unannounced(relay: Relay) -> int:
    """Messages accepted that no announcement has gone out for yet (processed or not)."""
    async with relay.sessions() as session:
        accepted = await session.scalar(select(func.count()).select_from(InboundMessage))
        announced = await session.scalar(
            select(func.count()).select_from(Report).where(Report.notified_at.is_not(None))
        )
    return int(accepted or 0) - int(announced or 0)


async def announced_after(relay: Relay, reference: str, since: datetime, timeout: float) -> float:
    """Seconds from ``since`` to the announcement of ``reference``, waiting for it up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        async with relay.sessions() as session:
            at = await session.scalar(select(Report.notified_at).where(Report.reference == reference))
        if at is not None:
            return (as_utc(at) - since).total_seconds()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{reference} not announced {timeout} s after the flood")
        await asyncio.sleep(0.05)


def reports(n: int) -> list[tuple[str, bytes]]:
    """The ``n`` reports (``report(i)``) every intake run sends: made once per size, reused by all runs.

    Making them takes about 3 ms each (``EmailMessage``), as long as sending them; every run has a
    database of its own, so the same Message-IDs never meet.
    """
    return [report(i) for i in range(n)]


async def run_once(
    sink: CountingSink,
    messages: list[tuple[str, bytes]],
    kind: str = "sqlite",
    timeout: float = 300.0,
    drain: bool = False,
) -> IntakeRun:
    """The reports (``reports(n)``) from SENDERS connections; with ``drain``, also wait for every
    acknowledgement and notification."""
    n = len(messages)
    with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
        async with database(kind, Path(tmp)) as db_url:
            relay = Relay(relay_settings(db_url, Path(tmp), sink.port))
            await relay.start()
            try:
                await add_known_sender(relay)
                sink.reset()
                replies: list[str] = []
                known = asyncio.create_task(post_known_midway(relay.smtp_port, replies, n))
                seconds, latencies = await send_all(relay.smtp_port, messages, replies)
                done = time.monotonic()
                backlog = await unannounced(relay)
                known_reply, known_at = await known
                match = REFERENCE.search(known_reply)
                if match is None:
                    raise AssertionError(f"no reference in the known sender's 250: {known_reply}")
                known_seconds = await announced_after(relay, match.group(0), known_at, timeout)
                drained = None
                if drain:
                    await wait_drained(relay, sink, n + 1, timeout)
                    drained = time.monotonic() - done
                    reporters = frozenset([KNOWN_SENDER, *(generate.reporter(i) for i in range(n))])
                    check_exactly_once(sink.dump(), reporters)
                async with relay.sessions() as session:
                    stored = set(await session.scalars(select(Report.reference)))
                answered = {m.group(0) for r in replies if (m := REFERENCE.search(r))} | {match.group(0)}
                if len(stored) != n + 1 or answered != stored or len(latencies) != n:
                    raise AssertionError(
                        f"{len(stored)} reports stored, {len(answered)} references answered "
                        f"({len(answered - stored)} not stored), {len(latencies)} answered, expected {n} + 1"
                    )
            finally:
                await relay.stop()
    mean = statistics.mean(len(m[1]) for m in messages)
    return IntakeRun(n, seconds, latencies, drained, mean, backlog, known_seconds)


class _FileHandler:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.count = 0

    def _append(self, data: bytes) -> None:
        os.write(self.fd, data)
        os.fsync(self.fd)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.to_thread(self._append, envelope.original_content or b"")
        self.count += 1
        return "250 2.0.0 Ok"


async def baseline_once(messages: list[tuple[str, bytes]]) -> IntakeRun:
    from aiosmtpd.smtp import SMTP

    n = len(messages)
    with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
        fd = os.open(Path(tmp) / "spool", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        handler = _FileHandler(fd)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="base.bench", data_size_limit=25 * 1024 * 1024),
            host="127.0.0.1",
            port=0,
        )
        try:
            seconds, latencies = await send_all(server.sockets[0].getsockname()[1], messages)
        finally:
            server.close()
            os.close(fd)
    if handler.count != n:
        raise AssertionError(f"baseline stored {handler.count} of {n}")
    mean = statistics.mean(len(m[1]) for m in messages)
    return IntakeRun(n, seconds, latencies, 0.0, mean)
