"""Approval forgery with ``require_dkim = true``: only a reply that DKIM (dkimpy, offline DNS) or our own
MTA's Authentication-Results vouch for is applied; everything else changes nothing and is audited.

Token forgeries without DKIM (another moderator's token, a replayed, expired or unknown token, the
token of another report, a stranger's From) are proven in tests/e2e/test_moderation_paths.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.store.tables import Report
from tests.adversarial.support import NETWORK, all_processed, audited, running_relay
from tests.conftest import MODERATORS
from tests.dkim_support import FakeDns, sign
from tests.e2e.test_report_flow import notification_for, post_report, reply_body
from tests.helpers import Received, Sink, smtp_send, wait_for

POLICE = "politie.lommel.be"
TRUSTED_MTA = "mx.politie.lommel.be"


@pytest.fixture
async def strict_relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[tuple[Relay, FakeDns]]:
    network = {
        "address": NETWORK,
        "name": "SaVE Lommel",
        "language": "nl",
        "moderators": MODERATORS,
        "default_groups": ["politie-ploegen"],
        "require_dkim": True,
    }
    async with running_relay(
        db_url, sink, tmp_path, networks={"industrie": network}, trusted_authserv_ids=[TRUSTED_MTA]
    ) as relay:
        dns = FakeDns()
        dns.publish("sel", POLICE)
        dns.publish("evil", "evil.example", label="evil")
        assert relay.ctx is not None
        relay.ctx.dkim_dns = dns
        yield relay, dns


def reply_bytes(note: Received, command: str, sender: str = MODERATORS[0], extra: str = "") -> bytes:
    head = (
        f"{extra}From: Inspecteur Peeters <{sender}>\r\nTo: {note.message['Reply-To']}\r\n"
        f"Subject: RE: {note.message['Subject']}\r\nMessage-ID: {make_msgid(domain=POLICE)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    body = reply_body(command, note).replace("\r\n", "\n").replace("\n", "\r\n")
    return (head + body).encode()


def signed_by_police(note: Received) -> bytes:
    return sign(reply_bytes(note, "ok"), "sel", POLICE)


def tampered(note: Received) -> bytes:
    # Signed for "afwijzen", then the first line changed to "ok": the body hash no longer matches.
    return sign(reply_bytes(note, "afwijzen"), "sel", POLICE).replace(b"afwijzen", b"ok", 1)


def signed_by_evil(note: Received) -> bytes:
    return sign(reply_bytes(note, "ok"), "evil", "evil.example", label="evil")


def unsigned(note: Received) -> bytes:
    return reply_bytes(note, "ok")


def untrusted_results(note: Received) -> bytes:
    forged = f"Authentication-Results: mx.evil.example; dkim=pass header.d={POLICE}; dmarc=pass\r\n"
    return reply_bytes(note, "ok", extra=forged)


def trusted_results(note: Received) -> bytes:
    ours = f"Authentication-Results: {TRUSTED_MTA}; dkim=pass header.d={POLICE}; dmarc=pass\r\n"
    return reply_bytes(note, "ok", extra=ours)


REFUSED: dict[str, Callable[[Received], bytes]] = {
    "missing-signature": unsigned,
    "failing-signature": tampered,
    "unaligned-signature": signed_by_evil,
    "untrusted-authentication-results": untrusted_results,
}
ACCEPTED: dict[str, Callable[[Received], bytes]] = {
    "aligned-dkim-pass": signed_by_police,
    "trusted-authentication-results": trusted_results,
}


async def _status(relay: Relay, reference: str) -> str:
    async with relay.sessions() as session:
        return str(await session.scalar(select(Report.status).where(Report.reference == reference)))


async def _send_reply(relay: Relay, note: Received, data: bytes) -> None:
    code, text = await smtp_send(relay.smtp_port, MODERATORS[0], [str(note.message["Reply-To"])], data)
    assert code == 250, text


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_require_dkim_refuses(strict_relay: tuple[Relay, FakeDns], sink: Sink, case: str) -> None:
    relay, _dns = strict_relay
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await _send_reply(relay, note, REFUSED[case](note))
    refused = await wait_for(lambda: audited(relay, "confirm_refused"))
    assert "not authenticated" in str(refused[0].detail["reason"]), refused[0].detail
    await wait_for(lambda: all_processed(relay))
    assert await _status(relay, reference) == "pending"


@pytest.mark.parametrize("case", sorted(ACCEPTED))
async def test_require_dkim_accepts(strict_relay: tuple[Relay, FakeDns], sink: Sink, case: str) -> None:
    relay, dns = strict_relay
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await _send_reply(relay, note, ACCEPTED[case](note))
    await wait_for(lambda: _approved(relay, reference))
    assert await audited(relay, "confirm_refused") == []
    if case == "aligned-dkim-pass":
        assert dns.lookups == [f"sel._domainkey.{POLICE}."]  # verified through the injected DNS


async def _approved(relay: Relay, reference: str) -> bool:
    return await _status(relay, reference) == "approved"


async def test_canvass_by_mail_requires_dkim(strict_relay: tuple[Relay, FakeDns], sink: Sink) -> None:
    relay, _dns = strict_relay
    request = (
        f"From: Inspecteur Peeters <{MODERATORS[0]}>\r\nTo: industrie+canvass@{POLICE}\r\n"
        f"Subject: Inbraak Balendijk\r\nMessage-ID: {make_msgid(domain=POLICE)}\r\n\r\n"
        "near: 51.2399, 5.2862\r\nradius: 500 m\r\n\r\nHeeft u iets gezien?\r\n"
    ).encode()
    code, text = await smtp_send(relay.smtp_port, MODERATORS[0], [f"industrie+canvass@{POLICE}"], request)
    assert code == 250, text
    refused = await wait_for(lambda: audited(relay, "canvass_refused"))
    assert "not authenticated" in str(refused[0].detail["reason"])
    assert await audited(relay, "canvass_created") == []
