"""Urgent reports by SMS (issue 21), over real SMTP and a real SMPP server on loopback (tests/smsc_support):
a moderator's ``dringend`` sends the mail copies and an SMS to each opted-in number of the recipients,
with receipts stored and shown; throttling is retried, a refusal is not; a restart sends none twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.sms_settings import SmsSettings
from save_relay.membership.subscribers import import_csv
from save_relay.moderation.decide import Decision, decide
from save_relay.moderation.queue import describe
from save_relay.processing.gate import Actor
from save_relay.store.db import create_engine
from save_relay.store.tables import AuditEntry, Base, Delivery, Report
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_report_flow import _distribution_count, distributed, notification_for, post_report, reply
from tests.e2e.test_webhooks import decide_on
from tests.helpers import Sink, wait_for
from tests.smsc_support import INVALID_DESTINATION, THROTTLED, Smsc

VOS, VOS_NIGHT, PLOEG_A, MAATHEIDE = "+32470111111", "+32470222222", "+32470333333", "+32470444444"
NUMBERS = """company,addresses,sms
Metaalwerken Vos NV,security@metaalwerken-vos.example,0470 11 11 11; +32 470 22 22 22
Politie Lommel – ploeg A,ploeg.a@politie.lommel.example,0470/33.33.33
Zinkrecyclage Maatheide NV,security@zinkrecyclage-maatheide.example,0470 44 44 44
"""


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    server = await Smsc().start()
    yield server
    await server.stop()


def sms_settings(db_url: str, sink: Sink, tmp_path: Path, smsc: Smsc, **sms: Any) -> Settings:
    settings = make_settings(db_url, sink.port, tmp_path)
    settings.networks["industrie"].sms = SmsSettings.model_validate(smsc.settings(**sms))
    return settings


async def started(settings: Settings, numbers: str = NUMBERS) -> Relay:
    relay = Relay(settings)
    await relay.start(migrate=False)
    await seed_demo(relay.engine, relay)
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        done = await import_csv(session, relay.ctx.networks["industrie"].id, numbers)
        assert not done.errors, done.errors
    return relay


async def sms_rows(relay: Relay) -> dict[str, Delivery]:
    async with relay.sessions() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.kind == "sms").order_by(Delivery.id))
        return {row.recipient: row for row in rows}


async def shown_sms(relay: Relay, reference: str) -> list[str]:
    async with relay.sessions() as session:
        info = await describe(session, reference)
    return list(info["sms"])  # type: ignore[call-overload]


async def test_dringend_by_reply_sends_mail_and_sms_with_receipts(
    db_url: str, sink: Sink, tmp_path: Path, smsc: Smsc
) -> None:
    smsc.answers["32470333333"] = [THROTTLED]  # retried, then taken
    smsc.answers["32470222222"] = [INVALID_DESTINATION, INVALID_DESTINATION]  # permanent: tried once
    relay = await started(sms_settings(db_url, sink, tmp_path, smsc))
    try:
        reference = await post_report(relay)
        note = await notification_for(sink, MODERATORS[0], reference)
        assert "dringend" in note.message.get_body(preferencelist=("plain",)).get_content()
        await reply(relay, note, "dringend\noefening\nsms: Koperdiefstal Balendijk, wit busje 1-ABC-123")

        expected = await wait_for(lambda: _distribution_count(relay))
        await wait_for(lambda: distributed(sink, reference, expected), timeout=20)

        async def settled() -> dict[str, Delivery] | None:
            rows = await sms_rows(relay)
            done = {n: r for n, r in rows.items() if r.status in ("sent", "failed")}
            return rows if len(done) == len(rows) == 3 else None

        rows = await wait_for(settled, timeout=20)

        async def receipts() -> list[str] | None:
            lines = await shown_sms(relay, reference)
            return lines if sum("receipt DELIVRD" in line for line in lines) == 2 else None

        lines = await wait_for(receipts, timeout=10)
        confirmation = await wait_for(
            lambda: [m for m in sink.to(MODERATORS[0]) if "goedgekeurd" in str(m.message["Subject"])]
        )
    finally:
        await relay.stop()

    assert set(rows) == {VOS, VOS_NIGHT, PLOEG_A}  # the recipients' numbers; Maatheide is not in the zone
    assert rows[VOS].status == rows[PLOEG_A].status == "sent" and rows[PLOEG_A].attempts == 2
    assert rows[VOS_NIGHT].status == "failed" and rows[VOS_NIGHT].attempts == 1
    assert "0x0000000B" in (rows[VOS_NIGHT].last_error or "")
    assert Counter(n for n, _ in smsc.refused) == {"32470333333": 1, "32470222222": 1}
    text = "[OEFENING] " + reference + ": Koperdiefstal Balendijk, wit busje 1-ABC-123"
    assert smsc.texts(VOS) == smsc.texts(PLOEG_A) == [text]
    assert smsc.texts(MAATHEIDE) == [] and smsc.texts(VOS_NIGHT) == []
    assert {s.sender for s in smsc.submitted} == {"SaVE Lommel"} and smsc.submitted[0].data_coding == 0
    assert smsc.binds and smsc.binds[0] == ("saverelay", "s3cret!")
    vos_line = next(line for line in lines if line.startswith(VOS))
    assert vos_line.startswith(f"{VOS} sent, receipt DELIVRD 20")
    night = next(line for line in lines if line.startswith(VOS_NIGHT))
    assert "failed" in night and "Invalid Destination Address" in night
    body = confirmation[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "per sms naar 3 gsm-nummer(s)" in body
    async with relay.sessions() as session:
        approved = await session.scalar(select(AuditEntry).where(AuditEntry.action == "report_approved"))
        assert approved is not None and approved.detail["urgent"] is True and approved.detail["sms"] == 3


async def test_a_long_text_goes_in_concatenated_ucs2_parts_and_red_only_to_the_named(
    db_url: str, sink: Sink, tmp_path: Path, smsc: Smsc
) -> None:
    relay = await started(sms_settings(db_url, sink, tmp_path, smsc))
    try:
        reference = await post_report(relay)
        await notification_for(sink, MODERATORS[0], reference)
        essence = "Façade van hal 3 beschadigd; " * 5  # ç: UCS-2, 145 units: three parts of 67
        named = ["security@metaalwerken-vos.example"]
        async with relay.sessions() as session, session.begin():
            report = await session.scalar(select(Report).where(Report.reference == reference))
            assert report is not None
            report.tlp = "RED"
        await decide_on(
            relay, reference, Decision("approve", recipients=named, urgent=True, sms_text=essence)
        )

        async def sent() -> dict[str, Delivery] | None:
            rows = await sms_rows(relay)
            return rows if rows and all(r.status == "sent" for r in rows.values()) else None

        rows = await wait_for(sent, timeout=20)

        lines = await wait_for(lambda: _with_receipts(relay, reference), timeout=10)
    finally:
        await relay.stop()
    assert set(rows) == {VOS, VOS_NIGHT}  # TLP:RED: only the named recipient's company, never ploeg A
    parts = [s for s in smsc.submitted if s.number == VOS.lstrip("+")]
    assert (
        len(parts) == 3 and {p.data_coding for p in parts} == {8} and {p.esm_class for p in parts} == {0x40}
    )
    assert [p.payload[:6][-2:] for p in parts] == [bytes([3, 1]), bytes([3, 2]), bytes([3, 3])]
    assert len({p.payload[3] for p in parts}) == 1  # one concatenation reference
    assert "".join(p.text for p in parts) == f"{reference}: {' '.join(essence.split())}"
    assert any("(3 parts), receipt DELIVRD" in line for line in lines)


async def _with_receipts(relay: Relay, reference: str) -> list[str] | None:
    lines = await shown_sms(relay, reference)
    return lines if lines and all("receipt DELIVRD" in line for line in lines) else None


async def test_a_restart_mid_queue_loses_no_sms_and_sends_none_twice(
    db_url: str, sink: Sink, tmp_path: Path, smsc: Smsc
) -> None:
    numbers = [f"+324705{i:05d}" for i in range(40)]
    ploeg = "Politie Lommel – ploeg A,ploeg.a@politie.lommel.example"
    many = f"company,addresses,sms\n{ploeg},{';'.join(numbers)}\n"
    settings = sms_settings(db_url, sink, tmp_path, smsc, rate=10)  # the relay's own cap: 10 a second
    relay = await started(settings, many)
    try:
        reference = await post_report(relay)
        await notification_for(sink, MODERATORS[0], reference)
        await decide_on(relay, reference, Decision("approve", urgent=True))
        await wait_for(lambda: len(smsc.submitted) >= 8, timeout=20)
    finally:
        await relay.stop()
    before = len(smsc.submitted)
    assert before < len(numbers)  # stopped mid-queue
    relay = Relay(settings)
    await relay.start(migrate=False)
    try:

        async def all_sent() -> dict[str, Delivery] | None:
            rows = await sms_rows(relay)
            return rows if len(rows) == 40 and all(r.status == "sent" for r in rows.values()) else None

        rows = await wait_for(all_sent, timeout=30)

        async def receipts() -> list[str] | None:  # those of the second run's SMS at least (the first
            lines = await shown_sms(relay, reference)  # run's may have come after its unbind)
            return lines if sum("receipt DELIVRD" in line for line in lines) >= 40 - before else None

        lines = await wait_for(receipts, timeout=10)
    finally:
        await relay.stop()
    assert len(lines) == 40
    sent_to = Counter("+" + s.number for s in smsc.submitted)
    assert set(sent_to) == set(numbers) and set(sent_to.values()) == {1}  # each once, none lost
    assert all(r.attempts == 1 for r in rows.values())
    stamps = sorted(s.at for s in smsc.submitted[:before])
    if len(stamps) > 4:  # the cap: 10 a second (a little slack for the timer)
        assert (stamps[-1] - stamps[0]) / (len(stamps) - 1) >= 0.9 / 10


def _about_sms(diff: Any) -> bool:
    for item in diff if isinstance(diff, list) else [diff]:
        text = repr(item)
        if any(name in text for name in ("subscriber_phones", "sms_parts", "'urgent'", "'sms_text'")):
            return True
    return False


async def test_migration_0024_matches_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert {"subscriber_phones", "sms_parts"} <= tables
    assert [d for d in diff if _about_sms(d)] == []


async def test_without_a_gateway_an_urgent_report_goes_by_mail_only(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    relay = await started(make_settings(db_url, sink.port, tmp_path))  # no [sms]: no SMS worker either
    try:
        assert relay.sms is None and relay.ctx is not None
        reference = await post_report(relay)
        await notification_for(sink, MODERATORS[0], reference)
        async with relay.sessions() as session, session.begin():
            report = await session.scalar(select(Report).where(Report.reference == reference))
            assert report is not None
            applied = await decide(
                session, relay.ctx, report, Decision("approve", urgent=True), Actor("cli:test", "cli")
            )
        expected = await wait_for(lambda: _distribution_count(relay))
        await wait_for(lambda: distributed(sink, reference, expected), timeout=20)
        rows = await sms_rows(relay)
    finally:
        await relay.stop()
    assert applied.urgent and applied.sms == 0 and applied.recipients == expected and rows == {}


async def test_an_sms_still_throttled_after_max_age_fails_as_expired(
    db_url: str, sink: Sink, tmp_path: Path, smsc: Smsc
) -> None:
    smsc.answers["32470333333"] = [THROTTLED] * 100
    relay = await started(sms_settings(db_url, sink, tmp_path, smsc, max_age_minutes=0.02))  # 1.2 s
    try:
        reference = await post_report(relay)
        await notification_for(sink, MODERATORS[0], reference)
        await decide_on(relay, reference, Decision("approve", groups=["politie-ploegen"], urgent=True))

        async def expired() -> Delivery | None:
            row = (await sms_rows(relay)).get(PLOEG_A)
            return row if row is not None and row.status == "failed" else None

        row = await wait_for(expired, timeout=20)
    finally:
        await relay.stop()
    assert row.last_error == "554 expired: not sent within 0.02 min"
    assert 1 <= len([n for n, _ in smsc.refused if n == "32470333333"]) < 20 and smsc.texts(PLOEG_A) == []
