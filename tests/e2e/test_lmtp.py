"""LMTP as Postfix speaks it, with Python's smtplib.LMTP: one reply per recipient, 250 only after commit.

smtplib's ``data()`` reads only the first reply; ``replies_after_data`` reads one per accepted recipient,
then checks with NOOP that nothing else is pending, the way an MTA would notice a desynchronised peer.
"""

from __future__ import annotations

import asyncio
import email.policy
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select, text

from save_relay.app import Relay
from save_relay.store.db import is_sqlite
from save_relay.store.tables import InboundMessage
from tests.conftest import _pg_dsn, make_settings
from tests.helpers import Sink, report_message

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
TOKEN = "k7" * 13


@pytest.fixture
async def lmtp_relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    settings = make_settings(
        db_url,
        sink.port,
        tmp_path,
        lmtp={"enabled": True, "host": "127.0.0.1", "port": 0},
        smtp={"enabled": False, "max_message_size": 4096},
    )
    relay = Relay(settings)
    await relay.start(migrate=False)
    yield relay
    await relay.stop()


def raw_message(body: str = "Vannacht om 03:00 stond een witte bestelwagen aan de poort.\n") -> bytes:
    return report_message(body=body).as_bytes(policy=email.policy.SMTP)


def transaction(target: str | int, rcpts: list[str], data: bytes) -> tuple[list[tuple[int, bytes]], ...]:
    """One LMTP transaction: (RCPT replies, the per-recipient DATA replies, the NOOP reply)."""
    client = (
        smtplib.LMTP(target, timeout=10) if isinstance(target, str) else smtplib.LMTP("127.0.0.1", target)
    )
    try:
        code, _ = client.ehlo("postfix.test")  # smtplib.LMTP sends LHLO here
        assert code == 250
        client.mail(REPORTER)
        rcpt_replies = [client.rcpt(r) for r in rcpts]
        accepted = sum(1 for code, _ in rcpt_replies if code == 250)
        data_replies: list[tuple[int, bytes]] = []
        if accepted:
            data_replies.append(client.data(data))
            data_replies += [client.getreply() for _ in range(accepted - 1)]
        noop = client.noop()
        client.quit()
        return rcpt_replies, data_replies, [noop]
    finally:
        client.close()


async def test_one_reply_per_recipient_with_refused_ones_in_between(lmtp_relay: Relay) -> None:
    assert lmtp_relay.lmtp is not None
    rcpts = [
        NETWORK,
        "onbekend@politie.lommel.be",  # our domain, no such address
        f"industrie+confirm-{TOKEN}@politie.lommel.be",  # a moderator's reply
        "iemand@elders.example",  # not ours: no relaying
        "industrie+confirm-bad@politie.lommel.be",  # malformed token
    ]
    rcpt, data, noop = await asyncio.to_thread(transaction, lmtp_relay.lmtp.port, rcpts, raw_message())
    assert [code for code, _ in rcpt] == [250, 550, 250, 550, 550]
    assert b"5.1.1" in rcpt[1][1] and b"5.7.1" in rcpt[3][1]
    assert len(data) == 2  # exactly one per accepted recipient ...
    assert data[0][0] == 250 and b"queued as SAVE-" in data[0][1]  # the post: a report reference
    assert data[1][0] == 250 and b"SAVE-" not in data[1][1]  # the reply: no report
    assert noop[0][0] == 250  # ... and nothing left over
    async with lmtp_relay.sessions() as session:
        rows = list(await session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
    assert [(m.purpose, m.via) for m in rows] == [("post", "lmtp"), ("confirm", "lmtp")]


async def test_storage_failure_answers_451_for_each_recipient(lmtp_relay: Relay, db_url: str) -> None:
    """The inbound table is renamed away under the running relay: a real failure at INSERT."""
    assert lmtp_relay.lmtp is not None
    await _rename_inbound(db_url, "inbound_messages", "inbound_messages_away")
    rcpts = [NETWORK, f"industrie+bounces-{TOKEN}@politie.lommel.be"]
    try:
        _, data, noop = await asyncio.to_thread(transaction, lmtp_relay.lmtp.port, rcpts, raw_message())
    finally:
        await _rename_inbound(db_url, "inbound_messages_away", "inbound_messages")
    assert [code for code, _ in data] == [451, 451]
    assert all(b"4.3.0" in reply for _, reply in data)
    assert noop[0][0] == 250

    # The MTA retries later; with the table back the same message is taken (a cached plan may fail once).
    for _ in range(3):
        _, data, _ = await asyncio.to_thread(transaction, lmtp_relay.lmtp.port, rcpts, raw_message())
        if data[0][0] == 250:
            break
    assert [code for code, _ in data] == [250, 250]


async def _rename_inbound(db_url: str, old: str, new: str) -> None:
    statement = f"ALTER TABLE {old} RENAME TO {new}"
    if is_sqlite(db_url):
        from save_relay.store.db import create_engine

        engine = create_engine(db_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()
        return
    connection = await asyncpg.connect(_pg_dsn(db_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def test_too_big_is_refused_once_per_recipient(lmtp_relay: Relay) -> None:
    assert lmtp_relay.lmtp is not None
    rcpts = [NETWORK, f"industrie+bounces-{TOKEN}@politie.lommel.be"]
    big = raw_message("x" * 8000 + "\n")
    _, data, noop = await asyncio.to_thread(transaction, lmtp_relay.lmtp.port, rcpts, big)
    assert [code for code, _ in data] == [552, 552]
    assert all(b"5.3.4" in reply for _, reply in data)
    assert noop[0][0] == 250


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_lmtp_over_a_unix_socket(db_url: str, sink: Sink, tmp_path: Path) -> None:
    path = tmp_path / "lmtp.sock"
    path.write_bytes(b"")  # not a socket: refused, never deleted
    settings = make_settings(
        db_url, sink.port, tmp_path, lmtp={"enabled": True, "unix_path": str(path), "unix_mode": 0o600}
    )
    with pytest.raises(OSError, match="not a socket"):
        relay = Relay(settings)
        try:
            await relay.start(migrate=False)
        finally:
            await relay.stop()
    path.unlink()
    relay = Relay(settings)
    await relay.start(migrate=False)
    try:
        assert f"lmtp:unix:{path}" in relay.listening()
        assert path.stat().st_mode & 0o777 == 0o600
        _, data, _ = await asyncio.to_thread(transaction, str(path), [NETWORK], raw_message())
        assert data[0][0] == 250 and b"SAVE-" in data[0][1]
    finally:
        await relay.stop()
    assert not path.exists()  # removed on stop
