"""The monthly test message (issue 21): two daemons on one database send this month's test once to each
moderator, marked as an exercise in the network's language, and one signed ``network.test`` event to each
webhook endpoint (managed and configured); a restart sends nothing more; a network without
``monthly_test`` gets nothing. The once-only claim is the monthly report's (``scheduler_jobs``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.core.settings import Settings
from save_relay.moderation.monthly_test import month_key
from save_relay.store.tables import AuditEntry, JobSlot
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_webhook_endpoints import add_endpoint
from tests.helpers import Received, Sink, wait_for
from tests.webhook_support import Receiver, webhook

MOL = "agent@politie.mol.be"
GEEL = "agent@politie.geel.be"


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver]]:
    managed, configured = await Receiver().start(), await Receiver().start()
    yield managed, configured
    await managed.stop()
    await configured.stop()


def three_networks(db_url: str, sink: Sink, tmp_path: Path, configured: Receiver) -> Settings:
    base = make_settings(db_url, sink.port, tmp_path).model_dump()["networks"]
    industrie = {
        **base["industrie"],
        "monthly_test": True,
        "webhook_http_loopback": True,
        "webhooks": [webhook(configured, "instellingen")],
    }
    mol = {
        **base["industrie"],
        "address": "industrie@politie.mol.be",
        "name": "SaVE Mol",
        "reference_prefix": "MOL",
        "language": "fr",
        "moderators": [MOL],
        "default_groups": [],
        "monthly_test": True,
    }
    geel = {**mol, "address": "industrie@politie.geel.be", "name": "Geel", "reference_prefix": "GEEL"}
    geel |= {"moderators": [GEEL], "language": "nl", "monthly_test": False}
    return make_settings(
        db_url,
        sink.port,
        tmp_path,
        scheduler={"tick_seconds": 0.2},
        networks={"industrie": industrie, "mol": mol, "geel": geel},
    )


def monthly_tests(sink: Sink) -> list[Received]:
    return [
        m
        for m in sink.messages
        if "testbericht" in str(m.message["Subject"]) or "test mensuel" in str(m.message["Subject"])
    ]


def text_of(mail: Received) -> str:
    return mail.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


async def two_daemons(settings: Settings) -> tuple[Relay, Relay]:
    first = Relay(settings.model_copy(update={"node_name": "node-a"}))
    second = Relay(settings.model_copy(update={"node_name": "node-b"}))
    await asyncio.gather(first.start(migrate=False), second.start(migrate=False))
    return first, second


async def test_two_daemons_send_the_monthly_test_once(
    db_url: str, sink: Sink, tmp_path: Path, receivers: tuple[Receiver, Receiver]
) -> None:
    managed, configured = receivers
    settings = three_networks(db_url, sink, tmp_path, configured)
    quiet = settings.model_copy(
        update={"scheduler": settings.scheduler.model_copy(update={"enabled": False})}
    )
    setup = Relay(quiet)
    await setup.start(migrate=False)
    try:
        await seed_demo(setup.engine, setup)
        await add_endpoint(setup, managed, "securitas", events=("report.approved",), zones=("maatheide",))
    finally:
        await setup.stop()

    relays = await two_daemons(settings)
    try:
        everyone = [*MODERATORS, MOL]
        await wait_for(
            lambda: sorted(m.rcpt_tos[0] for m in monthly_tests(sink)) == sorted(everyone), timeout=60
        )
        await wait_for(lambda: managed.posted and configured.posted, timeout=30)
        await asyncio.sleep(2.0)  # ten more ticks of each scheduler: nothing more may come
        assert len(monthly_tests(sink)) == len(everyone)
    finally:
        for relay in relays:
            await relay.stop()

    relays = await two_daemons(settings)  # a restart of both: the month is claimed in the database
    try:
        await asyncio.sleep(2.0)
        assert len(monthly_tests(sink)) == len(everyone)
        assert len(managed.posted) == len(configured.posted) == 1
        async with relays[0].sessions() as session:
            slots = list(
                await session.scalars(select(JobSlot.name).where(JobSlot.name.like("monthly-test:%")))
            )
            logged = list(
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "monthly_test_sent"))
            )
        assert relays[0].ctx is not None
        ids = {key: ref.id for key, ref in relays[0].ctx.networks.items()}
    finally:
        for relay in relays:
            await relay.stop()

    month = month_key(utcnow(), "Europe/Brussels")
    assert sorted(slots) == sorted(f"monthly-test:{ids[key]}:{month}" for key in ("industrie", "mol"))
    assert sorted(e.network_id for e in logged) == sorted([ids["industrie"], ids["mol"]])
    assert not any(GEEL in m.rcpt_tos for m in sink.messages)  # monthly_test off (the default)

    dutch = next(m for m in monthly_tests(sink) if m.rcpt_tos[0] == MODERATORS[0])
    assert str(dutch.message["Subject"]) == f"[SaVE Lommel] OEFENING: maandelijks testbericht {month}"
    assert text_of(dutch).startswith("OEFENING – dit is het maandelijkse testbericht van SaVE Lommel")
    assert "network.test" in text_of(dutch) and dutch.message["X-Save-Relay-Exercise"] == "yes"
    french = next(m for m in monthly_tests(sink) if m.rcpt_tos[0] == MOL)
    assert str(french.message["Subject"]) == f"[SaVE Mol] EXERCICE : message de test mensuel {month}"
    assert text_of(french).startswith("EXERCICE – ceci est le message de test mensuel")
    assert "network.test" not in text_of(french)  # no webhooks in that network

    # whatever their event filter and zones, both endpoints got the test, signed
    for posted in (managed.posted[0], configured.posted[0]):
        assert posted.verified
        document = posted.json()
        assert document["type"] == "network.test"
        assert document["data"] == {
            "network": {"key": "industrie", "address": "industrie@politie.lommel.be", "name": "SaVE Lommel"},
            "exercise": True,
            "month": month,
        }
