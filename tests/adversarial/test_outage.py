"""PostgreSQL made unreachable under a running relay: senders get 451 4.3.0, the processor and the
outbound workers log and wait, and once the database is back every pending delivery goes out and new
mail is accepted. Nothing that got a 250 is lost. (SQLite's variant of "the database is gone":
tests/e2e/test_intake_errors.py::test_database_gone_answers_451_and_recovers.)"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from save_relay.store.db import is_sqlite
from save_relay.store.tables import Delivery, InboundMessage, Report
from tests.adversarial.support import NETWORK, REPORTER, count, reference_of, running_relay
from tests.conftest import MODERATORS, PG_URL, _pg_dsn
from tests.e2e.test_intake_errors import assert_storage_failure, send_raw
from tests.helpers import Sink, report_message, wait_for


async def _admin(sql: str, *args: object) -> None:
    assert PG_URL
    admin = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await admin.execute(sql, *args)
    finally:
        await admin.close()


async def _block(name: str) -> None:
    await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )


async def test_postgresql_unreachable_mid_run_loses_nothing(
    db_url: str, sink: Sink, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if is_sqlite(db_url):
        pytest.skip("PostgreSQL only (SAVE_RELAY_TEST_DATABASE_URL)")
    name = make_url(db_url).database
    assert name
    outbound = {"max_attempts": 1000, "retry_base_seconds": 0.2, "retry_max_seconds": 0.5}
    async with running_relay(db_url, sink, tmp_path, outbound=outbound) as relay:
        # A report whose mails cannot leave yet: the smarthost defers them.
        sink.default_answer = "451 4.3.0 try again later"
        code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes())
        assert code == 250, text
        first = reference_of(text)
        await wait_for(lambda: _queued(relay))

        caplog.set_level(logging.ERROR)
        await _block(name)
        try:
            for _ in range(2):
                code, text = await asyncio.wait_for(
                    send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes()), 30
                )
                assert_storage_failure(code, text)
            sink.default_answer = None  # the smarthost is fine again; the database is not
            await asyncio.sleep(1.5)  # several worker rounds against a dead database
            assert all(not task.done() for task in relay._tasks), "a worker loop died"
            assert any(
                getattr(r, "action", "") in {"outbound_error", "processor_error"} for r in caplog.records
            ), [r.getMessage() for r in caplog.records]
        finally:
            await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        # Back: the deferred mails of the first report go out, a new report is accepted and announced.
        await wait_for(lambda: _delivered_about(sink, first) >= set(MODERATORS) | {REPORTER}, timeout=30)
        code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes())
        assert code == 250, text
        second = reference_of(text)
        await wait_for(lambda: _delivered_about(sink, second) >= set(MODERATORS), timeout=30)
        assert await count(relay, Report) == 2  # exactly the two that got a 250
        assert await count(relay, InboundMessage) == 2
        async with relay.sessions() as session:
            statuses = set(await session.scalars(select(Delivery.status)))
        assert "failed" not in statuses


async def _queued(relay: object) -> bool:
    async with relay.sessions() as session:  # type: ignore[attr-defined]
        rows = list(await session.scalars(select(Delivery.attempts).where(Delivery.status == "queued")))
    return bool(rows) and all(a >= 1 for a in rows)


def _delivered_about(sink: Sink, reference: str) -> set[str]:
    return {r.lower() for m in sink.messages if reference in str(m.message["Subject"]) for r in m.rcpt_tos}
