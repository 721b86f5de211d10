"""The reporter withdraws a pending report by replying ``intrekken`` to the acknowledgement (issue 15);
over real SMTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.core.errors import CommandRefused
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store import reports as reports_store
from save_relay.store.tables import Delivery, Report
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_followups import audit_actions, followups_of, forwards
from tests.e2e.test_outcome import mails, raw_digest
from tests.e2e.test_report_flow import NETWORK, REPORTER, notification_for, post_report, reply
from tests.helpers import Received, Sink, smtp_send, wait_for

ACK_REPLY_TO = r"industrie\+followup-[a-z2-7]{26}@politie\.lommel\.be"


async def acknowledgement(sink: Sink, reference: str) -> Received:
    found = await wait_for(
        lambda: [m for m in sink.to(REPORTER) if f"Ontvangen: {reference}" in str(m.message["Subject"])]
    )
    return found[0]


async def answer_ack(relay: Relay, ack: Received, text: str, sender: str = REPORTER) -> None:
    """An Outlook reply to the acknowledgement, from ``sender``, to its Reply-To."""
    quoted = ack.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    message = EmailMessage()
    message["From"] = f"Jan Vos <{sender}>"
    message["To"] = str(ack.message["Reply-To"])
    message["Subject"] = "RE: " + str(ack.message["Subject"])
    message["In-Reply-To"] = str(ack.message["Message-ID"])
    message["Message-ID"] = make_msgid(domain="metaalwerken-vos.example")
    message.set_content(
        f"{text}\r\n\r\nMet vriendelijke groeten,\r\nJan Vos\r\nSecurity manager\r\n\r\n"
        f"Van: SaVE Lommel <{NETWORK}>\r\nVerzonden: dinsdag 24 november 2026 03:25\r\n"
        f"Aan: {sender}\r\nOnderwerp: {ack.message['Subject']}\r\n\r\n{quoted}"
    )
    code, text_ = await smtp_send(relay.smtp_port, sender, [str(message["To"])], message)
    assert code == 250, text_


async def status_of(relay: Relay, reference: str) -> str:
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        return report.status


async def distribution_deliveries(relay: Relay) -> int:
    async with relay.sessions() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.kind == "distribution")
        return int(await session.scalar(query) or 0)


@pytest.mark.parametrize("word", ["Intrekken", "withdraw.", "retirer", "zurückziehen!"])
async def test_the_reporter_withdraws_and_a_later_approval_is_refused(
    relay: Relay, sink: Sink, word: str
) -> None:
    reference = await post_report(relay)
    ack = await acknowledgement(sink, reference)
    assert re.fullmatch(ACK_REPLY_TO, str(ack.message["Reply-To"]))
    assert str(ack.message["Message-ID"]).startswith(f"<save-relay.{reference}.ack.")
    assert "intrekken" in ack.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    note = await notification_for(sink, MODERATORS[0], reference)

    await answer_ack(relay, ack, word)
    await wait_for(lambda: _status_is(relay, reference, "withdrawn"))
    for moderator in MODERATORS:
        notice = (
            await wait_for(lambda m=moderator: mails(sink, m, f"{reference} ingetrokken door de melder"))
        )[0]
        assert REPORTER in notice and "niet verspreid" in notice
    confirmation = (await wait_for(lambda: mails(sink, REPORTER, f"Ingetrokken: {reference}")))[0]
    assert "niet verspreid" in confirmation

    await reply(relay, note, "ok")  # the moderator approves after the withdrawal
    refusal = (await wait_for(lambda: mails(sink, MODERATORS[0], f"Niet uitgevoerd: {reference}")))[0]
    assert "door de melder ingetrokken" in refusal
    assert await status_of(relay, reference) == "withdrawn"
    assert await distribution_deliveries(relay) == 0  # never distributed
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():  # the CLI and the console: refused alike
        report = await reports_store.by_reference(session, reference)
        with pytest.raises(CommandRefused, match="withdrawn by the reporter"):
            await decide(session, relay.ctx, report, Decision("approve"), Actor("cli:test", "cli"))
    actions = await audit_actions(relay, reference)
    assert "report_withdrawn" in actions and "confirm_refused" in actions and "report_approved" not in actions
    computed, stored = await raw_digest(relay, reference)
    assert computed == stored


async def test_a_withdrawal_from_another_address_is_refused(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    ack = await acknowledgement(sink, reference)
    colleague = "jan.vos@metaalwerken-vos.example"
    await answer_ack(relay, ack, "intrekken", sender=colleague)

    refusal = (await wait_for(lambda: mails(sink, colleague, f"Niet uitgevoerd: {reference}")))[0]
    assert "alleen het adres waarnaar de ontvangstbevestiging ging" in refusal
    assert await status_of(relay, reference) == "pending"
    assert "withdrawal_refused" in await audit_actions(relay, reference)
    assert not mails(sink, MODERATORS[0], "ingetrokken door de melder")


async def test_any_other_reply_of_the_reporter_is_a_followup(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    ack = await acknowledgement(sink, reference)
    await answer_ack(relay, ack, "Ik heb nog een foto van de nummerplaat: 2-XYZ-987.")

    forward = (await wait_for(lambda: forwards(sink, MODERATORS[1], reference)))[0]
    assert "van de melder" in forward and "2-XYZ-987" in forward
    (followup,) = await followups_of(relay, reference)
    assert followup.role == "reporter" and followup.sent_to == REPORTER
    assert await status_of(relay, reference) == "pending"


async def _status_is(relay: Relay, reference: str, status: str) -> bool:
    return await status_of(relay, reference) == status


async def test_an_expired_acknowledgement_address_is_refused(db_url: str, sink: Sink, tmp_path: Path) -> None:
    network = {
        "address": NETWORK,
        "name": "SaVE Lommel",
        "language": "nl",
        "moderators": MODERATORS,
        "default_groups": ["politie-ploegen"],
        "followup_days": 1 / 86_400,  # one second
    }
    relay = Relay(make_settings(db_url, sink.port, tmp_path, networks={"industrie": network}))
    await relay.start(migrate=False)
    try:
        await seed_demo(relay.engine, relay)
        reference = await post_report(relay)
        ack = await acknowledgement(sink, reference)
        await asyncio.sleep(1.5)
        await answer_ack(relay, ack, "intrekken")
        refusal = (await wait_for(lambda: mails(sink, REPORTER, "Niet uitgevoerd")))[0]
        assert "onbekend of vervallen" in refusal
        assert await status_of(relay, reference) == "pending"
        assert await followups_of(relay, reference) == []
    finally:
        await relay.stop()
