"""The processor's batches, with reports posted over real SMTP on loopback (DESIGN.md invariant 1).

The relay's own processor is stopped first, so the posts wait as ``new`` and the test runs the batches
itself: one message that makes its handler fail (after it queued its mails) is rolled back to its
savepoint and shunted, the others of the batch commit; two processors on one database, each with an
engine of its own like two daemons, take every message exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay import routes
from save_relay.app import Relay
from save_relay.core.context import Context
from save_relay.processing import processor as processing
from save_relay.processing.processor import Processor
from save_relay.store.db import WriteGate, create_engine, is_sqlite, session_factory
from save_relay.store.tables import AuditEntry, Delivery, InboundMessage, Report
from tests.conftest import MODERATORS
from tests.e2e.test_intake_errors import NETWORK, send_raw
from tests.helpers import report_message

BOOM = "Melding 2 die de verwerking laat falen"


def reporter(i: int) -> str:
    return f"melder{i}@bedrijf{i}.example"


async def hold_processor(relay: Relay) -> None:
    """Stop the relay's processor (the posts stay new until the test processes them)."""
    assert relay.processor is not None
    relay.processor.stop()
    await asyncio.wait_for(relay._tasks[0], 10)


async def post(relay: Relay, count: int) -> None:
    for i in range(count):
        subject = BOOM if i == 2 else f"Melding nummer {i}"
        message = report_message(sender=reporter(i), subject=subject)
        code, text = await send_raw(relay.smtp_port, reporter(i), [NETWORK], message.as_bytes())
        assert code == 250, text


async def statuses(relay: Relay) -> dict[str, str]:
    """mail_from -> status of each stored post."""
    async with relay.sessions() as session:
        rows = await session.execute(select(InboundMessage.mail_from, InboundMessage.status))
        return {mail_from: status for mail_from, status in rows.all()}


async def delivery_recipients(relay: Relay) -> Counter[tuple[str, str]]:
    async with relay.sessions() as session:
        rows = await session.execute(select(Delivery.kind, Delivery.recipient))
        return Counter((kind, recipient) for kind, recipient in rows.all())


async def test_failing_message_is_shunted_alone_and_the_batch_commits(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hold_processor(relay)
    await post(relay, 5)
    post_handler = routes.HANDLERS["post"]

    async def fails_after_queuing(session: AsyncSession, ctx: Context, message: InboundMessage) -> Any:
        await post_handler(session, ctx, message)  # acknowledgement and notifications queued...
        if message.mail_from == reporter(2):
            raise RuntimeError("bug in a handler")  # ...and rolled back with its savepoint

    handlers = {**routes.HANDLERS, "post": fails_after_queuing}
    assert relay.ctx is not None
    processor = Processor(relay.ctx, relay.sessions, handlers, write_gate=relay.write_gate, batch_seconds=60)
    assert await processor.process_batch() == 5

    found = await statuses(relay)
    assert found == {reporter(i): "shunted" if i == 2 else "done" for i in range(5)}
    sent = await delivery_recipients(relay)
    others = [i for i in range(5) if i != 2]
    assert sent == Counter(
        {("ack", reporter(i)): 1 for i in others} | {("notification", m): len(others) for m in MODERATORS}
    )
    async with relay.sessions() as session:
        shunted = (await session.execute(select(InboundMessage.error, Report.status).join(Report))).all()
        events = list(await session.scalars(select(AuditEntry.action)))
    assert sorted(status for _, status in shunted) == ["pending"] * 4 + ["shunted"]
    errors = [error for error, status in shunted if status == "shunted"]
    assert "bug in a handler" in (errors[0] or "")
    assert events.count("inbound_shunted") == 1
    assert events.count("report_received") == 4


async def test_two_processors_take_each_message_once(relay: Relay) -> None:
    await hold_processor(relay)
    count = 40
    await post(relay, count)
    assert relay.ctx is not None
    url = relay.settings.database.url
    engines = [create_engine(url), create_engine(url)]
    try:
        processors = [
            Processor(
                relay.ctx,
                session_factory(engine),
                routes.HANDLERS,
                write_gate=WriteGate(enabled=False),
                batch_size=5,
            )
            for engine in engines
        ]
        done = await asyncio.gather(*(p.drain() for p in processors))
    finally:
        for engine in engines:
            await engine.dispose()

    assert sum(done) == count, done
    if not is_sqlite(url):  # rows are locked, not the database: both took their share
        assert all(done), done
    assert set((await statuses(relay)).values()) == {"done"}
    sent = await delivery_recipients(relay)
    assert sent == Counter(
        {("ack", reporter(i)): 1 for i in range(count)} | {("notification", m): count for m in MODERATORS}
    )


async def test_a_batch_that_fails_as_a_whole_leaves_nothing_behind(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a crash before the commit: none of the batch is done and none of its mails is queued;
    the next round repeats it all, and each mail is queued once."""
    await hold_processor(relay)
    await post(relay, 3)

    async def lost(*_: object) -> None:
        raise ConnectionError("connection lost before the commit")

    assert relay.ctx is not None
    processor = Processor(
        relay.ctx, relay.sessions, routes.HANDLERS, write_gate=relay.write_gate, batch_seconds=60
    )
    with monkeypatch.context() as patch:
        patch.setattr(processing.inbound, "mark_many", lost)
        with pytest.raises(ConnectionError):
            await processor.process_batch()
    assert set((await statuses(relay)).values()) == {"new"}
    assert not await delivery_recipients(relay)

    assert await processor.drain() == 3
    assert set((await statuses(relay)).values()) == {"done"}
    assert await delivery_recipients(relay) == Counter(
        {("ack", reporter(i)): 1 for i in range(3)} | {("notification", m): 3 for m in MODERATORS}
    )
