"""Follow-ups stay with their report (issue 15): a reply to a distribution copy, at its +followup-TOKEN
Reply-To or at the plain address in the thread, is stored whole, linked, forwarded to the moderators and
never a new report; over real SMTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.evidence.collect import report_files
from save_relay.membership.holds import set_hold
from save_relay.membership.privacy import erase
from save_relay.membership.retention import purge_expired
from save_relay.moderation.queue import describe
from save_relay.store.db import create_engine
from save_relay.store.tables import AuditEntry, Base, Followup, InboundMessage, Report
from tests.conftest import MODERATORS
from tests.e2e.test_outcome import mails, raw_digest
from tests.e2e.test_report_flow import NETWORK, REPORTER, distributed, notification_for, post_report, reply
from tests.helpers import Received, Sink, smtp_send, wait_for

FOLLOWUP_RE = r"industrie\+followup-[a-z2-7]{27,39}@politie\.lommel\.be"
TYPED = "Wij zagen dezelfde bestelwagen om 03:30 aan onze poort 2. Camera 4 heeft beelden."


def outlook_reply(copy: Received, sender: str, to: str, text: str = TYPED, **headers: str) -> EmailMessage:
    """A reply as Outlook writes it: the text on top, a "Van:" header block, the copy quoted below."""
    quoted = copy.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    message = EmailMessage()
    message["From"] = f"Piet Claes <{sender}>"
    message["To"] = to
    message["Subject"] = "RE: " + str(copy.message["Subject"])
    message["In-Reply-To"] = str(copy.message["Message-ID"])
    message["References"] = str(copy.message["Message-ID"])
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(
        f"{text}\r\n\r\nMet vriendelijke groeten,\r\nPiet Claes\r\n\r\n"
        "________________________________\r\n"
        f"Van: SaVE Lommel <{NETWORK}>\r\n"
        "Verzonden: dinsdag 24 november 2026 10:40\r\n"
        f"Aan: {sender}\r\n"
        f"Onderwerp: {copy.message['Subject']}\r\n\r\n{quoted}"
    )
    return message


async def approved_copy(relay: Relay, sink: Sink) -> tuple[str, Received]:
    """A report approved by mail, and one copy that went to a subscriber other than the reporter."""
    reference = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok")
    copies = await wait_for(lambda: distributed(sink, reference, 3))
    copy = next(
        c
        for c in copies
        if REPORTER not in c.rcpt_tos and not c.rcpt_tos[0].endswith("politie.lommel.example")
    )
    return reference, copy


async def send(relay: Relay, message: EmailMessage, sender: str) -> str:
    code, text = await smtp_send(relay.smtp_port, sender, [str(message["To"])], message)
    assert code == 250, text
    return text


def forwards(sink: Sink, moderator: str, reference: str) -> list[str]:
    return mails(sink, moderator, f"Vervolg op {reference}")


async def report_count(relay: Relay) -> int:
    async with relay.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


async def followups_of(relay: Relay, reference: str) -> list[Followup]:
    async with relay.sessions() as session:
        query = (
            select(Followup)
            .join(Report, Report.id == Followup.report_id)
            .where(Report.reference == reference)
        )
        return list(await session.scalars(query))


async def audit_actions(relay: Relay, reference: str) -> list[str]:
    async with relay.sessions() as session:
        query = select(AuditEntry.action).where(AuditEntry.object_ref == reference).order_by(AuditEntry.id)
        return list(await session.scalars(query))


async def test_an_outlook_reply_to_a_copy_is_kept_with_its_report(relay: Relay, sink: Sink) -> None:
    reference, copy = await approved_copy(relay, sink)
    subscriber = copy.rcpt_tos[0]
    reply_to = str(copy.message["Reply-To"])
    assert re.fullmatch(FOLLOWUP_RE, reply_to)
    assert str(copy.message["Message-ID"]).startswith(f"<save-relay.{reference}.")
    before = await report_count(relay)
    assert "SAVE-" not in await send(relay, outlook_reply(copy, subscriber, reply_to), subscriber)

    for moderator in MODERATORS:
        forward = (await wait_for(lambda m=moderator: forwards(sink, m, reference)))[0]
        assert TYPED in forward and subscriber in forward and "een deelnemer" in forward
        assert "Verzonden: dinsdag" not in forward  # the quoted copy is cut, the text forwarded
    (followup,) = await followups_of(relay, reference)
    assert followup.role == "subscriber" and followup.found_by == "token" and followup.sent_to == subscriber
    assert followup.sha256 == hashlib.sha256(followup.raw).hexdigest()
    async with relay.sessions() as session:
        inbound = await session.get(InboundMessage, followup.inbound_id)
        assert inbound is not None and inbound.raw == followup.raw and inbound.sha256 == followup.sha256
        assert inbound.purpose == "followup"
        shown = await describe(session, reference)
    assert await report_count(relay) == before  # no new report
    assert "followup_received" in await audit_actions(relay, reference)
    assert any(subscriber in line and TYPED[:20] in line for line in shown["followups"])  # type: ignore[attr-defined]
    computed, stored = await raw_digest(relay, reference)
    assert computed == stored  # the report's own evidence is untouched


async def test_a_reply_to_the_plain_address_in_the_thread_is_a_followup(relay: Relay, sink: Sink) -> None:
    reference, copy = await approved_copy(relay, sink)
    subscriber = copy.rcpt_tos[0]
    before = await report_count(relay)
    text = await send(relay, outlook_reply(copy, subscriber, NETWORK), subscriber)
    assert "SAVE-" not in text  # no reference: it is not a report

    forward = (await wait_for(lambda: forwards(sink, MODERATORS[0], reference)))[0]
    assert TYPED in forward
    (followup,) = await followups_of(relay, reference)
    assert followup.found_by == "thread" and followup.sent_to is None and followup.role == "subscriber"
    assert await report_count(relay) == before


async def test_an_unknown_followup_address_is_refused_in_dutch(relay: Relay, sink: Sink) -> None:
    reference, copy = await approved_copy(relay, sink)
    subscriber = copy.rcpt_tos[0]
    before = await report_count(relay)
    unknown = "industrie+followup-" + "a" * 26 + "@politie.lommel.be"
    await send(relay, outlook_reply(copy, subscriber, unknown), subscriber)

    refusal = (await wait_for(lambda: mails(sink, subscriber, "Niet uitgevoerd")))[0]
    assert "onbekend of vervallen" in refusal and NETWORK in refusal
    assert await followups_of(relay, reference) == []
    assert await report_count(relay) == before
    assert not forwards(sink, MODERATORS[0], reference)


async def test_an_auto_reply_to_a_copy_is_not_forwarded(relay: Relay, sink: Sink) -> None:
    reference, copy = await approved_copy(relay, sink)
    subscriber = copy.rcpt_tos[0]
    message = outlook_reply(
        copy,
        subscriber,
        str(copy.message["Reply-To"]),
        "Ik ben afwezig tot 1 december.",
        Auto_Submitted="auto-replied",
    )
    del message["Subject"]
    message["Subject"] = "Automatisch antwoord: " + str(copy.message["Subject"])
    await send(relay, message, subscriber)

    await wait_for(lambda: _has(relay, reference, "followup_ignored"))
    assert not forwards(sink, MODERATORS[0], reference) and not forwards(sink, MODERATORS[1], reference)
    assert await followups_of(relay, reference) == []
    assert not mails(sink, subscriber, "Niet uitgevoerd")  # automatic mail is never answered


async def _has(relay: Relay, reference: str, action: str) -> bool:
    return action in await audit_actions(relay, reference)


def _about_followups(diff: Any) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item[1:]:
            table = getattr(getattr(part, "table", None), "name", None)
            if getattr(part, "name", None) in ("followups", "followup_hash") or table == "followups":
                return True
        if len(item) > 3 and (item[2], item[3]) == ("deliveries", "followup_hash"):
            return True
    return False


async def test_migration_0018_matches_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert [d for d in diff if _about_followups(d)] == []


async def test_followups_are_evidence_kept_by_a_hold_and_purged_without_one(relay: Relay, sink: Sink) -> None:
    held, held_copy = await approved_copy(relay, sink)
    loose, loose_copy = await approved_copy(relay, sink)
    for copy in (held_copy, loose_copy):
        subscriber = copy.rcpt_tos[0]
        await send(relay, outlook_reply(copy, subscriber, str(copy.message["Reply-To"])), subscriber)
    await wait_for(lambda: forwards(sink, MODERATORS[0], held) and forwards(sink, MODERATORS[0], loose))
    (followup,) = await followups_of(relay, held)
    async with relay.sessions() as session, session.begin():
        files = await report_files(session, held, exported_by="cli:test", reason="PV 2026/12")
        await set_hold(session, held, actor="cli:test", reason="PV 2026/12", release=False)
    info = json.loads(files["report.json"])
    [listed] = info["followups"]
    assert files[listed["file"]] == followup.raw and listed["sha256"] == followup.sha256
    assert (
        listed["role"] == "subscriber"
        and info["replies"]
        and all(r["purpose"] != "followup" for r in info["replies"])
    )

    async with relay.sessions() as session, session.begin():
        await purge_expired(session, relay.ctx, utcnow() + timedelta(days=800))  # type: ignore[arg-type]
    (kept,) = await followups_of(relay, held)
    assert kept.raw == followup.raw and kept.purged_at is None
    (purged,) = await followups_of(relay, loose)
    assert purged.raw == b"" and purged.text == "" and purged.purged_at is not None and purged.sha256
    async with relay.sessions() as session:
        assert (await session.get(InboundMessage, kept.inbound_id)).raw == followup.raw  # type: ignore[union-attr]
        assert (await session.get(InboundMessage, purged.inbound_id)).raw == b""  # type: ignore[union-attr]


async def test_a_thread_naming_no_report_of_ours_is_a_report_after_all(relay: Relay, sink: Sink) -> None:
    message = EmailMessage()
    message["From"] = f"Jan Vos <{REPORTER}>"
    message["To"] = NETWORK
    message["Subject"] = "RE: Verdachte wagen"
    message["In-Reply-To"] = "<save-relay.SAVE-2026-999999.7.0123456789abcdef@politie.lommel.be>"
    message["Message-ID"] = make_msgid(domain="metaalwerken-vos.example")
    message.set_content("Vannacht weer een witte bestelwagen aan de poort.\n")
    before = await report_count(relay)
    await send(relay, message, REPORTER)

    await wait_for(lambda: _reports_more_than(relay, before))
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).order_by(Report.id.desc()).limit(1))
        assert report is not None and report.reference and report.status == "pending"
        inbound = await session.get(InboundMessage, report.inbound_id)
        assert inbound is not None and inbound.purpose == "post"
    await notification_for(sink, MODERATORS[0], report.reference)


async def _reports_more_than(relay: Relay, count: int) -> bool:
    return await report_count(relay) > count


async def test_erasure_empties_a_subscribers_followup(relay: Relay, sink: Sink) -> None:
    reference, copy = await approved_copy(relay, sink)
    subscriber = copy.rcpt_tos[0]
    await send(relay, outlook_reply(copy, subscriber, str(copy.message["Reply-To"])), subscriber)
    await wait_for(lambda: forwards(sink, MODERATORS[0], reference))
    async with relay.sessions() as session, session.begin():
        await erase(session, relay.settings, subscriber, actor="cli:test")
    (followup,) = await followups_of(relay, reference)
    assert followup.raw == b"" and followup.text == "" and followup.sha256
    assert followup.sender.startswith("erased-") and subscriber not in (followup.sent_to or "")
