"""The ``webhook-events`` job: each recorded event becomes one ``webhook`` delivery per eligible endpoint.

The deliveries are queued and the event marked dispatched in one transaction, so an event is
dispatched once; the endpoints are those of the settings and the enabled managed ones (the database's)
at that moment (an endpoint added later does not get older events). Both kinds pass the same
``eligible`` rules and go through the same queue; a delivery names its endpoint (names are unique per
network across both). The monthly ``network.test`` event goes to every enabled endpoint, whatever its
event filter and zones: it tests the connection and carries nothing of a report. An event whose
report or canvass is gone is marked and dropped: there is nothing left to tell.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.channels.eligibility import eligible
from save_relay.channels.payloads import body, prepare
from save_relay.core.context import Context, NetworkRef
from save_relay.core.states import TEST_EVENT, ChannelEvent
from save_relay.core.webhook_settings import Endpoint
from save_relay.store import channel_events, deliveries, webhook_endpoints
from save_relay.store.tables import ChannelEventRow

log = logging.getLogger(__name__)
BATCH = 50  # events per transaction
KEEP = timedelta(days=7)  # a dispatched event is kept this long (to look into what was sent)


async def dispatch_events(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Queue the webhooks of up to ``BATCH`` pending events; returns how many events it handled."""
    events = await channel_events.claim_pending(session, list(ctx.by_id), BATCH)
    managed: dict[int, list[tuple[str, Endpoint]]] = {}
    if events:
        for row in await webhook_endpoints.enabled(session, {e.network_id for e in events}):
            managed.setdefault(row.network_id, []).append((row.name, row))
    for event in events:
        network = ctx.network(event.network_id)
        endpoints = [(w.name, w) for w in network.settings.webhooks] + managed.get(network.id, [])
        if endpoints:
            await _queue(session, network, event, endpoints)
    await channel_events.mark_dispatched(session, [e.id for e in events])
    return len(events)


async def _queue(
    session: AsyncSession, network: NetworkRef, event: ChannelEventRow, endpoints: list[tuple[str, Endpoint]]
) -> None:
    """One delivery per endpoint that may get ``event``."""
    prepared = await prepare(session, network, event)
    if prepared is None:
        return
    if event.type == TEST_EVENT:
        names = [name for name, _ in endpoints]
    else:
        kind = ChannelEvent(event.type)
        names = [n for n, e in endpoints if eligible(e, kind, prepared.zones, prepared.tlp)]
    data = body(event, prepared)
    await deliveries.enqueue_many(
        session, network_id=network.id, kind=deliveries.WEBHOOK, messages=[(n, data) for n in names]
    )
    if names:
        log.info(
            "%s: %s to %d webhook(s)",
            network.key,
            event.type,
            len(names),
            extra={"action": "webhook_queued", "event": event.type, "webhooks": names},
        )


async def purge_dispatched(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Daily: forget events dispatched more than ``KEEP`` ago (their deliveries stay in the queue)."""
    return await channel_events.purge_dispatched(session, now - KEEP)
