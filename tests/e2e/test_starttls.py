"""STARTTLS on the SMTP intake (``smtp.tls_cert_file``/``tls_key_file``, ``smtp.require_starttls``), with a
certificate from trustme: the domain's MX scenario, where senders on the internet talk to save-relay.

The settings go through ``make_settings`` (the same validation as the TOML file), the client is Python's
smtplib verifying the certificate against the test CA.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import text

from save_relay.app import Relay
from save_relay.core.errors import SaveRelayError
from tests.conftest import make_settings, seed_demo
from tests.helpers import Sink, report_message

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"

# For the protocol only: the database behind the listener does not change what these tests show.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_files(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    cert = ca.issue_cert("relay.test", "127.0.0.1")
    cert_file, key_file = tmp_path / "relay-cert.pem", tmp_path / "relay-key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(cert_file), append=True)
    cert.private_key_pem.write_to_path(str(key_file))
    return {"tls_cert_file": str(cert_file), "tls_key_file": str(key_file)}


@pytest.fixture
async def start_relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[Relay] = []

    async def start(**smtp: object) -> Relay:
        relay = Relay(make_settings(db_url, sink.port, tmp_path, smtp=smtp))
        await relay.start(migrate=False)
        started.append(relay)
        await seed_demo(relay.engine, relay)
        return relay

    yield start
    for relay in started:
        await relay.stop()


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def send(port: int, context: ssl.SSLContext | None) -> dict[str, tuple[int, bytes]]:
    """One session, STARTTLS first when ``context`` is given; the reply of each step."""
    replies: dict[str, tuple[int, bytes]] = {}
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10) as client:
        replies["ehlo"] = client.ehlo()
        if context is not None:
            replies["starttls"] = client.starttls(context=context)
            replies["tls-ehlo"] = client.ehlo()
            sock = client.sock
            assert isinstance(sock, ssl.SSLSocket) and sock.version() in {"TLSv1.2", "TLSv1.3"}
        replies["mail"] = client.docmd("MAIL", f"FROM:<{REPORTER}>")
        if replies["mail"][0] == 250:
            replies["rcpt"] = client.rcpt(NETWORK)
            replies["data"] = client.data(report_message().as_bytes())
        else:
            replies["rset"] = client.rset()  # the session goes on
    return replies


async def stored_via_smtp(relay: Relay) -> list[Any]:
    async with relay.sessions() as session:
        query = "SELECT r.reference FROM reports r JOIN inbound_messages m ON m.id = r.inbound_id"
        return list((await session.execute(text(query))).scalars())


async def test_starttls_is_offered_and_mail_is_accepted_after_it(
    start_relay: Callable[..., Any], ca: trustme.CA, tmp_path: Path
) -> None:
    relay = await start_relay(**tls_files(ca, tmp_path))
    replies = await asyncio.to_thread(send, relay.smtp_port, client_context(ca))
    assert b"STARTTLS" in replies["ehlo"][1]
    assert replies["starttls"][0] == 220
    assert b"STARTTLS" not in replies["tls-ehlo"][1]  # not offered twice
    assert replies["data"][0] == 250 and b"queued as SAVE-" in replies["data"][1]
    assert len(await stored_via_smtp(relay)) == 1

    # Not required: a sender without TLS is still taken (most MTAs try STARTTLS when it is offered).
    plain = await asyncio.to_thread(send, relay.smtp_port, None)
    assert plain["data"][0] == 250
    assert len(await stored_via_smtp(relay)) == 2


async def test_require_starttls_refuses_plain_mail_from_with_530_5_7_0(
    start_relay: Callable[..., Any], ca: trustme.CA, tmp_path: Path
) -> None:
    relay = await start_relay(**tls_files(ca, tmp_path), require_starttls=True)
    plain = await asyncio.to_thread(send, relay.smtp_port, None)
    assert plain["ehlo"][0] == 250 and b"STARTTLS" in plain["ehlo"][1]
    assert plain["mail"] == (530, b"5.7.0 Must issue a STARTTLS command first")  # RFC 3207 section 4
    assert await stored_via_smtp(relay) == []

    secured = await asyncio.to_thread(send, relay.smtp_port, client_context(ca))
    assert secured["mail"][0] == 250 and secured["data"][0] == 250
    assert len(await stored_via_smtp(relay)) == 1


def test_require_starttls_without_a_certificate_is_a_config_error(tmp_path: Path, db_url: str) -> None:
    with pytest.raises(SaveRelayError, match="require_starttls needs tls_cert_file and tls_key_file"):
        make_settings(db_url, 2525, tmp_path, smtp={"require_starttls": True})
