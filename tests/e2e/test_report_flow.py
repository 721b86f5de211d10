"""A report from intake to every recipient's mailbox, over real SMTP on loopback."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.store.tables import AuditEntry, Delivery, InboundMessage, Report
from tests.conftest import MODERATORS
from tests.helpers import Received, Sink, camera_jpeg, report_message, smtp_send, wait_for

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"


async def post_report(relay: Relay, **kwargs: object) -> str:
    code, text = await smtp_send(relay.smtp_port, REPORTER, [NETWORK], report_message(**kwargs))  # type: ignore[arg-type]
    assert code == 250, text
    match = re.search(r"SAVE-\d{4}-\d{6}", text)
    assert match, text
    return match.group(0)


async def notification_for(sink: Sink, moderator: str, reference: str) -> Received:
    def found() -> Received | None:
        for m in sink.to(moderator):
            if reference in str(m.message["Subject"]) and "moderer" in str(m.message["Subject"]):
                return m
        return None

    return await wait_for(found)


def reply_body(command: str, notification: Received, style: str = "outlook") -> str:
    quoted = notification.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    if style == "outlook":
        return (
            f"{command}\r\n\r\nMet vriendelijke groeten,\r\nInspecteur Peeters\r\n\r\n"
            "________________________________\r\n"
            "Van: SaVE Lommel <industrie@politie.lommel.be>\r\n"
            "Verzonden: dinsdag 24 november 2026 10:12\r\n"
            f"Aan: {MODERATORS[0]}\r\n"
            f"Onderwerp: {notification.message['Subject']}\r\n\r\n{quoted}"
        )
    quoted = "\n".join("> " + line for line in quoted.splitlines())
    return f"{command}\n\nOp di 24 nov 2026 om 10:12 schreef SaVE Lommel <{NETWORK}>:\n\n{quoted}\n"


async def reply(
    relay: Relay,
    notification: Received,
    command: str,
    sender: str = MODERATORS[0],
    style: str = "outlook",
    to: str | None = None,
) -> None:
    message = EmailMessage()
    message["From"] = f"Inspecteur Peeters <{sender}>"
    message["To"] = to or str(notification.message["Reply-To"])
    message["Subject"] = "RE: " + str(notification.message["Subject"])
    message["In-Reply-To"] = str(notification.message["Message-ID"])
    message["Message-ID"] = make_msgid(domain="politie.lommel.be")
    message.set_content(reply_body(command, notification, style))
    code, text = await smtp_send(relay.smtp_port, sender, [str(message["To"])], message)
    assert code == 250, text


async def test_report_is_stored_acknowledged_and_announced(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay, attachment=("camera1.jpg", camera_jpeg()))

    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None and report.status == "pending"
        inbound = await session.get(InboundMessage, report.inbound_id)
        assert inbound is not None and b"witte bestelwagen" in inbound.raw
        assert inbound.sha256 == hashlib.sha256(inbound.raw).hexdigest()

    ack = await wait_for(lambda: sink.to(REPORTER))
    ack_text = ack[0].message.get_body(preferencelist=("plain",)).get_content()
    assert reference in ack_text and "112" in ack_text and "101" in ack_text
    for moderator in MODERATORS:
        note = await notification_for(sink, moderator, reference)
        text = note.message.get_body(preferencelist=("plain",)).get_content()
        assert "Metaalwerken Vos NV" in text  # the subscriber behind the sender
        assert "camera1.jpg" in text
        assert "kolonel-dusart" in text  # proposed: the reporter's own zone
        reply_to = str(note.message["Reply-To"])
        assert re.fullmatch(r"industrie\+confirm-[a-z2-7]{26}@politie\.lommel\.be", reply_to)
    tokens = {str((await notification_for(sink, m, reference)).message["Reply-To"]) for m in MODERATORS}
    assert len(tokens) == 2  # one token per moderator


async def test_approve_by_reply_reaches_zone_and_group(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay, attachment=("camera1.jpg", camera_jpeg()))
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "ok")

    expected = await wait_for(lambda: _distribution_count(relay))
    delivered = await wait_for(lambda: distributed(sink, reference, expected))
    addresses = sorted(r for m in delivered for r in m.rcpt_tos)
    assert len(addresses) == len(set(addresses)) == expected
    assert "ploeg.a@politie.lommel.example" in addresses  # the default group
    assert REPORTER in addresses  # the reporter's own company is in the zone
    assert not any(a.endswith("maatheide.example") for a in addresses)

    one = delivered[0]
    msg = one.message
    assert msg["From"].addresses[0].addr_spec == NETWORK
    assert REPORTER not in one.data.decode("utf-8", "replace").split("\r\n\r\n", 1)[1]  # reporter hidden
    assert msg["Precedence"] == "list"
    assert msg["List-Id"] == "SaVE Lommel <industrie.politie.lommel.be>"
    assert re.search(
        r"mailto:industrie\+unsubscribe-[a-z2-7]{27,39}@politie\.lommel\.be", msg["List-Unsubscribe"]
    )
    assert re.fullmatch(r"industrie\+bounces-[a-z2-7]{27,39}@politie\.lommel\.be", one.mail_from)
    assert msg["Message-ID"].endswith("@politie.lommel.be>")
    assert [p.get_filename() for p in msg.iter_attachments()] == ["camera1.jpg"]
    photo = next(iter(msg.iter_attachments())).get_payload(decode=True)
    assert photo.startswith(b"\xff\xd8") and b"Exif" not in photo and b"iPhone" not in photo  # no metadata
    assert "witte bestelwagen" in msg.get_body(preferencelist=("plain",)).get_content()
    assert len({m.mail_from for m in delivered}) == len(delivered)  # VERP: one return path each

    confirmation = await wait_for(
        lambda: [m for m in sink.to(MODERATORS[0]) if "goedgekeurd" in str(m.message["Subject"])]
    )
    assert str(expected) in confirmation[0].message.get_body(preferencelist=("plain",)).get_content()

    async with relay.sessions() as session:
        query = select(AuditEntry.action).where(AuditEntry.object_ref == reference).order_by(AuditEntry.id)
        actions = list(await session.scalars(query))
        assert actions == ["report_received", "report_approved"]
        approved = await session.scalar(select(AuditEntry).where(AuditEntry.action == "report_approved"))
        assert approved is not None and approved.actor == MODERATORS[0] and approved.via == "smtp"
        assert approved.message_id


def distributed(sink: Sink, reference: str, at_least: int = 1) -> list[Received]:
    """The distribution messages of ``reference`` at the sink, once there are ``at_least``."""
    found = [m for m in sink.messages if m.message["List-Id"] and reference in str(m.message["Subject"])]
    return found if len(found) >= at_least else []


async def _distribution_count(relay: Relay) -> int:
    async with relay.sessions() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.kind == "distribution")
        return int(await session.scalar(query) or 0)
