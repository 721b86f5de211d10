"""Group commit at intake, over real SMTP on loopback (DESIGN.md invariant 1).

Concurrent senders share transactions, yet each gets its own reference, and each message is stored
once. A message whose storing fails in a shared transaction gets 451 alone: the others of its group
get 250 and are stored. A stop commits what is queued. To form a group for certain, the tests hold
the database's write lock from outside (SQLite: ``BEGIN IMMEDIATE`` on a connection of their own;
PostgreSQL: ``LOCK TABLE``) while the messages arrive, so they queue behind the blocked commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from save_relay.app import Relay
from save_relay.intake import service as intake_service
from save_relay.store.db import is_sqlite
from save_relay.store.tables import InboundMessage, Report
from tests.conftest import MODERATORS, _pg_dsn
from tests.e2e.test_intake_errors import (
    NETWORK,
    assert_storage_failure,
    count_rows,
    reference_of,
    run_ddl,
    send_raw,
)
from tests.helpers import Sink, report_message, wait_for

SENDERS = 24
BAD = "kapot@metaalwerken-vos.example"
FAIL_ONE_SQLITE = [
    "CREATE TRIGGER save_test_fail_one BEFORE INSERT ON inbound_messages "
    f"WHEN NEW.mail_from = '{BAD}' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
]
FAIL_ONE_PG = [
    "CREATE FUNCTION save_test_fail_one() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN IF NEW.mail_from = '{BAD}' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$",
    "CREATE TRIGGER save_test_fail_one BEFORE INSERT ON inbound_messages "
    "FOR EACH ROW EXECUTE FUNCTION save_test_fail_one()",
]


def reporter(i: int) -> str:
    return f"melder{i}@bedrijf{i}.example"


async def post(relay: Relay, i: int, mail_from: str = "") -> tuple[int, str]:
    message = report_message(sender=mail_from or reporter(i), subject=f"Melding nummer {i}")
    return await send_raw(relay.smtp_port, mail_from or reporter(i), [NETWORK], message.as_bytes())


async def stored_senders(relay: Relay) -> list[str]:
    """The envelope sender of every stored post, one entry per stored message."""
    async with relay.sessions() as session:
        rows = await session.execute(
            select(InboundMessage.mail_from, Report.reference).join(
                Report, Report.inbound_id == InboundMessage.id
            )
        )
        return [mail_from for mail_from, _ in rows]


@contextlib.asynccontextmanager
async def write_lock_held(db_url: str) -> AsyncIterator[None]:
    """Hold the database's write lock from outside the relay until the block ends."""
    if is_sqlite(db_url):
        conn = sqlite3.connect(
            str(make_url(db_url).database), isolation_level=None, timeout=30, check_same_thread=False
        )
        # In a thread: the relay (on this loop) may be inside a transaction and must be able to finish it.
        await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = await asyncpg.connect(_pg_dsn(db_url))
    try:
        tx = pg.transaction()
        await tx.start()
        await pg.execute("LOCK TABLE inbound_messages IN EXCLUSIVE MODE")  # reads pass, inserts wait
        try:
            yield
        finally:
            await tx.rollback()
    finally:
        await pg.close()


async def queue_behind_a_blocked_commit(
    relay: Relay, db_url: str, senders: list[str]
) -> list[tuple[int, str]]:
    """Post one message whose commit blocks on the lock, then ``senders``' messages, which queue up
    together behind it; release the lock; return the replies (the first message's first)."""
    assert relay.intake is not None
    group = relay.intake.group
    async with write_lock_held(db_url):
        first = asyncio.create_task(post(relay, 0))
        await wait_for(lambda: group.in_commit == 1)
        rest = [asyncio.create_task(post(relay, i + 1, s)) for i, s in enumerate(senders)]
        await wait_for(lambda: group.waiting == len(senders), timeout=30)
    return await asyncio.gather(first, *rest)


async def test_concurrent_senders_get_distinct_references_and_each_is_stored_once(relay: Relay) -> None:
    replies = await asyncio.gather(*(post(relay, i) for i in range(SENDERS)))

    assert all(code == 250 for code, _ in replies), replies
    references = [reference_of(text) for _, text in replies]
    assert len(set(references)) == SENDERS
    assert sorted(await stored_senders(relay)) == sorted(reporter(i) for i in range(SENDERS))
    async with relay.sessions() as session:  # the reply's reference is the one of the sender's report
        rows = await session.execute(
            select(Report.reference, InboundMessage.mail_from).join(
                InboundMessage, Report.inbound_id == InboundMessage.id
            )
        )
        owner = {reference: mail_from for reference, mail_from in rows}
    assert [owner[ref] for ref in references] == [reporter(i) for i in range(SENDERS)]


async def test_queued_messages_share_one_commit_and_all_get_250(relay: Relay, db_url: str) -> None:
    senders = [reporter(i) for i in range(1, SENDERS)]
    replies = await queue_behind_a_blocked_commit(relay, db_url, senders)

    assert all(code == 250 for code, _ in replies), replies
    assert len({reference_of(text) for _, text in replies}) == SENDERS
    assert sorted(await stored_senders(relay)) == sorted([reporter(0), *senders])


async def test_one_failing_message_in_a_group_gets_451_and_the_others_250(
    relay: Relay, sink: Sink, db_url: str
) -> None:
    await run_ddl(db_url, FAIL_ONE_SQLITE if is_sqlite(db_url) else FAIL_ONE_PG)
    senders = [reporter(i) for i in range(1, 6)] + [BAD] + [reporter(i) for i in range(6, 11)]
    replies = await queue_behind_a_blocked_commit(relay, db_url, senders)

    codes = dict(zip([reporter(0), *senders], replies, strict=True))
    assert_storage_failure(*codes.pop(BAD))
    assert all(code == 250 for code, _ in codes.values()), codes
    assert len({reference_of(text) for _, text in codes.values()}) == len(codes)
    stored = await stored_senders(relay)
    assert sorted(stored) == sorted(codes)  # each good one once, the bad one not at all
    assert await count_rows(relay, InboundMessage) == len(codes)


async def test_stop_commits_the_queued_group_and_refuses_later_data(relay: Relay, db_url: str) -> None:
    assert relay.intake is not None
    group = relay.intake.group
    senders = [reporter(i) for i in range(1, 6)]
    async with write_lock_held(db_url):
        first = asyncio.create_task(post(relay, 0))
        await wait_for(lambda: group.in_commit == 1)
        rest = [asyncio.create_task(post(relay, i + 1, s)) for i, s in enumerate(senders)]
        await wait_for(lambda: group.waiting == len(senders), timeout=30)
        closing = asyncio.create_task(relay.intake.close())  # what Relay.stop does after the listeners
        await wait_for(lambda: group.closed)
    await closing
    replies = await asyncio.gather(first, *rest)
    assert all(code == 250 for code, _ in replies), replies
    assert sorted(await stored_senders(relay)) == sorted([reporter(0), *senders])

    code, text = await post(relay, 99)  # a session still open during a stop: DATA after the close
    assert_storage_failure(code, text)
    assert await count_rows(relay, InboundMessage) == len(senders) + 1
    assert await count_rows(relay, Report) == len(senders) + 1


async def test_a_burst_makes_the_intake_busy_even_after_a_moderators_command(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No special case for a ``+confirm``: the processor has its share during a burst anyway and takes
    commands first (tests/e2e/test_fair_processing.py)."""
    monkeypatch.setattr(intake_service, "BURST_SECONDS", 60.0)  # a slow machine still sees a burst
    assert relay.intake is not None
    assert not relay.intake.busy()
    replies = await asyncio.gather(*(post(relay, i) for i in range(6)))  # a burst of reports
    assert all(code == 250 for code, _ in replies), replies
    assert relay.intake.busy()  # the processor shares the time: the senders keep their 250s coming

    confirm = NETWORK.replace("@", "+confirm-" + "a" * 26 + "@")
    code, _ = await send_raw(relay.smtp_port, MODERATORS[0], [confirm], b"Subject: Re\r\n\r\nok\r\n")
    assert code == 250
    assert relay.intake.busy()
