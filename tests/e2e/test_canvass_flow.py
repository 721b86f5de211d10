"""A canvass from a moderator's mail to the summary, over real SMTP on loopback, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.canvass.results import summarize, to_csv
from save_relay.core.clock import utcnow
from save_relay.store.tables import AuditEntry, Canvass, CanvassAnswer, CanvassRecipient, InboundMessage
from tests.conftest import MODERATORS
from tests.e2e.canvass_support import (
    OWNER,
    REPLY_TO,
    VOS,
    answer,
    canvass_settings,
    expected_near,
    mails_to,
    post_request,
    questions,
    start_relay,
    text_of,
    wait_status,
)
from tests.helpers import Sink, smtp_send, wait_for

JPEG = b"\xff\xd8\xff\xe0 camera 2, 02:41, white van" + bytes(range(256))

REQUEST = """near: Metaalwerken Vos NV
radius: 600 m
window: 2026-11-21 02:00 - 04:00
send: now
remind: 4s
close: 8s

Hebben uw camera's tussen 02:00 en 04:00 een witte bestelwagen gezien op de Balendijk?
"""


@pytest.fixture
async def relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    server = await start_relay(canvass_settings(db_url, sink, tmp_path))
    yield server
    await server.stop()


async def _audit(relay: Relay, ref: str = "canvass-1") -> list[str]:
    async with relay.sessions() as session:
        query = select(AuditEntry.action).where(AuditEntry.object_ref == ref).order_by(AuditEntry.id)
        return list(await session.scalars(query))


async def test_canvass_by_mail_from_request_to_summary(relay: Relay, sink: Sink) -> None:
    expected = expected_near(VOS, 600)
    assert len(expected) == 7  # six companies; Kempense Kunststoffen has two addresses
    await post_request(relay, REQUEST)

    # The owner's confirmation: recipient count and send time.
    confirmation = (await wait_for(lambda: mails_to(sink, OWNER, "Buurtonderzoek #1")))[0]
    confirmed = text_of(confirmation)
    assert "Ontvangers:  7 adres(sen)" in confirmed
    assert "rond Balendijk, 3920 Lommel, binnen 600 m" in confirmed  # the area, not who was hit
    assert "Tijdstip:    2026-11-21 02:00 – 04:00" in confirmed

    # The question: once per address, each with its own reply address.
    sent = await wait_for(lambda: len(questions(sink, 1)) >= 7 and questions(sink, 1))
    assert sorted(r for m in sent for r in m.rcpt_tos) == sorted(expected)
    reply_tos = [str(m.message["Reply-To"]) for m in sent]
    assert len(set(reply_tos)) == 7 and all(REPLY_TO.fullmatch(r) for r in reply_tos)
    text = text_of(sent[0])
    assert "witte bestelwagen" in text and "112" in text and "2026-11-21 02:00 – 04:00" in text
    assert all("Metaalwerken" not in text_of(m) and "Balendijk 112" not in text_of(m) for m in sent)
    assert "rond Balendijk, 3920 Lommel" in text
    assert sent[0].message["From"].addresses[0].addr_spec == "industrie@politie.lommel.be"
    by_address = {m.rcpt_tos[0]: m for m in sent}

    # Answers: a short "niets gezien", a still from a camera; an out-of-office reply does not count.
    await answer(relay, by_address["security@metaalwerken-vos.example"], "Niets gezien.")
    await answer(
        relay,
        by_address["preventie@kempense-kunststoffen.example"],
        "Camera 2 zag om 02:41 een witte bestelwagen, zie de bijlage.",
        attachment=("camera2.jpg", JPEG),
    )
    await answer(
        relay,
        by_address["info@houthandel-peeters.example"],
        "Ik ben afwezig tot maandag.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    forwarded = await wait_for(lambda: len(mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1")) >= 2)
    assert forwarded
    forwards = mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1")
    still = next(m for m in forwards if "Kempense" in str(m.message["Subject"]))
    [attached] = list(still.message.iter_attachments())
    assert attached.get_content() == JPEG and attached.get_filename().endswith("-1-camera2.jpg")
    assert str(still.message["Reply-To"]) == "preventie@kempense-kunststoffen.example"
    assert "Camera 2 zag om 02:41" in text_of(still)

    # The reminder: only to those who did not answer (nor did their company).
    reminded = await wait_for(
        lambda: len(questions(sink, 1, reminder=True)) >= 4 and questions(sink, 1, True)
    )
    silent = set(expected) - {
        "security@metaalwerken-vos.example",
        "preventie@kempense-kunststoffen.example",
        "nachtdienst@kempense-kunststoffen.example",  # the same company answered
    }
    assert sorted(r for m in reminded for r in m.rcpt_tos) == sorted(silent)
    assert all(REPLY_TO.fullmatch(str(m.message["Reply-To"])) for m in reminded)
    assert not set(map(str, (m.message["Reply-To"] for m in reminded))) & set(reply_tos)  # fresh tokens

    # The close: a summary with the response rate, who said what, and the attachment.
    canvass = await wait_status(relay, "closed")
    summary_mail = (await wait_for(lambda: mails_to(sink, OWNER, "Resultaat buurtonderzoek #1")))[0]
    assert "2 van 6 geantwoord" in str(summary_mail.message["Subject"])
    summary_text = text_of(summary_mail)
    assert "Antwoorden:  2 (33%)" in summary_text
    assert "Metaalwerken Vos NV <security@metaalwerken-vos.example>" in summary_text
    assert "    Niets gezien." in summary_text
    assert "Camera 2 zag om 02:41" in summary_text
    assert "-1-camera2.jpg (image/jpeg, " in summary_text and "bijgevoegd" in summary_text
    assert "Houthandel Peeters <info@houthandel-peeters.example>" in summary_text.split("Geen antwoord")[1]
    [summary_still] = list(summary_mail.message.iter_attachments())
    assert summary_still.get_content() == JPEG

    # A late answer is kept (flagged) and forwarded at once.
    await answer(relay, by_address["alarm@elektro-claes.example"], "Onze camera was stuk, sorry.")
    await wait_for(lambda: mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1 van Elektro Claes BV"))

    async with relay.sessions() as session:
        answers = list(await session.scalars(select(CanvassAnswer).order_by(CanvassAnswer.id)))
        assert [(a.text, a.late) for a in answers] == [
            ("Niets gezien.", False),
            ("Camera 2 zag om 02:41 een witte bestelwagen, zie de bijlage.", False),
            ("Onze camera was stuk, sorry.", True),
        ]
        assert answers[1].attachments == [
            {"filename": "camera2.jpg", "content_type": "image/jpeg", "size": len(JPEG)}
        ]
        raw = await session.scalar(
            select(InboundMessage.raw).where(InboundMessage.id == answers[1].inbound_id)
        )
        assert raw is not None and b"Camera 2 zag om 02:41" in raw  # the answer is kept whole
        responded = await session.scalars(
            select(CanvassRecipient.address).where(CanvassRecipient.responded_at.is_not(None))
        )
        assert sorted(responded) == [
            "alarm@elektro-claes.example",
            "preventie@kempense-kunststoffen.example",
            "security@metaalwerken-vos.example",
        ]
        table = to_csv(await summarize(session, canvass, "Europe/Brussels"))
    lines = table.splitlines()
    assert lines[0].startswith("canvass,company,addresses,distance_m,reminded,answered,answer_id")
    assert len(lines) == 1 + 6  # one row per subscriber (each answered at most once)
    assert any("Kempense Kunststoffen BV" in line and "-1-camera2.jpg" in line for line in lines)
    assert await _audit(relay) == [
        "canvass_created",
        "canvass_sent",
        "canvass_answer",
        "canvass_answer",
        "canvass_answer_ignored",
        "canvass_reminded",
        "canvass_closed",
        "canvass_answer",
    ]


async def test_cancel_by_reply_before_it_goes_out(relay: Relay, sink: Sink) -> None:
    await post_request(relay, "zones: kolonel-dusart\nsend: 1h\n\nWie zag de koperdieven?")
    confirmation = (await wait_for(lambda: mails_to(sink, OWNER, "Buurtonderzoek #1 gepland")))[0]
    assert "Annuleren kan tot het verstuurd wordt" in text_of(confirmation)
    reply_to = str(confirmation.message["Reply-To"])
    assert reply_to.startswith("industrie+confirm-")

    async def reply(sender: str, word: str) -> None:
        message = confirmation.message
        body = f"{word}\n\n> {text_of(confirmation).splitlines()[0]}\n"
        raw = (
            f"From: {sender}\r\nTo: {reply_to}\r\nSubject: Re: {message['Subject']}\r\n"
            f"Message-ID: <{word}.{sender}>\r\n\r\n{body}"
        ).encode()
        code, text = await smtp_send(relay.smtp_port, sender, [reply_to], raw)
        assert code == 250, text

    await reply(MODERATORS[1], "annuleer")  # the other moderator: the address was not sent to them
    await reply(OWNER, "graag")  # not a cancel word
    await wait_for(lambda: mails_to(sink, OWNER, "Niet uitgevoerd"))
    assert (await _audit(relay))[-2:] == ["canvass_cancel_refused", "canvass_cancel_refused"]
    assert not mails_to(sink, MODERATORS[1], "Niet uitgevoerd")  # refused silently
    await reply(OWNER, "annuleer")
    await wait_status(relay, "cancelled")
    await wait_for(lambda: mails_to(sink, OWNER, "Buurtonderzoek #1 geannuleerd"))

    # Even when its send time has come, a cancelled canvass never goes out.
    assert relay.scheduler is not None
    async with relay.sessions() as session, session.begin():
        canvass = await session.get(Canvass, 1)
        assert canvass is not None
        canvass.send_at = canvass.created_at
    await relay.scheduler.run_all()
    assert not questions(sink, 1)
    await reply(OWNER, "annuleer")  # once more: the address is spent
    await wait_for(lambda: len(mails_to(sink, OWNER, "Niet uitgevoerd")) >= 2)


async def test_only_moderators_canvass_and_mistakes_are_explained(relay: Relay, sink: Sink) -> None:
    stranger = "security@metaalwerken-vos.example"  # a subscriber, not a moderator
    await post_request(relay, "zones: maatheide\n\nWie zag iets?", sender=stranger)
    await post_request(relay, "near: Metaalwerken Vos\nraduis: 2 km\nsend: gisteren\n\nWie zag iets?")
    error = (await wait_for(lambda: mails_to(sink, OWNER, "Niet uitgevoerd")))[0]
    reason = text_of(error)
    assert "unknown field 'raduis'" in reason and "radius: missing" in reason and "send: not a time" in reason
    await post_request(relay, "near: Onbekende Firma\nradius: 1 km\n\nWie zag iets?")
    await wait_for(lambda: len(mails_to(sink, OWNER, "Niet uitgevoerd")) >= 2)
    assert "no subscriber called 'Onbekende Firma'" in text_of(mails_to(sink, OWNER, "Niet uitgevoerd")[1])
    async with relay.sessions() as session:
        actions = list(
            await session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "canvass_refused"))
        )
        assert actions == [stranger, OWNER, OWNER]
        assert await session.scalar(select(CanvassAnswer.id)) is None
    assert not sink.to(stranger)  # no backscatter


async def make_digest_due(relay: Relay, answers: int) -> None:
    """Once ``answers`` answers are stored, make the canvass's digest due now: the scheduler's next round
    sends them together however slowly this machine processed them (a short digest period let a loaded
    machine split two answers over two digests)."""

    async def stored() -> bool:
        async with relay.sessions() as session:
            return len(list(await session.scalars(select(CanvassAnswer.id)))) >= answers

    await wait_for(stored, timeout=30)
    async with relay.sessions() as session, session.begin():
        canvass = (await session.scalars(select(Canvass))).one()
        canvass.next_digest_at = utcnow()


async def test_answers_as_a_digest(db_url: str, sink: Sink, tmp_path: Path) -> None:
    settings = canvass_settings(
        db_url,
        sink,
        tmp_path,
        scheduler={"canvass_digest_hours": 1},  # not due by itself in the test: make_digest_due
        networks={
            "industrie": {
                "address": "industrie@politie.lommel.be",
                "name": "SaVE Lommel",
                "language": "en",
                "moderators": MODERATORS,
                "default_groups": ["politie-ploegen"],
                "canvass_answers": "digest",
            }
        },
    )
    relay = await start_relay(settings)
    try:
        await post_request(relay, "near: 51.23988, 5.28620\nradius: 350 m\nclose: 1h\n\nDid you see a van?")
        sent = await wait_for(lambda: len(questions(sink, 1)) >= 3 and questions(sink, 1))
        for message in sent[:2]:
            await answer(relay, message, f"Nothing seen at {message.rcpt_tos[0]}.")
        await make_digest_due(relay, answers=2)
        digest = (await wait_for(lambda: mails_to(sink, OWNER, "2 new answers to canvass #1")))[0]
        text = text_of(digest)
        assert all(f"Nothing seen at {m.rcpt_tos[0]}." in text for m in sent[:2])
        assert not mails_to(sink, OWNER, "Answer to canvass #1")  # not one by one
        await answer(relay, sent[2], "Nothing either.")
        await make_digest_due(relay, answers=3)
        single = await wait_for(lambda: mails_to(sink, OWNER, "Answer to canvass #1 from"))  # a digest of one
        assert "Nothing either." in text_of(single[0])
    finally:
        await relay.stop()


async def test_a_second_answer_keeps_the_first_answer_time(relay: Relay, sink: Sink) -> None:
    """Both answers are stored and forwarded; the recipient counts as answered from the first one."""
    await post_request(relay, REQUEST)
    sent = await wait_for(lambda: len(questions(sink, 1)) >= 7 and questions(sink, 1))
    question = next(m for m in sent if m.rcpt_tos == ["security@metaalwerken-vos.example"])
    await answer(relay, question, "Niets gezien.")
    await wait_for(lambda: len(mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1")) >= 1)
    await answer(relay, question, "Toch wel: camera 4 zag om 03:10 een bestelwagen.")
    await wait_for(lambda: len(mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1")) >= 2)

    async with relay.sessions() as session:
        answers = list(await session.scalars(select(CanvassAnswer).order_by(CanvassAnswer.id)))
        responded = (
            await session.execute(
                select(CanvassRecipient.address, CanvassRecipient.responded_at).where(
                    CanvassRecipient.responded_at.is_not(None)
                )
            )
        ).all()
    assert [a.text for a in answers] == ["Niets gezien.", "Toch wel: camera 4 zag om 03:10 een bestelwagen."]
    assert answers[0].recipient_id == answers[1].recipient_id
    assert answers[0].received_at < answers[1].received_at
    assert [(address, at) for address, at in responded] == [
        ("security@metaalwerken-vos.example", answers[0].received_at)
    ]
