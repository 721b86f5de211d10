"""The IMAP intake against a real Dovecot: new mail becomes a report, IDLE is prompt, routes follow the
delivery headers, and what is taken is moved or flagged only after the commit."""

from __future__ import annotations

import email.policy
import hashlib
import time
from pathlib import Path

from sqlalchemy import select

from save_relay.app import Relay
from save_relay.store.tables import AuditEntry, InboundMessage, Report
from tests.conftest import seed_demo
from tests.helpers import Sink, report_message, wait_for
from tests.imap.conftest import Harness, imap_conf, settings_with_imap, sqlite_only
from tests.imap.dovecot import Dovecot

REPORTER = "security@metaalwerken-vos.example"
TOKEN = "k7" * 13  # 26 base32 characters, the shape of a real token


def raw_report(subject: str = "Verdachte witte bestelwagen", **kwargs: object) -> bytes:
    message = report_message(subject=subject, **kwargs)  # type: ignore[arg-type]
    return b"Return-Path: <" + REPORTER.encode() + b">\r\n" + message.as_bytes(policy=email.policy.SMTP)


async def test_new_mail_becomes_a_report_and_is_moved_after_commit(
    db_url: str, sink: Sink, tmp_path: Path, dovecot: Dovecot
) -> None:
    """The whole daemon: mailbox -> report -> acknowledgement and notifications, mail filed away."""
    settings = settings_with_imap(db_url, sink.port, tmp_path, imap_conf(dovecot))
    relay = Relay(settings)
    await relay.start(migrate=False)
    try:
        await seed_demo(relay.engine, relay)
        raw = raw_report(attachment=("camera1.jpg", b"\xff\xd8\xff fake jpeg"))
        await dovecot.append(raw)

        async def stored() -> Report | None:
            async with relay.sessions() as session:
                return await session.scalar(select(Report))

        report = await wait_for(stored)
        assert report.reference and report.reference.startswith("SAVE-")
        async with relay.sessions() as session:
            inbound = await session.get(InboundMessage, report.inbound_id)
        assert inbound is not None
        assert inbound.raw == raw and inbound.sha256 == hashlib.sha256(raw).hexdigest()
        assert inbound.via == "imap" and inbound.purpose == "post"
        assert inbound.mail_from == REPORTER and inbound.rcpt_to == "industrie@politie.lommel.be"

        await wait_for(lambda: sink.to(REPORTER))  # the acknowledgement, as for SMTP
        await wait_for(lambda: all(sink.to(m) for m in settings.networks["industrie"].moderators))
        assert await dovecot.messages("INBOX") == {}
        processed = await dovecot.messages("save-relay/processed")
        assert [body for _, body in processed.values()] == [raw]
        assert "imap://" in " ".join(relay.listening())
    finally:
        await relay.stop()


@sqlite_only
async def test_idle_picks_up_new_mail_within_a_second(harness: Harness, dovecot: Dovecot) -> None:
    poller = harness.poller()
    harness.run(poller)
    await harness.ready(poller)
    assert poller.health.mode == "IDLE"
    for n in range(3):
        started = time.monotonic()
        await dovecot.append(raw_report(subject=f"melding {n}"))
        await wait_for(lambda n=n: _count_is(harness, n + 1), timeout=1.0, interval=0.01)
        assert time.monotonic() - started < 1.0


async def _count_is(harness: Harness, expected: int) -> bool:
    return await harness.inbound_count() == expected


@sqlite_only
async def test_subaddresses_in_the_delivery_headers_choose_the_route(
    harness: Harness, dovecot: Dovecot
) -> None:
    """A mailbox that also receives industrie+confirm-TOKEN@ hands it on as a reply, not a report."""
    confirm = f"industrie+confirm-{TOKEN}@politie.lommel.be"
    bounce = f"industrie+bounces-{TOKEN}@politie.lommel.be"
    await dovecot.append(raw_report(subject="via To", to=confirm))
    await dovecot.append(
        b"Delivered-To: " + bounce.encode() + b"\r\n" + raw_report(subject="via Delivered-To")
    )
    await dovecot.append(raw_report(subject="someone else", to="iemand@elders.example"))
    await dovecot.append(raw_report(subject="bad token", to="industrie+confirm-short@politie.lommel.be"))
    poller = harness.poller()
    harness.run(poller)
    await wait_for(lambda: _count_is(harness, 4))
    rows = await harness.inbound()
    assert [(m.purpose, m.token, m.rcpt_to) for m in rows] == [
        ("confirm", TOKEN, "industrie@politie.lommel.be"),
        ("bounces", TOKEN, "industrie@politie.lommel.be"),
        ("post", None, "industrie@politie.lommel.be"),
        ("post", None, "industrie@politie.lommel.be"),
    ]


async def test_the_same_bytes_twice_are_stored_once(harness: Harness, dovecot: Dovecot) -> None:
    raw = raw_report()
    await dovecot.append(raw)
    await dovecot.append(raw)
    await dovecot.append(raw_report(subject="another one"))
    poller = harness.poller()
    harness.run(poller)
    await wait_for(lambda: _inbox_empty(dovecot))
    assert await harness.inbound_count() == 2
    assert len(await dovecot.messages("save-relay/processed")) == 3


async def _inbox_empty(dovecot: Dovecot) -> bool:
    return not await dovecot.messages("INBOX")


@sqlite_only
async def test_flag_mode_leaves_mail_in_place_and_never_takes_it_twice(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path
) -> None:
    settings = settings_with_imap(db_url, sink.port, tmp_path, imap_conf(dovecot, after="flag"))
    await dovecot.append(raw_report(subject="een"))
    poller = harness.poller(settings)
    harness.run(poller)
    await wait_for(lambda: _count_is(harness, 1))
    await dovecot.append(raw_report(subject="twee"))
    await wait_for(lambda: _count_is(harness, 2))

    async def flagged() -> bool:
        messages = await dovecot.messages("INBOX")
        return len(messages) == 2 and all(
            {"\\Seen", "save-relay-processed"} <= f for f, _ in messages.values()
        )

    await wait_for(flagged)
    await harness.stop()
    again = harness.poller(settings)  # a restart: everything is behind last_uid and flagged
    harness.run(again)
    await harness.ready(again)
    await dovecot.append(raw_report(subject="drie"))
    await wait_for(lambda: _count_is(harness, 3))
    assert await harness.inbound_count() == 3


@sqlite_only
async def test_mail_over_the_size_limit_is_set_aside_with_a_reason(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path
) -> None:
    settings = settings_with_imap(
        db_url, sink.port, tmp_path, imap_conf(dovecot), smtp={"max_message_size": 2048}
    )
    big = raw_report(subject="te groot", body="x" * 5000 + "\n")
    small = raw_report(subject="klein")
    await dovecot.append(big)
    await dovecot.append(small)
    poller = harness.poller(settings)
    harness.run(poller)
    await wait_for(lambda: _inbox_empty(dovecot))
    rows = await harness.inbound()
    assert [m.raw for m in rows] == [small]
    assert [b for _, b in (await dovecot.messages("save-relay/rejected")).values()] == [big]
    async with harness.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "imap_rejected"))
    assert entry is not None and "max_message_size" in entry.detail["reason"]
