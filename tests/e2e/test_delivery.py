"""The outbound queue against a real smarthost on loopback: 4xx is retried with growing backoff, 5xx
fails with the reason and is not retried, and a smarthost that is down only delays the mail.

Reports are approved the way the CLI does it: ``moderation.decide`` in one transaction.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.clock import as_utc
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store.tables import Delivery, Report
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_report_flow import post_report
from tests.helpers import Sink, wait_for

DEFERRED = "ploeg.a@politie.lommel.example"  # a patrol shift: in every distribution (default group)
REFUSED = "ploeg.b@politie.lommel.example"


@dataclass
class Row:
    """A delivery's retry state at one moment."""

    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


@dataclass
class FlakySink(Sink):
    """The sink, plus: ``defer[address]`` 4xx answers to give before accepting, the time of every RCPT,
    and a hook that runs (awaited) at each RCPT before the answer."""

    defer: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, list[datetime]] = field(default_factory=dict)
    on_rcpt: Callable[[str], Awaitable[None]] | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        address = address.lower()
        if self.on_rcpt is not None:
            await self.on_rcpt(address)
        self.attempts.setdefault(address, []).append(datetime.now(UTC))  # just before the answer
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            return "451 4.2.0 try later"
        return await super().handle_RCPT(server, session, envelope, address, options)

    def distributed_to(self, reference: str) -> list[str]:
        return [
            r.lower()
            for m in self.messages
            if m.message["List-Id"] and m.message["X-Save-Relay-Reference"] == reference
            for r in m.rcpt_tos
        ]


async def start_flaky_sink(port: int = 0) -> FlakySink:
    sink = FlakySink()
    loop = asyncio.get_running_loop()
    sink.server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", enable_SMTPUTF8=True), host="127.0.0.1", port=port
    )
    return sink


@pytest.fixture
async def sink() -> AsyncIterator[FlakySink]:
    """Overrides the conftest sink, so that the ``relay`` fixture sends to a FlakySink."""
    server = await start_flaky_sink()
    yield server
    await server.stop()


async def approve(relay: Relay, reference: str) -> int:
    """Approve like ``save-relay queue approve REF``; returns the number of recipients."""
    assert relay.ctx is not None and relay.worker is not None
    async with relay.sessions() as session, session.begin():
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        applied = await decide(
            session, relay.ctx, report, Decision(action="approve"), Actor(name="cli:test", via="cli")
        )
    relay.worker.wake()
    assert applied.recipients > 0
    return applied.recipients


async def announced(relay: Relay, reference: str) -> None:
    """Wait until the processor has announced the report (its zones are filled in then)."""

    async def done() -> bool:
        async with relay.sessions() as session:
            report = await session.scalar(select(Report).where(Report.reference == reference))
            return report is not None and report.notified_at is not None

    await wait_for(done)


async def distribution_rows(relay: Relay) -> dict[str, Row]:
    async with relay.sessions() as session:
        rows = await session.execute(
            select(
                Delivery.recipient,
                Delivery.status,
                Delivery.attempts,
                Delivery.next_attempt_at,
                Delivery.last_error,
            ).where(Delivery.kind == "distribution")
        )
        return {r: Row(s, a, as_utc(n), e) for r, s, a, n, e in rows.all()}


async def all_rows(relay: Relay) -> list[Row]:
    async with relay.sessions() as session:
        rows = await session.execute(
            select(Delivery.status, Delivery.attempts, Delivery.next_attempt_at, Delivery.last_error)
        )
        return [Row(s, a, as_utc(n), e) for s, a, n, e in rows.all()]


async def settled(relay: Relay) -> dict[str, Row] | None:
    """The distribution's rows once none is queued any more."""
    rows = await distribution_rows(relay)
    return rows if rows and all(row.status != "queued" for row in rows.values()) else None


async def test_4xx_is_retried_with_growing_backoff_then_sent(relay: Relay, sink: FlakySink) -> None:
    base = relay.settings.outbound.retry_base_seconds  # 0.2 s in tests/conftest.py
    sink.defer[DEFERRED] = 2
    seen: list[Row] = []  # the delivery as it stands at each attempt, read before the sink answers

    async def snapshot(address: str) -> None:
        if address == DEFERRED:
            rows = await distribution_rows(relay)
            seen.append(rows[DEFERRED])

    sink.on_rcpt = snapshot
    reference = await post_report(relay)
    await announced(relay, reference)
    recipients = await approve(relay, reference)

    rows = await wait_for(lambda: settled(relay), timeout=15)
    assert len(rows) == recipients
    assert {r for r, row in rows.items() if row.status != "sent"} == set()
    final = rows[DEFERRED]
    assert final.status == "sent" and final.attempts == 3

    times = sink.attempts[DEFERRED]
    assert len(times) == 3  # two 451s, then the 250
    assert [row.attempts for row in seen] == [0, 1, 2]
    assert seen[0].last_error is None
    for row in seen[1:]:
        assert row.status == "queued"  # claimed, not sent, not failed
        assert row.last_error == "451 4.2.0 try later"

    # The retry delay chosen after attempt k is next_attempt_at - (time of attempt k): base * 2**(k-1)
    # with +-25 % jitter (the sink's clock reads a few ms before the worker decides, hence the slack).
    delays = [(seen[k].next_attempt_at - times[k - 1]).total_seconds() for k in (1, 2)]
    for k, delay in enumerate(delays):
        nominal = base * 2**k
        assert 0.75 * nominal <= delay <= 1.25 * nominal + 0.1, (k, delay, delays)
    assert delays[1] > delays[0], delays  # backoff grows: [0.15, 0.25] then [0.3, 0.5]
    for k in (1, 2):  # and no retry before it was due
        assert times[k] >= seen[k].next_attempt_at, (times, seen)
    offsets = [round((t - times[0]).total_seconds(), 3) for t in times]
    print(f"\n4xx: retry delays {[round(d, 3) for d in delays]} s; attempts at +{offsets} s")

    # Everyone got the distribution exactly once, the deferred address included.
    delivered = sink.distributed_to(reference)
    assert sorted(delivered) == sorted(rows)
    assert delivered.count(DEFERRED) == 1


async def test_5xx_fails_with_the_reason_and_is_not_retried(relay: Relay, sink: FlakySink) -> None:
    sink.answers[REFUSED] = "550 5.1.1 no such user"
    reference = await post_report(relay)
    await announced(relay, reference)
    recipients = await approve(relay, reference)

    rows = await wait_for(lambda: settled(relay), timeout=15)
    assert len(rows) == recipients
    refused = rows[REFUSED]
    assert refused.status == "failed"
    assert refused.attempts == 1
    assert refused.last_error is not None and "550" in refused.last_error
    assert "no such user" in refused.last_error
    others = {r: row for r, row in rows.items() if r != REFUSED}
    assert {row.status for row in others.values()} == {"sent"}
    assert all(row.attempts == 1 and row.last_error is None for row in others.values())

    # Five times the first retry delay (0.2 s): a 4xx would have been tried again by now.
    await asyncio.sleep(5 * relay.settings.outbound.retry_base_seconds)
    assert len(sink.attempts[REFUSED]) == 1
    assert (await distribution_rows(relay))[REFUSED] == refused
    delivered = sink.distributed_to(reference)
    assert sorted(delivered) == sorted(others)  # each other recipient once; the refused one never


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_smarthost_down_keeps_mail_queued_until_it_is_back(db_url: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: connections are refused
    relay = Relay(make_settings(db_url, port, tmp_path))
    await relay.start(migrate=False)
    sink: FlakySink | None = None
    try:
        await seed_demo(relay.engine, relay)
        reference = await post_report(relay)
        await announced(relay, reference)  # the processor does not need the smarthost
        recipients = await approve(relay, reference)

        async def all_retried() -> list[Row] | None:
            rows = await all_rows(relay)
            return rows if rows and all(row.attempts >= 2 for row in rows) else None

        down = await wait_for(all_retried, timeout=15)
        # distribution, ack, notifications, each moderator's decision notice (a CLI approval), the outcome
        assert len(down) == recipients + 1 + 2 * len(MODERATORS) + 1
        assert {row.status for row in down} == {"queued"}  # not sent, not failed
        assert all(row.last_error and row.last_error.startswith("421 ") for row in down), down[0]
        assert all("unreachable" in (row.last_error or "") for row in down)

        sink = await start_flaky_sink(port)  # the smarthost comes back on the same port

        async def all_sent() -> list[Row] | None:
            rows = await all_rows(relay)
            return rows if all(row.status == "sent" for row in rows) else None

        up = await wait_for(all_sent, timeout=15)
        assert len(up) == len(down)
        delivered = sink.distributed_to(reference)
        assert len(delivered) == recipients == len(set(delivered))  # each once: nothing was half-sent
        for moderator in MODERATORS:
            assert sink.to(moderator), moderator
        print(f"\nsmarthost down: {max(row.attempts for row in up)} attempts at most before it came back")
    finally:
        await relay.stop()
        if sink is not None:
            await sink.stop()
