"""canvass: a question to N located subscribers around an incident, then M of them answer concurrently.

A real Relay (SQLite, or PostgreSQL in a scratch database) with N generated subscribers around the
incident point and a few more 5 km away (they must not be asked). The canvass is created by
``canvass.service.create`` (what ``save-relay canvass create`` and a moderator's ``+canvass`` mail
call) and sent by the scheduler's ``canvass-steps`` job, run at once instead of at the next tick.
Measured: the send step's transaction, and from the start of that step to the last question at the
sink. The sink keeps each question's Reply-To (``+reply-TOKEN``).

Then M recipients answer, from ``SENDERS`` concurrent SMTP connections: a mail program's reply
(``Re:`` subject, In-Reply-To, the question quoted), some with a small JPEG, some sent by a colleague
from another address. Measured: first MAIL FROM to last 250, each answer's MAIL FROM to its 250, and
until the owner has every answer forwarded (at the sink). Checked: every answer stored once, tied to
the recipient its token was sent to, forwarded once, nothing shunted.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
from sqlalchemy import func, select, update

from bench import answers, generate
from bench.answers import Answer, Question
from bench.fanout import MODERATORS, check_exactly_once
from bench.intake import _FileHandler as FileHandler
from bench.intake import database, relay_settings
from bench.sink import Sink
from save_relay.app import Relay
from save_relay.canvass.service import create
from save_relay.canvass.spec import request_from_fields
from save_relay.core.clock import utcnow
from save_relay.processing.gate import Actor
from save_relay.store.tables import (
    CanvassAnswer,
    CanvassRecipient,
    Delivery,
    InboundMessage,
    Subscriber,
    SubscriberAddress,
)

SUBSCRIBERS = 5_000
ANSWERS = 2_000
SENDERS = 25
OWNER = MODERATORS[0]
WEST, SOUTH, EAST, NORTH = generate.SQUARE
INCIDENT = ((SOUTH + NORTH) / 2, (WEST + EAST) / 2)  # the square's corners are 0.66 km away
RADIUS = "1 km"
OUTSIDE_SHIFT = 0.045  # degrees of latitude (5 km) for the subscribers that must not be asked
QUESTION = (
    "Hebben uw camera's tussen 02:00 en 04:00 een witte bestelwagen (Ford Transit) gezien op de\n"
    "Industrieweg? Ook 'niets gezien' helpt ons."
)
_HEADER = re.compile(rb"^(Reply-To|Message-ID): *([^\r\n]+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class AnswersRun:
    """What the senders saw, for the relay and for the baseline."""

    answers: int
    started: float  # monotonic time of the first MAIL FROM
    seconds: float  # first MAIL FROM to the last 250
    latencies: list[float]  # per answer, MAIL FROM to its 250
    mean_bytes: float

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds

    def quantile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True, slots=True)
class CanvassRun:
    recipients: int
    step_seconds: float  # the send step (targeting, rendering, tokens, deliveries) to its commit
    send_seconds: float  # start of the send step to the last question at the sink
    answered: AnswersRun
    processed_seconds: float  # first MAIL FROM until the owner has every answer (at the sink)
    mails: list[Answer] = field(default_factory=list, repr=False)  # the answers sent, for the baseline

    @property
    def questions_per_second(self) -> float:
        return self.recipients / self.send_seconds


async def populate(relay: Relay, n: int) -> frozenset[str]:
    """N subscribers in the circle (bulk insert) and n // 20 moved 5 km north; returns the N addresses."""
    assert relay.ctx is not None
    outside = max(1, n // 20)
    async with relay.sessions() as session, session.begin():
        await generate.load(session, relay.ctx.networks["industrie"].id, n + outside)
        far = select(SubscriberAddress.subscriber_id).where(
            SubscriberAddress.address.in_(generate.address(i) for i in range(n, n + outside))
        )
        await session.execute(
            update(Subscriber)
            .where(Subscriber.id.in_(far))
            .values(latitude=Subscriber.latitude + OUTSIDE_SHIFT)
        )
    return frozenset(generate.addresses(n))


async def create_canvass(relay: Relay) -> tuple[int, int]:
    """The canvass, as ``save-relay canvass create --near ... --radius 1 km --send now`` makes it."""
    assert relay.ctx is not None
    network = relay.ctx.networks["industrie"]
    fields = {
        "near": f"{INCIDENT[0]:.5f}, {INCIDENT[1]:.5f}",
        "radius": RADIUS,
        "window": "2026-11-21 02:00 - 04:00",
        "send": "now",
        "close": "72h",
    }
    tz = ZoneInfo(network.settings.timezone)
    request = request_from_fields(fields, title="", question=QUESTION, tz=tz, now=utcnow())
    async with relay.sessions() as session, session.begin():
        canvass, count = await create(
            session, relay.ctx, network, request, owner=OWNER, actor=Actor(name="cli:bench", via="cli")
        )
    return canvass.id, count


async def wait_sent(relay: Relay, timeout: float = 60.0) -> int:
    """Until no delivery is left unsent; returns how many there are."""
    deadline = time.monotonic() + timeout
    while True:
        async with relay.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Delivery))
            unsent = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
            )
        if not unsent:
            return int(total or 0)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{unsent} deliveries not sent in {timeout} s")
        await asyncio.sleep(0.05)


async def questions(relay: Relay, sink: Sink, expected: frozenset[str]) -> tuple[list[Question], bytes]:
    """Each question as the sink got it (checked against the queued message); and one whole message."""
    check_exactly_once(sink.dump(), expected)
    captured = {address: reply_to for address, reply_to in sink.captured() if address != OWNER}
    async with relay.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.recipient, Delivery.message).where(Delivery.kind == "canvass")
            )
        ).all()
    found: list[Question] = []
    sample = b""
    for address, message in rows:
        sample = message or b""
        head = {k.decode().lower(): v.decode() for k, v in _HEADER.findall(sample.split(b"\r\n\r\n", 1)[0])}
        if captured.get(address) != head["reply-to"]:
            raise AssertionError(f"{address}: Reply-To {captured.get(address)!r} at the sink, queued {head}")
        found.append(Question(address, head["reply-to"], head["message-id"]))
    if len(found) != len(expected) or len({q.reply_to for q in found}) != len(found):
        raise AssertionError(f"{len(found)} questions, {len({q.reply_to for q in found})} reply addresses")
    return sorted(found, key=lambda q: q.address), sample


async def _sender(port: int, work: list[Answer], times: list[tuple[float, float]], timeout: float) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=timeout, start_tls=False)
    await client.connect()
    try:
        while work:  # shared list: each task takes the next answer
            answer = work.pop()
            t0 = time.monotonic()
            errors, _ = await client.sendmail(answer.mail_from, [answer.rcpt], answer.data)
            times.append((t0, time.monotonic()))
            if errors:
                raise RuntimeError(f"refused: {errors}")
    finally:
        await client.quit()


async def send_answers(port: int, mails: list[Answer], senders: int = SENDERS) -> AnswersRun:
    times: list[tuple[float, float]] = []
    work = list(reversed(mails))
    await asyncio.gather(*(_sender(port, work, times, 120.0) for _ in range(min(senders, len(mails)))))
    if len(times) != len(mails):
        raise AssertionError(f"{len(times)} of {len(mails)} answers got their 250")
    started = min(t0 for t0, _ in times)
    mean = sum(len(a.data) for a in mails) / len(mails)
    return AnswersRun(
        len(mails), started, max(t1 for _, t1 in times) - started, [b - a for a, b in times], mean
    )


async def wait_forwarded(sink: Sink, m: int, timeout: float) -> float:
    """Until the sink has M forwarded answers (nothing else goes out now); returns the time."""
    deadline = time.monotonic() + timeout
    while sink.count("recipients") < m:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sink.count('recipients')} of {m} answers forwarded in {timeout} s")
        await asyncio.sleep(0.005)
    return time.monotonic()


def token_of(reply_to: str) -> str:
    """The TOKEN of ``industrie+reply-TOKEN@domain``."""
    return reply_to.split("@", 1)[0].rsplit("-", 1)[1].lower()


async def check_answers(relay: Relay, sink: Sink, mails: list[Answer], asked: dict[str, str]) -> None:
    """Each answer stored once, tied to the recipient its reply address was sent to, forwarded once.

    ``asked``: reply token -> the address its question went to.
    """
    async with relay.sessions() as session:
        rows = (
            await session.execute(
                select(
                    InboundMessage.token,
                    InboundMessage.mail_from,
                    CanvassAnswer.sender,
                    CanvassAnswer.forwarded_at,
                    CanvassAnswer.attachments,
                    CanvassRecipient.address,
                    CanvassRecipient.subscriber_id,
                )
                .join(InboundMessage, InboundMessage.id == CanvassAnswer.inbound_id)
                .join(CanvassRecipient, CanvassRecipient.id == CanvassAnswer.recipient_id)
            )
        ).all()
        owners = dict(
            (await session.execute(select(SubscriberAddress.address, SubscriberAddress.subscriber_id))).all()
        )
        states = dict(
            (
                await session.execute(
                    select(InboundMessage.status, func.count())
                    .where(InboundMessage.purpose == "reply")
                    .group_by(InboundMessage.status)
                )
            ).all()
        )
    sent = {token_of(a.rcpt): (a.mail_from, a.attached) for a in mails}
    problems = Counter[str]()
    for token, mail_from, sender, forwarded, attachments, address, subscriber_id in rows:
        expected_from, attached = sent.get(token, ("", False))
        problems["not sent like this"] += mail_from != expected_from or sender != expected_from
        problems["tied to another recipient"] += asked.get(token) != address
        problems["tied to another subscriber"] += owners.get(address) != subscriber_id
        problems["not forwarded"] += forwarded is None
        problems["attachments"] += len(attachments) != int(attached)
    problems["stored twice"] = len(rows) - len({row[0] for row in rows})
    problems["missing"] = len(set(sent) - {row[0] for row in rows})
    if +problems or states != {"done": len(mails)}:
        raise AssertionError(f"answers: {dict(+problems)}, inbound states {states}, {len(rows)} stored")
    forwards = [reply_to for rcpt, reply_to in sink.captured() if rcpt == OWNER]  # Reply-To: who answered
    check_exactly_once(forwards, frozenset(a.mail_from for a in mails))


async def run_once(
    sink: Sink, n: int = SUBSCRIBERS, m: int = ANSWERS, kind: str = "sqlite", timeout: float = 600.0
) -> CanvassRun:
    """One canvass to ``n`` subscribers on a fresh database, ``m`` of them answering."""
    with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
        async with database(kind, Path(tmp)) as db_url:
            relay = Relay(relay_settings(db_url, Path(tmp), sink.port))
            await relay.start()  # migrates and syncs; the scheduler ticks every 5 s
            try:
                assert relay.scheduler is not None
                expected = await populate(relay, n)
                await wait_sent(relay)
                sink.reset()
                _, count = await create_canvass(relay)
                started = time.monotonic()
                # The daemon would find the due canvass at its next tick (up to tick_seconds later).
                if not await relay.scheduler.run_job("canvass-steps"):
                    raise AssertionError("the canvass was not sent")
                step = time.monotonic() - started
                await sink.wait_matched(n, timeout)
                send = sink.last_at - started
                await wait_sent(relay, timeout)
                asked, sample = await questions(relay, sink, expected)
                if count != n:
                    raise AssertionError(f"{count} recipients at creation, expected {n}")
                mails = answers.answers(asked, m, sample)
                sink.reset()
                answered = await send_answers(relay.smtp_port, mails)
                done = await wait_forwarded(sink, m, timeout)
                await wait_sent(relay, timeout)
                await check_answers(relay, sink, mails, {token_of(q.reply_to): q.address for q in asked})
            finally:
                await relay.stop()
    return CanvassRun(n, step, send, answered, done - answered.started, mails)


async def baseline_once(mails: list[Answer]) -> AnswersRun:
    """The same answers, senders and concurrency to a bare aiosmtpd that appends and fsyncs each one."""
    from aiosmtpd.smtp import SMTP

    with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
        fd = os.open(Path(tmp) / "spool", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        handler = FileHandler(fd)
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(handler, hostname="base.bench"), host="127.0.0.1", port=0
        )
        try:
            run = await send_answers(server.sockets[0].getsockname()[1], mails)
        finally:
            server.close()
            os.close(fd)
    if handler.count != len(mails):
        raise AssertionError(f"baseline stored {handler.count} of {len(mails)}")
    return run
