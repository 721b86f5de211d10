"""SmtpTransport against real aiosmtpd smarthosts on loopback: one MAIL/RCPT/DATA per message on a
reused connection, SIZE declared, refusals reported with the server's code, SMTPUTF8 only when offered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from save_relay.core.settings import OutboundSettings
from save_relay.delivery.transport import SmtpTransport
from tests.helpers import Sink

MESSAGE = b"From: industrie@politie.lommel.be\r\nSubject: test\r\n\r\nBody.\r\n"


class Recorder(Sink):
    """The test sink, also keeping each MAIL's options and how many connections were opened."""

    mail_options: list[list[str]]
    connections: int = 0
    utf8: bool = False

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mail_options.append(list(options))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"


async def _start(utf8: bool) -> Recorder:
    sink = Recorder()
    sink.mail_options = []
    sink.utf8 = utf8
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        sink.connections += 1
        return SMTP(sink, hostname="sink.test", enable_SMTPUTF8=utf8, data_size_limit=10_000)

    sink.server = await loop.create_server(factory, host="127.0.0.1", port=0)
    return sink


@pytest.fixture(params=[True, False], ids=["smtputf8", "ascii-only"])
async def smarthost(request: pytest.FixtureRequest) -> AsyncIterator[Recorder]:
    sink = await _start(utf8=request.param)
    yield sink
    await sink.stop()


def _transport(port: int) -> SmtpTransport:
    return SmtpTransport(OutboundSettings(mode="smtp", smarthost_port=port, timeout=10), "relay.test")


async def test_messages_share_one_connection_and_declare_their_size(smarthost: Recorder) -> None:
    transport = _transport(smarthost.port)
    try:
        for n in range(3):
            result = await transport.send("bounces+x@politie.lommel.be", f"user{n}@company.example", MESSAGE)
            assert result.code == 250
    finally:
        await transport.close()
    assert [m.rcpt_tos for m in smarthost.messages] == [[f"user{n}@company.example"] for n in range(3)]
    assert all(m.data == MESSAGE for m in smarthost.messages)
    assert smarthost.connections == 1
    assert all(f"SIZE={len(MESSAGE)}" in options for options in smarthost.mail_options)


async def test_a_refused_recipient_is_reported_and_the_connection_stays_usable(smarthost: Recorder) -> None:
    smarthost.answers["gone@company.example"] = "550 5.1.1 No such user"
    transport = _transport(smarthost.port)
    try:
        refused = await transport.send("bounces+x@politie.lommel.be", "gone@company.example", MESSAGE)
        accepted = await transport.send("bounces+x@politie.lommel.be", "here@company.example", MESSAGE)
    finally:
        await transport.close()
    assert (refused.code, refused.message) == (550, "5.1.1 No such user")
    assert accepted.code == 250
    assert [m.rcpt_tos for m in smarthost.messages] == [["here@company.example"]]


async def test_too_big_is_refused_with_the_smarthosts_code(smarthost: Recorder) -> None:
    transport = _transport(smarthost.port)
    try:
        result = await transport.send("bounces+x@politie.lommel.be", "a@company.example", MESSAGE * 1000)
    finally:
        await transport.close()
    assert result.code == 552  # refused at MAIL from the declared SIZE, before any data was sent
    assert smarthost.messages == []


async def test_non_ascii_address_needs_smtputf8(smarthost: Recorder) -> None:
    transport = _transport(smarthost.port)
    try:
        result = await transport.send("bounces+x@politie.lommel.be", "jürgen@bedrijf.example", MESSAGE)
    finally:
        await transport.close()
    if smarthost.utf8:
        assert result.code == 250
        assert smarthost.messages[0].rcpt_tos == ["jürgen@bedrijf.example"]
        assert "SMTPUTF8" in smarthost.mail_options[0]
    else:  # a permanent failure with the reason, nothing sent in an encoding the server can't take
        assert result.code == 553 and "SMTPUTF8" in result.message
        assert smarthost.mail_options == [] and smarthost.messages == []


async def test_smarthost_gone_is_a_temporary_failure() -> None:
    sink = await _start(utf8=False)
    port = sink.port
    await sink.stop()
    assert sink.server is not None
    await sink.server.wait_closed()
    transport = _transport(port)
    result = await transport.send("bounces+x@politie.lommel.be", "a@company.example", MESSAGE)
    await transport.close()
    assert result.code == 421 and "unreachable" in result.message
