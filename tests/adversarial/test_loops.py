"""Loops and backscatter: our own distribution coming back, out-of-office replies to it and mailer-daemon
mail are never redistributed or acknowledged; acknowledgements are rate-limited per address."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from save_relay.app import Relay
from save_relay.store.tables import Delivery, Report
from tests.adversarial.support import (
    NETWORK,
    REPORTER,
    all_processed,
    all_sent,
    audited,
    reference_of,
    running_relay,
)
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import distributed, notification_for, post_report, reply
from tests.helpers import Received, Sink, report_message, smtp_send, wait_for

SUBSCRIBER = "security@metaalwerken-vos.example"


async def _status(relay: object, reference: str) -> tuple[str, str | None]:
    async with relay.sessions() as session:  # type: ignore[attr-defined]
        row = (
            await session.execute(select(Report.status, Report.reason).where(Report.reference == reference))
        ).one()
        return row[0], row[1]


async def _mails_about(sink: Sink, reference: str) -> list[Received]:
    return [m for m in sink.messages if reference in str(m.message["Subject"])]


async def test_distribution_coming_back_is_a_loop_and_nothing_is_sent(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    async with running_relay(db_url, sink, tmp_path) as relay:
        reference = await post_report(relay)
        note = await notification_for(sink, MODERATORS[0], reference)
        await reply(relay, note, "ok")
        copy = (await wait_for(lambda: distributed(sink, reference)))[0]
        await wait_for(lambda: all_sent(relay))
        before = len(sink.messages)

        # A subscriber's mailbox forwards the distribution back to the network address; an
        # out-of-office answers it; a mailer daemon returns it.
        ooo = (
            b"From: Jan Vos <" + SUBSCRIBER.encode() + b">\r\nTo: " + NETWORK.encode() + b"\r\n"
            b"Subject: Automatisch antwoord: " + str(copy.message["Subject"]).encode() + b"\r\n"
            b"Auto-Submitted: auto-replied\r\nIn-Reply-To: "
            + str(copy.message["Message-ID"]).encode()
            + b"\r\n"
            b"\r\nIk ben afwezig tot maandag.\r\n"
        )
        dsn = (
            b"From: Mail Delivery System <MAILER-DAEMON@metaalwerken-vos.example>\r\nTo: "
            + NETWORK.encode()
            + b"\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nThis is the mail system.\r\n\r\n"
            + copy.data
        )
        cases = {
            "forwarded back": (SUBSCRIBER, copy.data),
            "out of office": (SUBSCRIBER, ooo),
            "daemon": ("", dsn),
        }
        references = {}
        for name, (mail_from, data) in cases.items():
            code, text = await smtp_send(relay.smtp_port, mail_from, [NETWORK], data)
            assert code == 250, (name, text)
            if name == "out of office":  # In-Reply-To names our copy: a follow-up, not a report
                assert "SAVE-" not in text, text
                continue
            references[name] = reference_of(text)
        await wait_for(lambda: all_processed(relay))
        await wait_for(lambda: all_sent(relay))

        statuses = {name: await _status(relay, ref) for name, ref in references.items()}
        assert statuses["forwarded back"] == ("discarded", "mail loop"), statuses
        assert statuses["daemon"][0] == "discarded", statuses
        assert [e.object_ref for e in await audited(relay, "followup_ignored")] == [reference]
        assert len(sink.messages) == before, [str(m.message["Subject"]) for m in sink.messages[before:]]
        async with relay.sessions() as session:
            distributions = list(
                await session.scalars(select(Delivery.id).where(Delivery.kind == "distribution"))
            )
        assert len(distributions) == len(distributed(sink, reference, 1))  # no second fan-out
        assert {e.object_ref for e in await audited(relay, "report_discarded")} == set(references.values())


STRANGER = "iemand@elders.example"


async def post_from_stranger(relay: Relay, subject: str) -> str:
    message = report_message(sender=f"Iemand <{STRANGER}>", subject=subject)
    code, text = await smtp_send(relay.smtp_port, STRANGER, [NETWORK], message)
    assert code == 250, text
    return reference_of(text)


async def test_a_subscriber_always_gets_a_reference(db_url: str, sink: Sink, tmp_path: Path) -> None:
    networks = {"industrie": {"ack_per_sender_per_hour": 3}}
    async with running_relay(db_url, sink, tmp_path, networks=_with(networks)) as relay:
        references = [await post_report(relay, subject=f"Melding {n}") for n in range(5)]
        await wait_for(lambda: all_processed(relay))
        await wait_for(lambda: all_sent(relay))
        acks = [m for m in sink.to(REPORTER) if str(m.message["Subject"]).startswith("Ontvangen")]
        assert len(acks) == 5
        assert all(any(r in str(m.message["Subject"]) for m in acks) for r in references)
        assert not await audited(relay, "ack_rate_limited")


async def test_acknowledgements_are_rate_limited_per_unknown_sender(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    networks = {"industrie": {"ack_per_sender_per_hour": 3}}
    async with running_relay(db_url, sink, tmp_path, networks=_with(networks)) as relay:
        references = [await post_from_stranger(relay, f"Melding {n}") for n in range(5)]
        for reference in references:  # every report still reaches the moderators
            await notification_for(sink, MODERATORS[0], reference)
        await wait_for(lambda: all_processed(relay))
        await wait_for(lambda: all_sent(relay))
        acks = [m for m in sink.to(STRANGER) if str(m.message["Subject"]).startswith("Ontvangen")]
        assert len(acks) == 3
        limited = await audited(relay, "ack_rate_limited")
        assert sorted(e.object_ref or "" for e in limited) == sorted(references[3:])
        assert all(e.detail["recipient"] == STRANGER for e in limited)

    # The count is in the database: a restarted relay still sends no fourth acknowledgement this hour.
    async with running_relay(db_url, sink, tmp_path, networks=_with(networks)) as relay:
        reference = await post_from_stranger(relay, "Na de herstart")
        await notification_for(sink, MODERATORS[0], reference)
        await wait_for(lambda: all_sent(relay))
        assert len([m for m in sink.to(STRANGER) if str(m.message["Subject"]).startswith("Ontvangen")]) == 3
        assert reference in {e.object_ref for e in await audited(relay, "ack_rate_limited")}


async def test_the_same_message_again_earns_no_second_acknowledgement(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    """A double send or a loop: the same subject, text and photo with new headers. The reporter (a
    subscriber, whom the hourly limit never stops) gets one acknowledgement, the moderators see both
    reports and are told the second repeats the first; a different message still gets its own."""
    photo = ("poort.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    async with running_relay(db_url, sink, tmp_path, networks=_with({"industrie": {}})) as relay:
        first = await post_report(relay, attachment=photo)
        await notification_for(sink, MODERATORS[0], first)
        await wait_for(lambda: all_sent(relay))
        again = await post_report(relay, attachment=photo)  # new Message-ID, same content
        other_photo = await post_report(relay, attachment=("poort.jpg", photo[1] + b" (another one)"))
        other_text = await post_report(relay, body="Vanmorgen stond de wagen er opnieuw.\n")
        note = await notification_for(sink, MODERATORS[0], again)
        await wait_for(lambda: all_processed(relay))
        await wait_for(lambda: all_sent(relay))

        acks = [m for m in sink.to(REPORTER) if str(m.message["Subject"]).startswith("Ontvangen")]
        acked = {
            r
            for r in (first, again, other_photo, other_text)
            if any(r in str(m.message["Subject"]) for m in acks)
        }
        assert acked == {first, other_photo, other_text}, [str(m.message["Subject"]) for m in acks]
        assert f"hetzelfde bericht als {first}" in note.text
        repeats = await audited(relay, "ack_repeat")
        assert [(e.object_ref, e.detail["first"], e.detail["recipient"]) for e in repeats] == [
            (again, first, REPORTER)
        ]
        for reference in (first, other_photo, other_text):
            assert "hetzelfde bericht" not in (await notification_for(sink, MODERATORS[0], reference)).text


async def test_an_unknown_sender_repeating_a_message_gets_one_acknowledgement(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    networks = {"industrie": {"ack_per_sender_per_hour": 3}}
    async with running_relay(db_url, sink, tmp_path, networks=_with(networks)) as relay:
        references = [await post_from_stranger(relay, "Zelfde melding") for _ in range(3)]
        for reference in references:
            await notification_for(sink, MODERATORS[0], reference)
        await wait_for(lambda: all_sent(relay))
        acks = [m for m in sink.to(STRANGER) if str(m.message["Subject"]).startswith("Ontvangen")]
        assert len(acks) == 1
        assert references[0] in str(acks[0].message["Subject"])
        assert not await audited(relay, "ack_rate_limited")  # the repeats did not use up the hourly share


def _with(networks: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """The test network of tests/conftest.py with ``networks``' overrides."""
    base: dict[str, object] = {
        "address": NETWORK,
        "name": "SaVE Lommel",
        "language": "nl",
        "moderators": MODERATORS,
        "default_groups": ["politie-ploegen"],
    }
    return {"industrie": {**base, **networks["industrie"]}}
