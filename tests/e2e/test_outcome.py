"""Everyone told (issue 15): after a decision by mail reply or CLI the other moderators get a notice (who,
when, how many or why) and the reporter the outcome; over real SMTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store import reports as reports_store
from save_relay.store.tables import InboundMessage, Report
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import REPORTER, notification_for, post_report, reply
from tests.helpers import Sink, wait_for


def mails(sink: Sink, to: str, subject_part: str) -> list[str]:
    return [
        str(m.message["Subject"]) + "\n" + m.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        for m in sink.to(to)
        if subject_part in str(m.message["Subject"])
    ]


async def raw_digest(relay: Relay, reference: str) -> tuple[str, str]:
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        inbound = await session.get(InboundMessage, report.inbound_id)
        assert inbound is not None
        return hashlib.sha256(inbound.raw).hexdigest(), inbound.sha256


@pytest.mark.parametrize("style", ["outlook", "gmail"])
async def test_approval_tells_the_other_moderator_and_the_reporter(
    relay: Relay, sink: Sink, style: str
) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "ok", style=style)
    notice = (await wait_for(lambda: mails(sink, MODERATORS[1], f"{reference} goedgekeurd door")))[0]
    assert MODERATORS[0] in notice and "verstuurd naar" in notice
    outcome = (await wait_for(lambda: mails(sink, REPORTER, f"Verspreid: {reference}")))[0]
    assert "goedgekeurd" in outcome and "adres(sen)" in outcome
    assert MODERATORS[0] not in outcome  # the reporter is not told which police officer decided
    assert not mails(sink, MODERATORS[0], "goedgekeurd door")  # the one who decided got the confirmation
    computed, stored = await raw_digest(relay, reference)
    assert computed == stored


async def test_rejection_with_a_reason_reaches_the_reporter(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[1], reference)
    await reply(relay, note, "afwijzen: al gemeld door de ploeg", sender=MODERATORS[1], style="gmail")
    notice = (await wait_for(lambda: mails(sink, MODERATORS[0], f"{reference} afgewezen door")))[0]
    assert MODERATORS[1] in notice and "al gemeld door de ploeg" in notice
    outcome = (await wait_for(lambda: mails(sink, REPORTER, f"Niet verspreid: {reference}")))[0]
    assert "Reden: al gemeld door de ploeg" in outcome


async def test_a_cli_rejection_without_a_reason_gets_a_neutral_line(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    await notification_for(sink, MODERATORS[0], reference)
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        report = await reports_store.by_reference(session, reference)
        assert report is not None
        await decide(session, relay.ctx, report, Decision("reject"), Actor("cli:test", "cli"))
    assert relay.worker is not None
    relay.worker.wake()
    outcome = (await wait_for(lambda: mails(sink, REPORTER, f"Niet verspreid: {reference}")))[0]
    assert "Reden:" not in outcome and "al bekend" in outcome
    for moderator in MODERATORS:  # a decision at the CLI: every moderator hears of it
        notice = (await wait_for(lambda m=moderator: mails(sink, m, f"{reference} afgewezen door")))[0]
        assert "cli:test" in notice and "zonder opgegeven reden" in notice
