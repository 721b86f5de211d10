"""Spoofed senders (CVE-2023-27043) and header injection (CVE-2024-6923), end to end over real SMTP.

Python 3.11.7's ``email.utils.parseaddr`` misreads ``alice@example.org)<bob@example.org>``-style
values, and its generator does not quote newlines in headers. The relay parses addresses strictly
(mail/addresses.py) and checks every outgoing header for CR/LF (mail/compose.py); these tests show
that neither CVE reaches the mail the relay sends or the decisions it takes. Unit tests of the
parser: tests/unit/test_addresses.py.
"""

from __future__ import annotations

import base64
import email
import email.policy
from email.utils import make_msgid

import pytest
from sqlalchemy import select, update

from save_relay.app import Relay
from save_relay.mail.compose import environment
from save_relay.store.tables import Report, Subscriber
from tests.adversarial.support import NETWORK, REPORTER, all_processed, all_sent, audited, reference_of
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import distributed, notification_for, post_report, reply, reply_body
from tests.helpers import Received, Sink, smtp_send, wait_for

VICTIM = "victim@evil.example"
# CVE-2023-27043's published shapes: the vulnerable parseaddr returns the address in angle brackets
# (or inside the quotes), a known subscriber or moderator; the real sender is somebody else.
SPOOFED_FROM = [
    f"boef@evil.example)<{REPORTER}>",
    f'"{REPORTER}" <boef@evil.example>',
    f"boef@evil.example (<{REPORTER}>)",
    f"{REPORTER},boef@evil.example",
]


def encoded(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def raw_report(from_value: str, subject: str = "Inbraak", body: str = "Een witte bestelwagen.\r\n") -> bytes:
    return (
        f"From: {from_value}\r\nTo: {NETWORK}\r\nSubject: {subject}\r\n"
        f"Message-ID: {make_msgid(domain='evil.example')}\r\n\r\n{body}"
    ).encode()


async def _report(relay: Relay, reference: str) -> Report:
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        return report


@pytest.mark.parametrize("from_value", SPOOFED_FROM)
async def test_cve_2023_27043_from_is_never_a_known_subscriber(
    relay: Relay, sink: Sink, from_value: str
) -> None:
    code, text = await smtp_send(relay.smtp_port, "boef@evil.example", [NETWORK], raw_report(from_value))
    assert code == 250, text
    reference = reference_of(text)
    await notification_for(sink, MODERATORS[0], reference)  # the moderators still see it
    report = await _report(relay, reference)
    assert report.sender != REPORTER
    assert report.subscriber_id is None  # not matched to Metaalwerken Vos
    assert report.zones == []  # so not proposed to the subscriber's zone either
    await wait_for(lambda: all_sent(relay))
    assert sink.to(REPORTER) == []  # no acknowledgement to the impersonated subscriber


@pytest.mark.parametrize(
    "from_value",
    [f"boef@evil.example)<{MODERATORS[0]}>", f'"{MODERATORS[0]}" <boef@evil.example>'],
)
async def test_cve_2023_27043_moderator_reply_never_approves(
    relay: Relay, sink: Sink, from_value: str
) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    to = str(note.message["Reply-To"])
    data = (
        f"From: {from_value}\r\nTo: {to}\r\nSubject: RE: {note.message['Subject']}\r\n"
        f"Message-ID: {make_msgid(domain='evil.example')}\r\n\r\n"
    ).encode() + reply_body("ok", note).encode()
    code, text = await smtp_send(relay.smtp_port, MODERATORS[0], [to], data)
    assert code == 250, text
    await wait_for(lambda: audited(relay, "confirm_refused"))
    await wait_for(lambda: all_processed(relay))
    assert (await _report(relay, reference)).status == "pending"
    assert distributed(sink, reference, 1) == []


def _assert_no_injection(messages: list[Received]) -> None:
    assert messages
    for received in messages:
        assert VICTIM not in [r.lower() for r in received.rcpt_tos]
        head = received.data.split(b"\r\n\r\n", 1)[0]
        lines = head.split(b"\r\n")
        assert not [line for line in lines if line.lower().startswith((b"bcc:", b"x-injected:"))], head
        parsed = email.message_from_bytes(received.data, policy=email.policy.default)
        assert parsed["Bcc"] is None and parsed["X-Injected"] is None, head
        assert not parsed.defects, (parsed.defects, head)


async def test_cve_2024_6923_encoded_newlines_never_make_a_header(relay: Relay, sink: Sink) -> None:
    """An RFC 2047 Subject and display name that decode to CR/LF + "Bcc: ...": the acknowledgement,
    the notifications and the distribution (reporter credited, so the name is used) carry no such header."""
    subject = encoded(f"Inbraak\r\nBcc: {VICTIM}\r\nX-Injected: yes")
    name = encoded(f"Jan\r\nBcc: {VICTIM}\nX-Injected: yes")
    data = raw_report(f"{name} <{REPORTER}>", subject=subject)
    code, text = await smtp_send(relay.smtp_port, REPORTER, [NETWORK], data)
    assert code == 250, text
    reference = reference_of(text)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "ok\nvermeld", style="gmail")
    await wait_for(lambda: distributed(sink, reference))
    await wait_for(lambda: all_sent(relay))
    about = [m for m in sink.messages if reference in str(m.message["Subject"])]
    kinds = {str(m.message["Subject"]).split(":")[0] for m in about}
    assert len(about) >= 4, kinds  # ack, 2 notifications, confirmation, distribution
    assert [m for m in sink.to(REPORTER) if str(m.message["Subject"]).startswith("Ontvangen")]
    _assert_no_injection(sink.messages)


async def test_newlines_in_a_company_name_never_make_a_header(relay: Relay, sink: Sink) -> None:
    async with relay.sessions() as session, session.begin():
        await session.execute(
            update(Subscriber)
            .where(Subscriber.company == "Metaalwerken Vos NV")
            .values(company=f"Vos NV\r\nBcc: {VICTIM}\r\nX-Injected: yes")
        )
    reference = await post_report(relay)
    await notification_for(sink, MODERATORS[0], reference)
    await wait_for(lambda: all_sent(relay))
    _assert_no_injection(sink.messages)


def test_jinja2_autoescapes_html_templates_only() -> None:
    env = environment()
    assert env.autoescape("notification.html") is True  # type: ignore[operator]
    assert env.autoescape("mail.htm") is True  # type: ignore[operator]
    assert env.autoescape("notification.txt") is False  # type: ignore[operator]
