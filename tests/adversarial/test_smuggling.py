"""SMTP smuggling and STARTTLS command injection never yield a second message or a stray command.

Relies on aiosmtpd >= 1.4.6 (CVE-2024-27305: only <CR><LF>.<CR><LF> ends DATA; CVE-2024-34083: commands
pipelined behind STARTTLS are discarded); these tests fail on older versions.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.store.tables import InboundMessage
from tests.conftest import make_settings, seed_demo
from tests.helpers import Sink

SMUGGLED = b"MAIL FROM:<admin@politie.lommel.be>\r\nRCPT TO:<industrie@politie.lommel.be>\r\nDATA\r\n"
SMUGGLED += b"From: admin@politie.lommel.be\r\nSubject: smuggled\r\n\r\nforged\r\n"

END_VARIANTS = {
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "crlf-dot-cr": b"\r\n.\r",
}


class Client:
    """A raw SMTP client: what an attacker types, byte for byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self) -> str:
        lines = []
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 10)).decode()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "".join(lines)

    async def send(self, data: bytes) -> str:
        self.writer.write(data)
        await self.writer.drain()
        return await self.reply()


async def connect(port: int) -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = Client(reader, writer)
    assert (await client.reply()).startswith("220")
    return client


async def stored(relay: Relay) -> int:
    async with relay.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


@pytest.mark.parametrize("variant", sorted(END_VARIANTS))
async def test_fake_end_of_data_never_yields_a_second_message(relay: Relay, variant: str) -> None:
    client = await connect(relay.smtp_port)
    assert (await client.send(b"EHLO attacker.example\r\n")).startswith("250")
    assert (await client.send(b"MAIL FROM:<security@metaalwerken-vos.example>\r\n")).startswith("250")
    assert (await client.send(b"RCPT TO:<industrie@politie.lommel.be>\r\n")).startswith("250")
    assert (await client.send(b"DATA\r\n")).startswith("354")
    body = b"From: security@metaalwerken-vos.example\r\nSubject: one\r\n\r\nfirst" + END_VARIANTS[variant]
    final = await client.send(body + SMUGGLED + b"\r\n.\r\n")
    assert final.startswith("250"), final
    assert (await client.send(b"QUIT\r\n")).startswith("221")
    assert await stored(relay) == 1
    async with relay.sessions() as session:
        raw = await session.scalar(select(InboundMessage.raw))
    assert raw is not None and b"Subject: smuggled" in raw  # the "second message" is body text of the first


@pytest.fixture
async def tls_relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[tuple[Relay, ssl.SSLContext]]:
    ca = trustme.CA()
    cert = ca.issue_cert("relay.test", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    settings = make_settings(
        db_url, sink.port, tmp_path, smtp={"tls_cert_file": str(cert_file), "tls_key_file": str(key_file)}
    )
    relay = Relay(settings)
    await relay.start(migrate=False)
    await seed_demo(relay.engine, relay)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    yield relay, client_context
    await relay.stop()


async def test_commands_pipelined_behind_starttls_are_discarded(
    tls_relay: tuple[Relay, ssl.SSLContext],
) -> None:
    relay, context = tls_relay
    client = await connect(relay.smtp_port)
    assert "STARTTLS" in await client.send(b"EHLO attacker.example\r\n")
    # The attacker sends MAIL FROM in the same packet as STARTTLS, before the handshake.
    client.writer.write(b"STARTTLS\r\nMAIL FROM:<admin@politie.lommel.be>\r\n")
    await client.writer.drain()
    assert (await client.reply()).startswith("220")
    await client.writer.start_tls(context, server_hostname="relay.test")
    assert (await client.send(b"EHLO attacker.example\r\n")).startswith("250")
    # Had the injected MAIL been kept, RCPT would be accepted; it must ask for MAIL first.
    answer = await client.send(b"RCPT TO:<industrie@politie.lommel.be>\r\n")
    assert answer.startswith("503"), answer
    assert (await client.send(b"QUIT\r\n")).startswith("221")
    assert await stored(relay) == 0


async def test_starttls_then_a_report_is_accepted(tls_relay: tuple[Relay, ssl.SSLContext]) -> None:
    relay, context = tls_relay
    client = await connect(relay.smtp_port)
    await client.send(b"EHLO reporter.example\r\n")
    assert (await client.send(b"STARTTLS\r\n")).startswith("220")
    await client.writer.start_tls(context, server_hostname="relay.test")
    await client.send(b"EHLO reporter.example\r\n")
    assert (await client.send(b"MAIL FROM:<security@metaalwerken-vos.example>\r\n")).startswith("250")
    assert (await client.send(b"RCPT TO:<industrie@politie.lommel.be>\r\n")).startswith("250")
    assert (await client.send(b"DATA\r\n")).startswith("354")
    answer = await client.send(b"Subject: over TLS\r\n\r\nciphered\r\n.\r\n")
    assert answer.startswith("250 2.0.0 Ok: queued as SAVE-"), answer
    assert await stored(relay) == 1
