"""The scheduler's other jobs, on both databases: moderation reminders (once per report), expiry of
reports left pending, the wake-up for deferred deliveries, periodic jobs run once across daemons, and
the retention purge of canvass answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay import routes
from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.processing.scheduler import Job, Scheduler
from save_relay.store.db import create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.scheduler import JobSlot
from save_relay.store.tables import (
    AuditEntry,
    Canvass,
    CanvassAnswer,
    CanvassRecipient,
    Delivery,
    InboundMessage,
    Report,
)
from tests.conftest import MODERATORS
from tests.e2e.canvass_support import canvass_settings, start_relay, text_of
from tests.e2e.test_report_flow import REPORTER, notification_for, post_report, reply
from tests.helpers import Received, Sink, wait_for


async def _backdate(relay: Relay, reference: str, by: timedelta) -> None:
    async with relay.sessions() as session, session.begin():
        await session.execute(
            update(Report).where(Report.reference == reference).values(received_at=utcnow() - by)
        )


async def _status(relay: Relay, reference: str) -> str:
    async with relay.sessions() as session:
        return str(await session.scalar(select(Report.status).where(Report.reference == reference)))


async def _actions(relay: Relay, reference: str) -> list[str]:
    async with relay.sessions() as session:
        query = select(AuditEntry.action).where(AuditEntry.object_ref == reference).order_by(AuditEntry.id)
        return list(await session.scalars(query))


def _mails(sink: Sink, to: str, subject_part: str) -> list[Received]:
    return [m for m in sink.to(to) if subject_part in str(m.message["Subject"])]


@pytest.fixture
async def relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    scheduler = {"moderation_reminder_hours": 4, "report_expiry_days": 2}
    server = await start_relay(canvass_settings(db_url, sink, tmp_path, scheduler=scheduler))
    yield server
    await server.stop()


async def test_moderators_are_reminded_once_and_can_decide_from_the_reminder(
    relay: Relay, sink: Sink
) -> None:
    waiting = await post_report(relay)
    fresh = await post_report(relay, subject="Nog een melding")
    await notification_for(sink, MODERATORS[0], waiting)
    await _backdate(relay, waiting, timedelta(hours=5))
    reminders = await wait_for(
        lambda: (
            all(_mails(sink, m, f"Herinnering: {waiting}") for m in MODERATORS)
            and [_mails(sink, m, f"Herinnering: {waiting}")[0] for m in MODERATORS]
        )
    )
    assert "wacht al 5 uur" in text_of(reminders[0])
    await asyncio.sleep(1.0)  # more ticks: no second reminder, and none for the fresh report
    assert [len(_mails(sink, m, "Herinnering")) for m in MODERATORS] == [1, 1]
    assert (await _actions(relay, waiting)).count("report_reminder_sent") == 1
    assert "report_reminder_sent" not in await _actions(relay, fresh)

    await reply(relay, reminders[0], "ok")  # the reminder's own reply address decides
    await wait_for(lambda: _approved(relay, waiting))


async def _approved(relay: Relay, reference: str) -> bool:
    return await _status(relay, reference) == "approved"


async def test_reports_pending_too_long_expire_and_the_reporter_is_told(relay: Relay, sink: Sink) -> None:
    told = await post_report(relay)
    automatic = await post_report(
        relay,
        sender="Alarmcentrale <alarm@kempense-kunststoffen.example>",
        headers={"Auto-Submitted": "auto-generated"},
    )
    note = await notification_for(sink, MODERATORS[0], told)
    for reference in (told, automatic):
        await _backdate(relay, reference, timedelta(days=3))

    async def both_expired() -> bool:
        return [await _status(relay, told), await _status(relay, automatic)] == ["expired", "expired"]

    await wait_for(both_expired)
    expired = await wait_for(lambda: _mails(sink, REPORTER, f"Niet verspreid: {told}"))
    assert "niet binnen 2 dagen" in text_of(expired[0]) and "112" in text_of(expired[0])
    assert not _mails(sink, "alarm@kempense-kunststoffen.example", "Niet verspreid")  # automatic mail
    async with relay.sessions() as session:
        entries = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "report_expired")))
    assert sorted((e.object_ref, e.detail["reporter_told"]) for e in entries) == sorted(
        [(told, True), (automatic, False)]
    )
    await reply(relay, note, "ok")  # too late: the reply addresses died with the expiry
    error = await wait_for(lambda: _mails(sink, MODERATORS[0], "Niet uitgevoerd"))
    assert "vervallen" in text_of(error[0])  # the report expired: said so, in Dutch
    assert await _status(relay, told) == "expired"


@pytest.mark.parametrize("scheduler_on", [True, False], ids=["scheduler", "no-scheduler"])
async def test_the_retries_job_wakes_the_sleeping_worker(
    db_url: str, sink: Sink, tmp_path: Path, scheduler_on: bool
) -> None:
    settings = canvass_settings(
        db_url,
        sink,
        tmp_path,
        outbound={"idle_poll_seconds": 60.0, "retry_base_seconds": 0.5, "retry_max_seconds": 0.5},
        scheduler={"enabled": scheduler_on},
    )
    relay = await start_relay(settings)
    sink.answers[REPORTER] = "451 4.3.0 Try again later"
    try:
        await post_report(relay)

        async def deferred() -> bool:
            async with relay.sessions() as session:
                query = select(Delivery.attempts).where(
                    Delivery.recipient == REPORTER, Delivery.status == "queued"
                )
                return (await session.scalar(query) or 0) >= 1

        await wait_for(deferred)
        del sink.answers[REPORTER]  # the smarthost takes it now; the retry is due in 0.5 s
        if scheduler_on:
            await wait_for(lambda: sink.to(REPORTER), timeout=5)
        else:
            await asyncio.sleep(3)  # the worker sleeps its idle poll (60 s): nothing wakes it
            assert not sink.to(REPORTER)
    finally:
        await relay.stop()


@pytest.fixture
async def context(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[tuple[Context, Path]]:
    settings = canvass_settings(db_url, sink, tmp_path)
    engine = create_engine(db_url)
    async with session_factory(engine)() as session, session.begin():
        networks = await sync_networks(session, settings)
    await engine.dispose()
    yield Context(settings, networks), tmp_path


async def test_a_periodic_job_runs_once_per_period_across_daemons(context: tuple[Context, Path]) -> None:
    ctx, _ = context
    runs: list[str] = []
    failures = [True]

    async def daily(session: AsyncSession, ctx: Context, now: datetime) -> int:
        if failures.pop() if failures else False:
            raise RuntimeError("the first run fails half-way")
        runs.append(now.isoformat())
        return 1

    engines = [create_engine(ctx.settings.database.url) for _ in range(2)]
    jobs = [Job("test-daily", daily, every=timedelta(days=1))]
    one, two = (Scheduler(ctx, session_factory(e), ctx.settings.scheduler, jobs=jobs) for e in engines)
    try:
        assert await one.run_job("test-daily") == 0  # failed: its turn is not used up
        assert await two.run_job("test-daily") == 1
        assert await one.run_job("test-daily") == 0  # not due again for a day, on any daemon
        assert await two.run_job("test-daily") == 0
        assert len(runs) == 1
        restarted = Scheduler(ctx, session_factory(engines[0]), ctx.settings.scheduler, jobs=jobs)
        assert await restarted.run_job("test-daily") == 0  # the turn is in the database
        async with session_factory(engines[0])() as session, session.begin():
            await session.execute(update(JobSlot).values(next_run_at=utcnow() - timedelta(seconds=1)))
        assert await restarted.run_job("test-daily") == 1
        assert len(runs) == 2
    finally:
        for engine in engines:
            await engine.dispose()


async def test_old_canvass_answers_are_purged(context: tuple[Context, Path]) -> None:
    ctx, _ = context
    engine = create_engine(ctx.settings.database.url)
    sessions = session_factory(engine)
    network_id = ctx.networks["industrie"].id
    now = utcnow()
    try:
        async with sessions() as session, session.begin():
            canvass = Canvass(
                network_id=network_id,
                owner=MODERATORS[0],
                title="Oud",
                question="?",
                zones=["maatheide"],
                send_at=now,
                close_at=now,
                status="closed",
            )
            session.add(canvass)
            await session.flush()
            for age, address in ((400, "old@example.org"), (10, "new@example.org")):
                recipient = CanvassRecipient(canvass_id=canvass.id, address=address)
                inbound = InboundMessage(
                    network_id=network_id,
                    purpose="reply",
                    raw=b"Subject: x\r\n\r\nniets gezien",
                    sha256="0" * 64,
                    size=30,
                    mail_from=address,
                    rcpt_to="industrie+reply-x@politie.lommel.be",
                )
                session.add_all([recipient, inbound])
                await session.flush()
                session.add(
                    CanvassAnswer(
                        canvass_id=canvass.id,
                        recipient_id=recipient.id,
                        inbound_id=inbound.id,
                        sender=address,
                        text="niets gezien",
                        attachments=[{"filename": "a.jpg", "content_type": "image/jpeg", "size": 1}],
                        received_at=now - timedelta(days=age),
                    )
                )
        scheduler = Scheduler(ctx, sessions, ctx.settings.scheduler, jobs=routes.JOBS)
        assert await scheduler.run_job("canvass-answer-purge") == 1
        assert await scheduler.run_job("canvass-answer-purge") == 0  # once a day
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(CanvassAnswer.sender, CanvassAnswer.text, InboundMessage.raw)
                    .join(InboundMessage, InboundMessage.id == CanvassAnswer.inbound_id)
                    .order_by(CanvassAnswer.id)
                )
            ).all()
            purged = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "canvass_answers_purged")
            )
        assert [tuple(r) for r in rows] == [
            ("old@example.org", "", b""),
            ("new@example.org", "niets gezien", b"Subject: x\r\n\r\nniets gezien"),
        ]
        assert purged == 1
    finally:
        await engine.dispose()
