"""Repeated recipients in one transaction are one copy (issue 16): twenty ``RCPT TO`` the network address,
in any case of its domain, give one stored message and one report, over real SMTP and LMTP."""

from __future__ import annotations

import asyncio
import email.policy
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.store.tables import InboundMessage, Report
from tests.conftest import make_settings, seed_demo
from tests.e2e.test_lmtp import transaction
from tests.helpers import Sink, report_message, wait_for

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
REPEATS = [NETWORK if i % 2 else "industrie@POLITIE.Lommel.BE" for i in range(20)]


async def _counts(relay: Relay) -> tuple[int, int]:
    async with relay.sessions() as session:
        inbound = await session.scalar(select(func.count()).select_from(InboundMessage))
        reports = await session.scalar(select(func.count()).select_from(Report))
    return int(inbound or 0), int(reports or 0)


async def _one_report(relay: Relay) -> None:
    async def settled() -> bool:
        async with relay.sessions() as session:
            new = await session.scalar(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "new")
            )
        return not new

    await wait_for(settled, timeout=15)
    assert await _counts(relay) == (1, 1)


async def test_twenty_identical_rcpt_to_over_smtp_are_one_report(relay: Relay) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.smtp_port, timeout=20, start_tls=False)
    await client.connect()
    try:
        await client.mail(REPORTER)
        for rcpt in REPEATS:
            code, _ = await client.rcpt(rcpt)
            assert code == 250
        response = await client.data(report_message().as_bytes())
    finally:
        await client.quit()
    assert response.code == 250
    assert len(re.findall(r"SAVE-\d{4}-\d{6}", response.message)) == 1, response.message
    await _one_report(relay)


@pytest.fixture
async def lmtp_relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    settings = make_settings(
        db_url, sink.port, tmp_path, lmtp={"enabled": True, "host": "127.0.0.1", "port": 0}
    )
    relay = Relay(settings)
    await relay.start(migrate=False)
    await seed_demo(relay.engine, relay)
    yield relay
    await relay.stop()


async def test_repeats_over_lmtp_get_one_reply_each_and_make_one_report(lmtp_relay: Relay) -> None:
    """LMTP answers each accepted RCPT after DATA (RFC 2033), all with the same single reference."""
    assert lmtp_relay.lmtp is not None
    raw = report_message().as_bytes(policy=email.policy.SMTP)
    rcpt, data, noop = await asyncio.to_thread(transaction, lmtp_relay.lmtp.port, REPEATS, raw)
    assert {code for code, _ in rcpt} == {250}
    assert len(data) == len(REPEATS) and {code for code, _ in data} == {250}
    assert len({reply for _, reply in data}) == 1 and b"queued as SAVE-" in data[0][1]
    assert noop[0][0] == 250
    await _one_report(lmtp_relay)
