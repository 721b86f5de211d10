"""Signed webhooks (issue 21) from a moderator's decision to a control room's HTTP endpoint on loopback:
signatures checked with the reference ``standardwebhooks`` library, retries through the delivery queue."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.channels.dispatch import dispatch_events, purge_dispatched
from save_relay.channels.signing import headers as signed_headers
from save_relay.core.clock import utcnow
from save_relay.core.settings import Settings
from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import WebhookSettings, secret_key
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store import channel_events
from save_relay.store.tables import Delivery, Report
from tests.conftest import make_settings, seed_demo
from tests.e2e.canvass_support import answer, post_request, questions, wait_status
from tests.e2e.test_delivery import announced
from tests.e2e.test_followups import TYPED, approved_copy, outlook_reply, send
from tests.e2e.test_report_flow import REPORTER, post_report
from tests.helpers import Sink, camera_jpeg, wait_for
from tests.webhook_support import Receiver, webhook


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


def webhook_settings(db_url: str, sink: Sink, tmp_path: Path, *hooks: dict[str, object]) -> Settings:
    settings = make_settings(db_url, sink.port, tmp_path, scheduler={"tick_seconds": 0.2})
    settings.networks["industrie"].webhooks = [WebhookSettings.model_validate(h) for h in hooks]
    return settings


async def started(settings: Settings) -> Relay:
    relay = Relay(settings)
    await relay.start(migrate=False)
    await seed_demo(relay.engine, relay)
    return relay


async def decide_on(relay: Relay, reference: str, decision: Decision) -> None:
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        await decide(session, relay.ctx, report, decision, Actor(name="cli:test", via="cli"))


async def webhook_rows(relay: Relay) -> list[Delivery]:
    async with relay.sessions() as session:
        query = select(Delivery).where(Delivery.kind == "webhook").order_by(Delivery.id)
        return list(await session.scalars(query))


async def test_an_approved_report_reaches_the_control_room_signed(
    db_url: str, sink: Sink, tmp_path: Path, receiver: Receiver
) -> None:
    relay = await started(webhook_settings(db_url, sink, tmp_path, webhook(receiver)))
    try:
        reference = await post_report(relay, attachment=("camera1.jpg", camera_jpeg()))
        await announced(relay, reference)
        await decide_on(relay, reference, Decision("approve", edit_text="Witte bestelwagen aan de poort."))
        [posted] = await wait_for(lambda: receiver.posted, timeout=20)
        [row] = await wait_for(lambda: _sent(relay), timeout=10)
    finally:
        await relay.stop()

    assert row.recipient == "meldkamer" and posted.headers["webhook-id"] == f"msg_{row.id}"
    assert posted.verified  # standardwebhooks.Webhook(secret).verify(body, headers) passed
    assert posted.headers["webhook-id"].startswith("msg_")
    assert abs(int(posted.headers["webhook-timestamp"]) - time.time()) < 60
    assert posted.headers["content-type"] == "application/json"
    document = posted.json()
    assert document["type"] == "report.approved"
    data = document["data"]
    assert data["reference"] == reference and data["network"]["address"] == "industrie@politie.lommel.be"
    assert data["text"] == "Witte bestelwagen aan de poort."  # what the moderator judged
    assert data["attachments"] == [{"filename": "camera1.jpg", "content_type": "image/jpeg"}]
    assert REPORTER not in posted.body.decode() and "credited" in data and data["credited"] is None
    assert "Received:" not in posted.body.decode()  # no raw mail

    # A tampered body, or a correct signature of an old timestamp, fails the reference verification.
    assert not receiver.verify(posted.body.replace(b"poort", b"POORT"), posted.headers)
    key = secret_key(receiver.secret)
    old = signed_headers(key, posted.headers["webhook-id"], int(time.time()) - 600, posted.body)
    assert not receiver.verify(posted.body, old)
    fresh = signed_headers(key, posted.headers["webhook-id"], int(time.time()), posted.body)
    assert receiver.verify(posted.body, fresh)


async def test_a_rejection_tells_only_the_reference_and_zones_filter(
    db_url: str, sink: Sink, tmp_path: Path, receiver: Receiver
) -> None:
    hooks = (
        webhook(receiver, "alles"),
        webhook(receiver, "elders", zones=["blauwe-kei"]),  # the report is not in this zone
        webhook(receiver, "enkel-goedkeuring", events=["report.approved"]),
    )
    relay = await started(webhook_settings(db_url, sink, tmp_path, *hooks))
    try:
        reference = await post_report(relay)
        await announced(relay, reference)
        await decide_on(relay, reference, Decision("reject", reason="geen misdrijf"))
        [posted] = await wait_for(lambda: receiver.posted, timeout=20)
        rows = await wait_for(lambda: _sent(relay), timeout=10)
    finally:
        await relay.stop()
    assert posted.verified
    document = posted.json()
    assert document["type"] == "report.rejected"
    assert set(document["data"]) == {"network", "reference", "decided_at", "exercise"}
    assert "geen misdrijf" not in posted.body.decode() and "bestelwagen" not in posted.body.decode()
    assert [row.recipient for row in rows] == ["alles"]


async def _sent(relay: Relay) -> list[Delivery] | None:
    rows = await webhook_rows(relay)
    return rows if rows and all(row.status == "sent" for row in rows) else None


async def test_a_503_is_retried_and_a_400_is_not(
    db_url: str, sink: Sink, tmp_path: Path, receiver: Receiver
) -> None:
    other = await Receiver().start()
    receiver.answers = [503]  # then 200
    other.answers = [400, 400]
    hooks = (webhook(receiver, "druk"), webhook(other, "kapot"))
    relay = await started(webhook_settings(db_url, sink, tmp_path, *hooks))
    try:
        reference = await post_report(relay)
        await announced(relay, reference)
        await decide_on(relay, reference, Decision("approve"))

        async def settled() -> dict[str, Delivery] | None:
            rows = {row.recipient: row for row in await webhook_rows(relay)}
            done = len(rows) == 2 and rows["druk"].status == "sent" and rows["kapot"].status == "failed"
            return rows if done else None

        rows = await wait_for(settled, timeout=30)
        await wait_for(lambda: len(receiver.posted) == 2)
    finally:
        await relay.stop()
        await other.stop()
    assert [p.status for p in receiver.posted] == [503, 200]
    assert receiver.posted[0].headers["webhook-id"] == receiver.posted[1].headers["webhook-id"]
    assert all(p.verified for p in receiver.posted)
    assert rows["druk"].attempts == 2 and rows["druk"].last_error == "451 HTTP 503 Service Unavailable"
    assert [p.status for p in other.posted] == [400]  # failed for good: never asked again
    assert rows["kapot"].attempts == 1 and rows["kapot"].last_error == "554 HTTP 400 Bad Request"


CANVASS = """near: Metaalwerken Vos NV
radius: 600 m
send: now
close: 6s

Hebben uw camera's vannacht een witte bestelwagen gezien op de Balendijk?
"""


async def test_a_canvass_tells_sent_answer_and_closed_without_who_answered(
    db_url: str, sink: Sink, tmp_path: Path, receiver: Receiver
) -> None:
    hooks = (webhook(receiver), webhook(receiver, "elders", zones=["blauwe-kei"]))
    relay = await started(webhook_settings(db_url, sink, tmp_path, *hooks))
    try:
        await post_request(relay, CANVASS)
        sent = await wait_for(lambda: len(questions(sink, 1)) >= 7 and questions(sink, 1), timeout=30)
        vos = next(m for m in sent if m.rcpt_tos[0] == "security@metaalwerken-vos.example")
        await answer(relay, vos, "Camera 3 zag een witte bestelwagen om 02:41.")
        await wait_status(relay, "closed", timeout=30)
        events = await wait_for(lambda: len(receiver.posted) >= 3 and receiver.posted, timeout=20)
    finally:
        await relay.stop()
    assert all(p.verified for p in events)
    by_type = {p.json()["type"]: p.json()["data"] for p in events}
    assert list(by_type) == ["canvass.sent", "canvass.answer", "canvass.closed"]
    assert by_type["canvass.sent"]["question"].startswith("Hebben uw camera's")
    assert by_type["canvass.sent"]["radius_m"] == 600 and by_type["canvass.sent"]["canvass"] == "canvass-1"
    assert by_type["canvass.answer"]["answers"] == 1 and by_type["canvass.closed"]["answers"] == 1
    everything = b"".join(p.body for p in events).decode()
    assert "02:41" not in everything and "metaalwerken-vos" not in everything  # not who, not what
    assert len(events) == 3  # the endpoint of another zone got none of it


async def test_dispatched_events_are_forgotten_after_a_week(relay: Relay) -> None:
    assert relay.ctx is not None
    network_id = relay.ctx.networks["industrie"].id
    async with relay.sessions() as session, session.begin():
        channel_events.emit(
            session, network_id=network_id, event=ChannelEvent.CANVASS_CLOSED, canvass_id=None
        )
        channel_events.emit(session, network_id=network_id, event=ChannelEvent.CANVASS_SENT, canvass_id=None)
    async with relay.sessions() as session, session.begin():
        await dispatch_events(session, relay.ctx, utcnow())  # marks both dispatched (no webhooks here)
        assert await channel_events.claim_pending(session, [network_id], 10) == []
    async with relay.sessions() as session, session.begin():
        assert await purge_dispatched(session, relay.ctx, utcnow() + timedelta(days=6)) == 0
        assert await purge_dispatched(session, relay.ctx, utcnow() + timedelta(days=8)) == 2


async def test_a_followup_on_a_distributed_report_reaches_the_control_room(
    db_url: str, sink: Sink, tmp_path: Path, receiver: Receiver
) -> None:
    hook = webhook(receiver, events=["report.followup"])
    relay = await started(webhook_settings(db_url, sink, tmp_path, hook))
    try:
        reference, copy = await approved_copy(relay, sink)
        subscriber = copy.rcpt_tos[0]
        reply_to = str(copy.message["Reply-To"])
        await send(relay, outlook_reply(copy, subscriber, reply_to), subscriber)
        [posted] = await wait_for(lambda: receiver.posted, timeout=30)
    finally:
        await relay.stop()
    document = posted.json()
    assert posted.verified and document["type"] == "report.followup"
    assert document["data"]["reference"] == reference
    assert (
        document["data"]["followup"]["role"] == "subscriber" and "followup_id" in document["data"]["followup"]
    )
    assert subscriber not in posted.body.decode() and TYPED not in posted.body.decode()  # ids, not the mail
