"""The monthly report by mail: two daemons on one database send last month's report exactly once, to
the moderators (whole network, companies, PNG charts) and, where the network turns it on, to the
subscribers (only their zones' figures, no reporter)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.cli.demo import add_incident
from save_relay.core.clock import utcnow
from save_relay.stats.monthly import previous_month
from save_relay.store.tables import Delivery, JobSlot
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.helpers import Received, Sink, wait_for

#: (hours after the month's first midnight, category, zone); all approved, in last month.
REPORTS = [
    (27, "copper-theft", "maatheide"),
    (51, "copper-theft", "maatheide"),
    (75, "burglary", "kolonel-dusart"),
    (99, "theft", "kolonel-dusart"),
]


async def add_last_months_reports(relay: Relay) -> str:
    assert relay.ctx is not None
    network = relay.ctx.networks["industrie"]
    month = previous_month(utcnow(), network.settings.timezone)
    async with relay.sessions() as session, session.begin():
        for n, (hours, category, zone) in enumerate(REPORTS):
            at = month.start + timedelta(hours=hours)
            await add_incident(session, network, n, at, status="approved", category=category, zones=[zone])
    return month.key


async def monthly_deliveries(relay: Relay, status: str | None = None) -> int:
    query = select(func.count()).where(Delivery.kind == "monthly")
    if status is not None:
        query = query.where(Delivery.status == status)
    async with relay.sessions() as session:
        return int(await session.scalar(query) or 0)


def monthly_mails(sink: Sink) -> list[Received]:
    return [m for m in sink.messages if "Maandoverzicht" in str(m.message["Subject"])]


async def _all_sent(relay: Relay, sink: Sink) -> bool:
    queued = await monthly_deliveries(relay, "queued")
    return queued == 0 and len(monthly_mails(sink)) >= await monthly_deliveries(relay, "sent")


@pytest.mark.parametrize("audience", ["moderators", "subscribers"])
async def test_two_daemons_send_the_monthly_report_once(
    db_url: str, sink: Sink, tmp_path: Path, audience: str
) -> None:
    networks = make_settings(db_url, sink.port, tmp_path).model_dump()["networks"]
    networks["industrie"]["monthly_report"] = audience
    settings = make_settings(db_url, sink.port, tmp_path, scheduler={"tick_seconds": 0.2}, networks=networks)
    first = Relay(
        settings.model_copy(
            update={
                "node_name": "node-a",
                "scheduler": settings.scheduler.model_copy(update={"enabled": False}),
            }
        )
    )
    await first.start(migrate=False)
    second: Relay | None = None
    try:
        await seed_demo(first.engine, first)
        month = await add_last_months_reports(first)
        # Both daemons with their schedulers, on the one database.
        await first.stop()
        first = Relay(settings.model_copy(update={"node_name": "node-a"}))
        second = Relay(settings.model_copy(update={"node_name": "node-b"}))
        await asyncio.gather(first.start(migrate=False), second.start(migrate=False))
        moderators = await wait_for(lambda: [m for m in monthly_mails(sink) if m.rcpt_tos[0] in MODERATORS])
        # every monthly mail the job queued has reached the sink (a loaded machine sends them slowly) ...
        await wait_for(lambda: _all_sent(first, sink), timeout=60)
        await asyncio.sleep(2.0)  # ... and ten more ticks of each scheduler: nothing more may come
        mails = monthly_mails(sink)
        to_moderators = [m for m in mails if m.rcpt_tos[0] in MODERATORS]
        assert sorted(m.rcpt_tos[0] for m in to_moderators) == sorted(MODERATORS)  # once each
        assert len(moderators) <= 2
        message = to_moderators[0].message
        assert str(message["Subject"]) == f"[SaVE Lommel] Maandoverzicht {month}"
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "=== SaVE Lommel: 4 meldingen ===" in text
        assert "Per meldend bedrijf:" not in text  # the test reports have no reporting company
        files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
        assert set(files) == {f"{kind}-{month}.png" for kind in ("heatmap", "months", "zones")}
        assert all(data.startswith(b"\x89PNG") for data in files.values())
        async with first.sessions() as session:
            slots = list(
                await session.scalars(select(JobSlot.name).where(JobSlot.name.like("monthly-report:%")))
            )
        assert slots == [f"monthly-report:{first.ctx.networks['industrie'].id}:{month}"]  # type: ignore[union-attr]
        others = [m for m in mails if m.rcpt_tos[0] not in MODERATORS]
        if audience == "moderators":
            assert others == []
            assert await monthly_deliveries(first) == len(MODERATORS)
            return
        assert others, "the subscribers get their zones' figures"
        recipients = [m.rcpt_tos[0] for m in others]
        assert len(recipients) == len(set(recipients))  # each address once
        assert await monthly_deliveries(first) == len(MODERATORS) + len(others)
        vos = next(m for m in others if m.rcpt_tos[0] == "security@metaalwerken-vos.example")
        body = vos.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "alleen de cijfers van uw zone(s)" in body
        assert "SaVE Lommel: 4 meldingen" not in body  # not the whole network
        assert ": 2 meldingen ===" in body  # Kolonel Dusart: its two reports
        assert "Per meldend bedrijf" not in body and "Beslist" not in body
        assert all(
            name.startswith("heatmap-") for name in (p.get_filename() for p in vos.message.iter_attachments())
        )
    finally:
        await first.stop()
        if second is not None:
            await second.stop()
