"""Open relay and abuse: foreign recipients, connection and message floods, idle and slow clients.

Foreign recipients (550 5.7.1) and too many recipients (452 4.5.3) are proven in
tests/e2e/test_intake_errors.py (test_refused_recipients, test_too_many_recipients_is_452_4_5_3).
The limits are per process (intake/limits.py); loopback is exempt by default, so these tests clear
``smtp.rate_limit_exempt``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from pathlib import Path

from save_relay.store.tables import InboundMessage
from tests.adversarial.support import NETWORK, REPORTER, count, open_client, running_relay
from tests.helpers import Sink, report_message, smtp_send

MESSAGE = b"From: security@metaalwerken-vos.example\r\nSubject: flood\r\n\r\nbody\r\n.\r\n"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def test_aiosmtpd_has_the_smuggling_fixes() -> None:
    """CVE-2024-27305 and CVE-2024-34083 are fixed in aiosmtpd 1.4.6 (tests/adversarial/test_smuggling.py)."""
    assert _version(importlib.metadata.version("aiosmtpd")) >= (1, 4, 6)


async def test_too_many_connections_from_one_address_get_421(db_url: str, sink: Sink, tmp_path: Path) -> None:
    smtp = {"max_connections_per_ip": 3, "rate_limit_exempt": []}
    async with running_relay(db_url, sink, tmp_path, smtp=smtp) as relay:
        clients = []
        for _ in range(3):
            client, greeting = await open_client(relay.smtp_port)
            assert greeting.startswith("220"), greeting
            clients.append(client)
        extra, greeting = await open_client(relay.smtp_port)
        assert greeting.startswith("421 4.7.0 Too many connections"), greeting
        assert await extra.closed() == b""  # and the server hung up
        # One leaves: a new connection is welcome again (the count follows the closes).
        assert (await clients[0].send(b"QUIT\r\n")).startswith("221")
        await clients[0].closed()
        for _ in range(50):  # connection_lost runs a moment after the close
            again, greeting = await open_client(relay.smtp_port)
            if greeting.startswith("220"):
                break
            again.close()
            await asyncio.sleep(0.05)
        assert greeting.startswith("220"), greeting
        assert (await again.send(b"EHLO ok.example\r\n")).startswith("250")
        for client in [*clients[1:], again]:
            client.close()


async def test_too_many_messages_per_sender_per_hour_get_450(db_url: str, sink: Sink, tmp_path: Path) -> None:
    smtp = {"max_messages_per_sender_per_hour": 3, "rate_limit_exempt": []}
    async with running_relay(db_url, sink, tmp_path, smtp=smtp) as relay:
        client, _ = await open_client(relay.smtp_port)
        await client.send(b"EHLO flood.example\r\n")
        for _ in range(3):
            assert (await client.send(f"MAIL FROM:<{REPORTER}>\r\n".encode())).startswith("250")
            assert (await client.send(f"RCPT TO:<{NETWORK}>\r\n".encode())).startswith("250")
            assert (await client.send(b"DATA\r\n")).startswith("354")
            assert (await client.send(MESSAGE)).startswith("250")
        answer = await client.send(f"MAIL FROM:<{REPORTER}>\r\n".encode())
        assert answer.startswith("450 4.7.1") and "last hour" in answer, answer
        # The budget is per peer address too: another sender from the same address is refused as well.
        answer = await client.send(b"MAIL FROM:<other@metaalwerken-vos.example>\r\n")
        assert answer.startswith("450 4.7.1"), answer
        assert (await client.send(b"QUIT\r\n")).startswith("221")
        assert await count(relay, InboundMessage) == 3


async def test_idle_client_is_disconnected_with_421(db_url: str, sink: Sink, tmp_path: Path) -> None:
    async with running_relay(db_url, sink, tmp_path, smtp={"timeout": 0.5}) as relay:
        client, greeting = await open_client(relay.smtp_port)
        assert greeting.startswith("220")
        started = time.monotonic()
        rest = await client.closed(timeout=10)
        assert rest.startswith(b"421 4.4.2"), rest
        assert 0.4 < time.monotonic() - started < 5


async def test_slow_client_dribbling_data_is_cut_off(db_url: str, sink: Sink, tmp_path: Path) -> None:
    """aiosmtpd restarts its timer only on a command: smtp.timeout bounds the whole DATA phase."""
    async with running_relay(db_url, sink, tmp_path, smtp={"timeout": 1.0}) as relay:
        client, _ = await open_client(relay.smtp_port)
        await client.send(b"EHLO slow.example\r\n")
        await client.send(f"MAIL FROM:<{REPORTER}>\r\n".encode())
        await client.send(f"RCPT TO:<{NETWORK}>\r\n".encode())
        assert (await client.send(b"DATA\r\n")).startswith("354")
        started = time.monotonic()
        cut = False
        while time.monotonic() - started < 10:  # one line every 0.2 s, never the final dot
            try:
                client.writer.write(b"Subject: slow\r\n")
                await client.writer.drain()
            except (ConnectionError, OSError):
                cut = True
                break
            if client.reader.at_eof():
                cut = True
                break
            try:
                data = await asyncio.wait_for(client.reader.read(1024), 0.2)
            except TimeoutError:
                continue
            if data == b"" or data.startswith(b"421"):
                cut = True
                break
        assert cut, "the server kept a dribbling client for 10 s"
        assert time.monotonic() - started < 5
        assert await count(relay, InboundMessage) == 0


async def test_limits_do_not_touch_the_exempt_local_mta(db_url: str, sink: Sink, tmp_path: Path) -> None:
    """Loopback (a local MTA in front) is exempt by default: more than the limit goes through."""
    smtp = {"max_messages_per_sender_per_hour": 1, "max_connections_per_ip": 1}
    async with running_relay(db_url, sink, tmp_path, smtp=smtp) as relay:
        first, greeting = await open_client(relay.smtp_port)
        second, greeting2 = await open_client(relay.smtp_port)
        assert greeting.startswith("220") and greeting2.startswith("220")
        for _ in range(3):
            code, _text = await smtp_send(relay.smtp_port, REPORTER, [NETWORK], report_message())
            assert code == 250
        first.close()
        second.close()
