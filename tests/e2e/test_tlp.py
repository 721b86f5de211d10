"""TLP 2.0 labels over real SMTP on SQLite and PostgreSQL (issue 17): the reporter's label in every copy,
TLP:RED only to the named recipients, TLP:AMBER+STRICT never to an external group, lowering only with
the reporter's recorded consent, and the label in the audit entry, ``queue show`` and the evidence."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.safeguards import GroupSettings
from save_relay.core.settings import Settings
from save_relay.evidence.collect import report_files
from save_relay.moderation.queue import describe
from save_relay.store.tables import (
    AuditEntry,
    Delivery,
    Distribution,
    Group,
    GroupMembership,
    Report,
    Subscriber,
)
from save_relay.store.tables import SubscriberAddress as Address
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_report_flow import REPORTER, distributed, notification_for, post_report, reply
from tests.helpers import Received, Sink, wait_for

GUARD = "meldkamer@bewaking-kempen.example"  # a security firm's control room: the external group


def body(message: Received) -> str:
    return str(message.message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


def about(sink: Sink, to: str, reference: str, part: str) -> list[Received]:
    return [
        m for m in sink.to(to) if reference in str(m.message["Subject"]) and part in str(m.message["Subject"])
    ]


async def report_row(relay: Relay, reference: str) -> Report:
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        return report


async def recipients_of(relay: Relay, reference: str) -> list[str]:
    """Every address a distribution of the report was queued for."""
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        mine = select(Distribution.id).where(Distribution.report_id == report.id)
        rows = await session.scalars(select(Delivery.recipient).where(Delivery.distribution_id.in_(mine)))
        return sorted(rows)


async def audit_detail(relay: Relay, reference: str, action: str) -> dict[str, object]:
    async with relay.sessions() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.object_ref == reference, AuditEntry.action == action)
        )
        assert entry is not None, action
        return dict(entry.detail)


async def refusal(sink: Sink, moderator: str, reference: str) -> str:
    found = await wait_for(lambda: about(sink, moderator, reference, "Niet uitgevoerd"))
    return body(found[-1])


async def test_reporter_green_in_the_subject_labels_every_copy(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay, subject="[TLP:GREEN] Witte bestelwagen aan de poort")
    note = await notification_for(sink, MODERATORS[0], reference)
    assert str(note.message["Subject"]).startswith("[TLP:GREEN] ")
    text = body(note)
    assert text.splitlines()[0] == "TLP:GREEN"
    preview = text.split("(voorbeeld) ---", 1)[1]
    assert preview.strip().splitlines()[0] == "TLP:GREEN"  # the label is part of the preview
    assert (await report_row(relay, reference)).subject == "Witte bestelwagen aan de poort"

    await reply(relay, note, "ok")
    copies = await wait_for(lambda: distributed(sink, reference, 5))
    for copy in copies:
        subject = str(copy.message["Subject"])
        assert subject.startswith("[TLP:GREEN] ") and subject.count("TLP:") == 1
        assert body(copy).splitlines()[0] == "TLP:GREEN"
        assert copy.message["X-Save-Relay-TLP"] == "TLP:GREEN"
    assert (await audit_detail(relay, reference, "report_approved"))["tlp"] == "GREEN"
    assert (await audit_detail(relay, reference, "report_received"))["tlp"] == "GREEN"
    async with relay.sessions() as session:
        assert (await describe(session, reference))["tlp"] == "TLP:GREEN"
        files = await report_files(session, reference, exported_by="test", reason="test")
    assert json.loads(files["report.json"])["tlp"]["label"] == "GREEN"


async def test_first_line_sets_the_label_else_the_network_default(relay: Relay, sink: Sink) -> None:
    labelled = await post_report(
        relay, body="TLP: amber+strict\n\nVannacht stond een bestelwagen aan de poort.\n"
    )
    plain = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], labelled)
    assert str(note.message["Subject"]).startswith("[TLP:AMBER+STRICT] ")
    row = await report_row(relay, labelled)
    assert row.tlp == row.tlp_reporter == "AMBER+STRICT"
    assert row.preview_text is not None and not row.preview_text.startswith("TLP")  # said once, at the top
    default = await notification_for(sink, MODERATORS[0], plain)
    assert str(default.message["Subject"]).startswith("[TLP:AMBER] ")  # networks.<key>.tlp


async def test_red_needs_named_recipients_and_reaches_only_them(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "tlp: red\nok")
    assert "TLP:RED gaat alleen naar genoemde ontvangers" in await refusal(sink, MODERATORS[0], reference)
    row = await report_row(relay, reference)
    assert row.status == "pending" and row.tlp == "AMBER"  # nothing changed

    await reply(relay, note, "tlp: red\nzones: lommel\nontvangers: recherche@politie.lommel.example")
    await wait_for(lambda: len(about(sink, MODERATORS[0], reference, "Niet uitgevoerd")) == 2)
    assert "nooit naar zones of groepen" in body(about(sink, MODERATORS[0], reference, "Niet uitgevoerd")[-1])

    named = ["recherche@politie.lommel.example", "ploeg.b@politie.lommel.example"]
    await reply(relay, note, f"tlp: red\nontvangers: {named[0]}, {named[1].upper()}")
    copies = await wait_for(lambda: distributed(sink, reference, 2))
    await wait_for(lambda: about(sink, MODERATORS[0], reference, "goedgekeurd"))
    assert sorted(r for m in copies for r in m.rcpt_tos) == sorted(named)
    assert await recipients_of(relay, reference) == sorted(named)  # no zone, no group, no one else
    assert all(str(m.message["Subject"]).startswith("[TLP:RED] ") for m in copies)
    detail = await audit_detail(relay, reference, "report_approved")
    assert detail["tlp"] == "RED" and detail["named"] == named
    assert detail["zones"] == [] and detail["groups"] == []


async def _add_external_group(relay: Relay) -> None:
    """A security firm's group (``bewaking``): another organisation, never sent TLP:AMBER+STRICT."""
    assert relay.ctx is not None
    network_id = relay.ctx.networks["industrie"].id
    async with relay.sessions() as session, session.begin():
        group = Group(network_id=network_id, slug="bewaking", name="Bewaking Kempen")
        firm = Subscriber(network_id=network_id, company="Bewaking Kempen BV")
        session.add_all([group, firm])
        await session.flush()
        session.add_all(
            [
                Address(subscriber_id=firm.id, address=GUARD),
                GroupMembership(subscriber_id=firm.id, group_id=group.id),
            ]
        )


@pytest.fixture
async def relay_with_guard(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    """The demo network whose default groups also hold ``bewaking``, marked external."""
    settings: Settings = make_settings(db_url, sink.port, tmp_path)
    network = settings.networks["industrie"]
    settings.networks["industrie"] = network.model_copy(
        update={
            "default_groups": ["politie-ploegen", "bewaking"],
            "groups": {"bewaking": GroupSettings(internal=False)},
        }
    )
    server = Relay(settings)
    await server.start(migrate=False)
    await seed_demo(server.engine, server)
    await _add_external_group(server)
    yield server
    await server.stop()


async def test_amber_strict_never_reaches_an_external_group(relay_with_guard: Relay, sink: Sink) -> None:
    relay = relay_with_guard
    plain = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], plain), "ok")  # AMBER: the firm gets it
    await wait_for(lambda: [m for m in distributed(sink, plain) if GUARD in m.rcpt_tos])

    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "tlp: amber+strict\ngroepen: bewaking")
    assert "niet naar externe groep(en): bewaking" in await refusal(sink, MODERATORS[0], reference)

    await reply(relay, note, "TLP:AMBER+STRICT\nok")
    await wait_for(lambda: about(sink, MODERATORS[0], reference, "goedgekeurd"))
    detail = await audit_detail(relay, reference, "report_approved")
    assert detail["tlp"] == "AMBER+STRICT" and detail["groups_left_out"] == ["bewaking"]
    sent = await recipients_of(relay, reference)
    assert GUARD not in sent and "ploeg.a@politie.lommel.example" in sent and REPORTER in sent
    copies = await wait_for(lambda: distributed(sink, reference, len(sent)))
    assert all(GUARD not in m.rcpt_tos for m in copies)


async def test_lowering_needs_the_reporters_consent(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)  # the network's default: AMBER, the reporter's floor
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "tlp: green")
    assert "toestemming gevraagd" in await refusal(sink, MODERATORS[0], reference)
    row = await report_row(relay, reference)
    assert row.tlp == "AMBER" and row.tlp_requested == "GREEN" and row.tlp_consent is None

    ask = (await wait_for(lambda: about(sink, REPORTER, reference, "Toestemming gevraagd")))[0]
    assert "TLP:GREEN" in body(ask) and "akkoord" in body(ask)
    await reply(relay, ask, "nee, liever niet", sender=REPORTER)  # no consent: nothing changes
    await wait_for(lambda: about(sink, REPORTER, reference, "Niet uitgevoerd"))
    assert (await report_row(relay, reference)).tlp_consent is None

    await reply(relay, ask, "Akkoord", sender=REPORTER)
    told = await wait_for(lambda: about(sink, MODERATORS[1], reference, "akkoord met TLP:GREEN"))
    assert told
    assert (await report_row(relay, reference)).tlp_consent == "GREEN"
    assert (await audit_detail(relay, reference, "tlp_consent"))["tlp"] == "GREEN"

    await reply(relay, note, "tlp: green\nok")
    copies = await wait_for(lambda: distributed(sink, reference, 3))
    assert all(str(m.message["Subject"]).startswith("[TLP:GREEN] ") for m in copies)
    change = await audit_detail(relay, reference, "report_tlp")
    assert change == {"tlp": "GREEN", "previous": "AMBER", "consent": "GREEN"}


async def test_stricter_needs_no_consent_and_a_decided_report_is_not_lowered(
    relay: Relay, sink: Sink
) -> None:
    reference = await post_report(relay, subject="TLP:CLEAR openbare oproep")
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "tlp: amber")  # stricter: at once, decides nothing
    await wait_for(lambda: about(sink, MODERATORS[0], reference, "bijgewerkt"))
    row = await report_row(relay, reference)
    assert row.tlp == "AMBER" and row.tlp_reporter == "CLEAR" and row.status == "pending"
    await reply(relay, note, "tlp: clear\nok")  # back to the reporter's own label: no consent needed
    await wait_for(lambda: distributed(sink, reference, 3))
    assert (await report_row(relay, reference)).tlp == "CLEAR"
