"""SIGKILL the real daemon (``save-relay serve`` in its own process) and start it again (invariants 1, 2).

- In the middle of a fan-out to 2,000 recipients: after the restart every recipient gets the message at
  least once, and the duplicates stay within the one batch the killed worker had claimed.
- In the middle of a stream of reports: every report that was answered 250 is in the database after the
  restart, and the restarted daemon announces all of them.

The smarthost is a sink in this test process; the database is a SQLite file, or a PostgreSQL database
when SAVE_RELAY_TEST_DATABASE_URL is set (the ``db_url`` fixture).
"""

from __future__ import annotations

import asyncio
import email.policy
import smtplib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, insert, select

from save_relay.store.db import create_engine, session_factory
from save_relay.store.tables import (
    Delivery,
    InboundMessage,
    Network,
    Report,
    Subscriber,
    SubscriberAddress,
    Zone,
    ZoneMembership,
)
from tests.e2e.test_cli import REFERENCE, Daemon, ok, relay_config, run_cli, write_config
from tests.helpers import Sink, report_message, smtp_send, wait_for

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
MODERATORS = ["inspecteur.peeters@politie.lommel.be", "commissaris.janssens@politie.lommel.be"]
ZONE = "park-noord"
SUBSCRIBERS = 2000
BATCH_SIZE = 100
CONNECTIONS = 4


@dataclass
class SlowSink(Sink):
    """A smarthost that takes a little time per message, so that a kill lands mid-fan-out."""

    delay: float = 0.002
    seen: set[str] = field(default_factory=set)
    notified: dict[str, set[str]] = field(default_factory=dict)  # reference -> who got a one-off mail

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        rcpts = {r.lower() for r in envelope.rcpt_tos}
        self.seen.update(rcpts)
        head = BytesHeaderParser().parsebytes(envelope.original_content or b"")
        if head["X-Save-Relay-Reference"] and not head["List-Id"]:  # ack, notification
            self.notified.setdefault(str(head["X-Save-Relay-Reference"]), set()).update(rcpts)
        return await super().handle_DATA(server, session, envelope)


async def start_slow_sink() -> SlowSink:
    sink = SlowSink()
    loop = asyncio.get_running_loop()
    sink.server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", enable_SMTPUTF8=True), host="127.0.0.1", port=0
    )
    return sink


@pytest.fixture
async def slow_sink() -> AsyncIterator[SlowSink]:
    sink = await start_slow_sink()
    yield sink
    await sink.stop()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """The daemons a test started; any still running at the end are killed."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def crash_config(workdir: Path, db_url: str, sink_port: int) -> Path:
    data = relay_config(workdir)
    data["database"]["url"] = db_url
    data["outbound"].update(
        mode="smtp",
        smarthost_host="127.0.0.1",
        smarthost_port=sink_port,
        connections=CONNECTIONS,
        batch_size=BATCH_SIZE,
        lease_seconds=300.0,  # the default: the restarted daemon takes its own leases back at once
        idle_poll_seconds=0.2,
        retry_base_seconds=0.5,
        retry_max_seconds=2.0,
        timeout=10.0,
    )
    data["networks"]["industrie"]["default_groups"] = []
    # one moderator approves the 2,000-address fan-out at once (the example config asks two above 500)
    data["networks"]["industrie"].get("four_eyes", {}).pop("recipients_above", None)
    return write_config(workdir / "save-relay.toml", data)


async def start_daemon(config: Path, cwd: Path, daemons: list[Daemon]) -> Daemon:
    cwd.mkdir(exist_ok=True)  # each run its own folder: the killed daemon's log stays readable
    daemon = await asyncio.to_thread(Daemon, config, cwd)
    daemons.append(daemon)
    return daemon


def sigkill(daemon: Daemon) -> None:
    daemon.proc.kill()  # SIGKILL: no handler, no cleanup, no last commit
    assert daemon.proc.wait(10) == -9


async def seed_zone(db_url: str, count: int) -> list[str]:
    """``count`` subscribers in one zone, in bulk (executemany); returns their addresses."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            network_id = await session.scalar(select(Network.id).where(Network.slug == "industrie"))
            assert network_id is not None, "run `save-relay init` first"
            square = [[5.28, 51.23], [5.30, 51.23], [5.30, 51.25], [5.28, 51.25], [5.28, 51.23]]
            zone_id = await session.scalar(
                insert(Zone)
                .values(
                    network_id=network_id,
                    slug=ZONE,
                    name="Park Noord",
                    kind="area",
                    geojson={"type": "Polygon", "coordinates": [square]},
                )
                .returning(Zone.id)
            )
            companies = [f"Firma {i:04d} NV" for i in range(count)]
            await session.execute(
                insert(Subscriber), [{"network_id": network_id, "company": c} for c in companies]
            )
            ids = {
                company: id_
                for company, id_ in await session.execute(select(Subscriber.company, Subscriber.id))
            }
            addresses = [f"firma{i:04d}@park-noord.example" for i in range(count)]
            await session.execute(
                insert(SubscriberAddress),
                [
                    {"subscriber_id": ids[c], "address": a, "status": "active"}
                    for c, a in zip(companies, addresses, strict=True)
                ],
            )
            await session.execute(
                insert(ZoneMembership),
                [{"subscriber_id": ids[c], "zone_id": zone_id, "source": "manual"} for c in companies],
            )
    finally:
        await engine.dispose()
    return addresses


async def query(db_url: str, statement: Any) -> list[Any]:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(statement)).all())
    finally:
        await engine.dispose()


def notified(sink: SlowSink, reference: str) -> bool:
    """Both moderators got the notification of ``reference``."""
    return set(MODERATORS) <= sink.notified.get(reference, set())


@pytest.mark.slow
async def test_sigkill_mid_fanout_every_recipient_gets_it_at_least_once(
    db_url: str, slow_sink: SlowSink, tmp_path: Path, daemons: list[Daemon]
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = crash_config(workdir, db_url, slow_sink.port)
    ok(await asyncio.to_thread(run_cli, config, "init", cwd=workdir))
    addresses = await seed_zone(db_url, SUBSCRIBERS)
    expected = set(addresses)

    daemon = await start_daemon(config, workdir / "run1", daemons)
    code, text = await smtp_send(daemon.port, REPORTER, [NETWORK], report_message())
    assert code == 250, text
    match = REFERENCE.search(text)
    assert match, text
    reference = match.group(0)
    await wait_for(lambda: notified(slow_sink, reference), timeout=20)  # announced: zones known

    approved = ok(
        await asyncio.to_thread(run_cli, config, "queue", "approve", reference, "--zones", ZONE, cwd=workdir)
    )
    assert f"{reference} approved: {SUBSCRIBERS} recipient(s)" in approved, approved

    def distinct() -> int:
        return len(slow_sink.seen & expected)

    await wait_for(lambda: distinct() >= 350, timeout=60, interval=0.005)
    sigkill(daemon)
    at_kill = distinct()
    await asyncio.sleep(0.2)  # let the sink finish with any session the kill cut off
    before_restart = distinct()
    assert before_restart < SUBSCRIBERS, "the kill came too late: the fan-out had finished"
    messages_before = sum(1 for r in slow_sink.recipients() if r in expected)

    restarted = await start_daemon(config, workdir / "run2", daemons)
    await wait_for(lambda: distinct() == SUBSCRIBERS, timeout=60, interval=0.05)  # well before the lease

    delivered = [r for r in slow_sink.recipients() if r in expected]
    assert set(delivered) == expected
    duplicates = len(delivered) - SUBSCRIBERS
    # Why at most the connections (issue 16): a delivery is recorded as sent before its connection
    # sends the next (grouped writes across the connections), so what a kill leaves unrecorded is
    # what was in flight: at most one per connection.
    assert 0 <= duplicates <= CONNECTIONS, duplicates

    # The database agrees: every delivery sent, exactly one per address.
    rows = await query(
        db_url,
        select(SubscriberAddress.address, func.count())
        .join(Delivery, func.lower(SubscriberAddress.address) == Delivery.recipient)
        .where(Delivery.kind == "distribution")
        .group_by(SubscriberAddress.address),
    )
    assert len(rows) == SUBSCRIBERS and {count for _, count in rows} == {1}
    await wait_for(lambda: _all_sent(db_url), timeout=30)

    assert await asyncio.to_thread(restarted.terminate) == 0  # it says QUIT to our sink: no blocking
    print(
        f"\nfan-out kill: {at_kill} of {SUBSCRIBERS} recipients reached before SIGKILL "
        f"({before_restart} after the cut-off sessions, {messages_before} messages); "
        f"after restart all {SUBSCRIBERS} reached, {duplicates} duplicate(s) (bound {CONNECTIONS})"
    )


async def _all_sent(db_url: str) -> bool:
    rows = await query(db_url, select(Delivery.status, func.count()).group_by(Delivery.status))
    return dict(rows).keys() == {"sent"}


@dataclass
class Sender:
    """Sends ``total`` reports one by one, each over its own connection, to whatever port the current
    daemon listens on; records the reference of every 250 and the reports that got no answer."""

    total: int
    port: int
    accepted: dict[str, int] = field(default_factory=dict)  # reference -> report number
    unanswered: list[int] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    error: BaseException | None = None

    def set_port(self, port: int) -> None:
        with self.lock:
            self.port = port
            self.lock.notify_all()

    def _message(self, number: int) -> bytes:
        message: EmailMessage = report_message(
            subject=f"Melding nummer {number}", body=f"Melding nummer {number}: een witte bestelwagen.\n"
        )
        return message.as_bytes(policy=email.policy.SMTP)

    def _send(self, port: int, number: int) -> str:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("sender.test")
            client.mail(REPORTER)
            client.rcpt(NETWORK)
            code, text = client.data(self._message(number))
        answer = text.decode()
        assert code == 250, answer
        match = REFERENCE.search(answer)
        assert match, answer
        return match.group(0)

    def _wait_for_new_port(self, old: int) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: self.port != old, timeout=60):
                raise AssertionError("no restarted daemon within 60 s")

    def run(self) -> None:
        try:
            for number in range(self.total):
                port = self.port
                try:
                    self.accepted[self._send(port, number)] = number
                except (OSError, smtplib.SMTPException):
                    self.unanswered.append(number)  # the daemon died under us: maybe stored, maybe not
                    self._wait_for_new_port(port)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.mark.slow
async def test_sigkill_during_intake_loses_no_accepted_report(
    db_url: str, slow_sink: SlowSink, tmp_path: Path, daemons: list[Daemon]
) -> None:
    total = 200
    slow_sink.delay = 0
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = crash_config(workdir, db_url, slow_sink.port)
    ok(await asyncio.to_thread(run_cli, config, "init", cwd=workdir))

    daemon = await start_daemon(config, workdir / "run1", daemons)
    sender = Sender(total, daemon.port)
    thread = threading.Thread(target=sender.run, name="sender", daemon=True)
    thread.start()
    await wait_for(lambda: len(sender.accepted) >= 60 or sender.error, timeout=60, interval=0.005)
    sigkill(daemon)
    at_kill = len(sender.accepted)

    restarted = await start_daemon(config, workdir / "run2", daemons)
    sender.set_port(restarted.port)
    await asyncio.to_thread(thread.join, 120)
    assert not thread.is_alive()
    assert sender.error is None, repr(sender.error)
    assert len(sender.accepted) + len(sender.unanswered) == total
    assert len(sender.unanswered) <= 1  # only the report in flight at the kill
    assert at_kill < total

    # Every report that got its 250 is in the database, with the very message that was sent.
    rows = await query(
        db_url,
        select(Report.reference, InboundMessage.raw).join(
            InboundMessage, InboundMessage.id == Report.inbound_id
        ),
    )
    stored = {reference: raw for reference, raw in rows}
    missing = sorted(set(sender.accepted) - set(stored))
    assert not missing, f"{len(missing)} accepted report(s) lost: {missing[:10]}"
    for reference, number in sender.accepted.items():
        assert f"Melding nummer {number}:".encode() in stored[reference], reference
    extra = len(stored) - len(sender.accepted)  # stored but unanswered: allowed, the client retries
    assert 0 <= extra <= len(sender.unanswered)

    # The restarted daemon works through everything the killed one left: each report announced.
    await wait_for(lambda: all(notified(slow_sink, ref) for ref in stored), timeout=60, interval=0.1)
    statuses = await query(
        db_url, select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
    )
    assert dict(statuses) == {"done": len(stored)}

    assert await asyncio.to_thread(restarted.terminate) == 0  # it says QUIT to our sink: no blocking
    print(
        f"\nintake kill: {at_kill} reports answered 250 before SIGKILL, {len(sender.accepted)} of {total} "
        f"in all, {len(sender.unanswered)} unanswered ({extra} of those stored anyway); none lost"
    )
