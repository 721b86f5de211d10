"""Webhook endpoints managed in the database (issue 21), beside the settings' ones: the same eligibility
(event filter, zones, never TLP:RED or TLP:AMBER+STRICT), the same durable queue with retries, signatures
verified with the reference ``standardwebhooks`` library over real loopback HTTP; a rotated secret signs
from then on, a disabled endpoint gets nothing, the secret is never logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.channels import endpoints
from save_relay.channels.dispatch import dispatch_events
from save_relay.core.clock import utcnow
from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import secret_key
from save_relay.moderation.decide import Decision
from save_relay.store import channel_events
from save_relay.store.tables import Delivery, Report
from tests.e2e.test_delivery import announced
from tests.e2e.test_report_flow import post_report
from tests.e2e.test_webhooks import decide_on, started, webhook_rows, webhook_settings
from tests.helpers import Sink, wait_for
from tests.webhook_support import Receiver, webhook


@pytest.fixture
async def receivers() -> AsyncIterator[dict[str, Receiver]]:
    made = {name: await Receiver().start() for name in ("alles", "elders", "afwijzingen", "uit", "conf")}
    yield made
    for receiver in made.values():
        await receiver.stop()


async def add_endpoint(relay: Relay, receiver: Receiver, name: str, **options: object) -> str:
    """Add a managed endpoint for ``receiver`` as the CLI does; the receiver verifies with its secret."""
    assert relay.ctx is not None
    wanted = endpoints.Wanted(name=name, url=receiver.url, **options)  # type: ignore[arg-type]
    async with relay.sessions() as session, session.begin():
        row, secret = await endpoints.add(session, relay.ctx.networks["industrie"], wanted)
        assert row.secret == secret
    receiver.secret = secret
    return secret


async def dispatch(relay: Relay) -> None:
    """The dispatch job's round, then the wake-up the scheduler gives the webhook worker after it."""
    assert relay.ctx is not None and relay.webhooks is not None
    async with relay.sessions() as session, session.begin():
        await dispatch_events(session, relay.ctx, utcnow())
    relay.webhooks.wake()


async def emit_again(relay: Relay, reference: str, event: ChannelEvent, tlp: str | None = None) -> None:
    """The report's event once more (``tlp``: relabelled first), then the dispatch job's round."""
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        if tlp is not None:
            report.tlp = tlp
        channel_events.emit(session, network_id=report.network_id, event=event, report_id=report.id)
    await dispatch(relay)


async def queued_to(relay: Relay) -> list[str]:
    return [row.recipient for row in await webhook_rows(relay)]


async def test_managed_endpoints_follow_the_same_rules_and_queue(
    db_url: str, sink: Sink, tmp_path: Path, receivers: dict[str, Receiver], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = webhook_settings(db_url, sink, tmp_path, webhook(receivers["conf"], "instellingen"))
    settings.networks["industrie"].webhook_http_loopback = True
    settings.scheduler.enabled = False  # the test runs the dispatch job's rounds itself
    relay = await started(settings)
    try:
        receivers["alles"].answers = [503]  # retried through the delivery queue, then 200
        first = await add_endpoint(relay, receivers["alles"], "alles", organisation="Securitas meldkamer")
        await add_endpoint(relay, receivers["elders"], "elders", zones=("blauwe-kei",))
        await add_endpoint(relay, receivers["afwijzingen"], "afwijzingen", events=("report.rejected",))
        await add_endpoint(relay, receivers["uit"], "uit")
        assert relay.ctx is not None
        async with relay.sessions() as session, session.begin():
            off = await endpoints.find(session, relay.ctx.networks["industrie"], "uit")
            off.enabled = False

        reference = await post_report(relay)
        await announced(relay, reference)
        await decide_on(relay, reference, Decision("approve"))
        await dispatch(relay)
        assert sorted(await queued_to(relay)) == ["alles", "instellingen"]
        await wait_for(lambda: len(receivers["alles"].posted) == 2, timeout=30)
        await wait_for(lambda: receivers["conf"].posted, timeout=30)

        # TLP:RED and TLP:AMBER+STRICT go to no webhook, managed or configured
        await emit_again(relay, reference, ChannelEvent.REPORT_APPROVED, tlp="RED")
        await emit_again(relay, reference, ChannelEvent.REPORT_APPROVED, tlp="AMBER+STRICT")
        assert len(await queued_to(relay)) == 2

        # a new secret signs what follows; the old one no longer verifies
        async with relay.sessions() as session, session.begin():
            row = await endpoints.find(session, relay.ctx.networks["industrie"], "alles")
            second = endpoints.rotate(row)
        assert second != first and second.startswith("whsec_") and len(secret_key(second)) == 32
        await emit_again(relay, reference, ChannelEvent.REPORT_REJECTED, tlp="GREEN")
        assert sorted((await queued_to(relay))[2:]) == ["afwijzingen", "alles", "instellingen"]
        receivers["alles"].secret = first
        posted = await wait_for(
            lambda: len(receivers["alles"].posted) == 3 and receivers["alles"].posted, timeout=30
        )
        await wait_for(lambda: receivers["afwijzingen"].posted, timeout=30)
    finally:
        await relay.stop()

    retried, delivered, rotated = posted
    assert (retried.status, delivered.status) == (503, 200) and retried.verified and delivered.verified
    assert retried.headers["webhook-id"] == delivered.headers["webhook-id"]  # one delivery, retried
    assert (
        delivered.json()["type"] == "report.approved" and delivered.json()["data"]["reference"] == reference
    )
    assert not rotated.verified  # the old secret ...
    assert Receiver(secret=second).verify(rotated.body, rotated.headers)  # ... the new one signs it
    assert rotated.json()["type"] == "report.rejected"
    [rejected] = receivers["afwijzingen"].posted
    assert rejected.verified and rejected.json()["type"] == "report.rejected"
    assert receivers["elders"].posted == [] and receivers["uit"].posted == []
    rows = {row.recipient: row for row in await _rows(relay) if row.recipient == "alles"}
    assert rows["alles"].attempts >= 1
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert first not in logged and second not in logged  # never logged


async def _rows(relay: Relay) -> list[Delivery]:
    return await webhook_rows(relay)


async def test_the_endpoint_rules_are_checked(db_url: str, sink: Sink, tmp_path: Path) -> None:
    relay = await started(webhook_settings(db_url, sink, tmp_path))
    assert relay.ctx is not None
    network = relay.ctx.networks["industrie"]
    try:
        refused = {
            "bad_url": endpoints.Wanted("meldkamer", "http://127.0.0.1:8080/hook"),  # loopback not allowed
            "bad_name": endpoints.Wanted("Meld Kamer", "https://meldkamer.example/hook"),
            "bad_event": endpoints.Wanted(
                "meldkamer", "https://meldkamer.example/hook", events=("report.x",)
            ),
            "bad_zone": endpoints.Wanted("meldkamer", "https://meldkamer.example/hook", zones=("nergens",)),
        }
        for key, wanted in refused.items():
            async with relay.sessions() as session, session.begin():
                with pytest.raises(endpoints.EndpointError) as caught:
                    await endpoints.add(session, network, wanted)
            assert caught.value.key == key
        for url in ("ftp://meldkamer.example/", "https://", "https://user:pw@meldkamer.example/", "nonsense"):
            async with relay.sessions() as session, session.begin():
                with pytest.raises(endpoints.EndpointError):
                    await endpoints.add(session, network, endpoints.Wanted("meldkamer", url))
        async with relay.sessions() as session, session.begin():
            row, _ = await endpoints.add(
                session,
                network,
                endpoints.Wanted(
                    " Meldkamer ",
                    "https://meldkamer.example/hook",
                    events=("canvass.sent", "report.approved"),
                ),
            )
            assert row.name == "meldkamer" and row.events == ["report.approved", "canvass.sent"]
            assert row.zones == []
        async with relay.sessions() as session, session.begin():
            with pytest.raises(endpoints.EndpointError) as caught:
                await endpoints.add(session, network, endpoints.Wanted("meldkamer", "https://other.example/"))
            assert caught.value.key == "taken"
    finally:
        await relay.stop()
