"""The ``webhook-events`` job: each recorded event becomes one ``webhook`` delivery per eligible endpoint.

The deliveries are queued and the event marked dispatched in one transaction, so an event is
dispatched once; the endpoints are read from the settings at that moment (an endpoint added later
does not get older events). An event whose report or canvass is gone is marked and dropped: there
is nothing left to tell.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.channels.eligibility import eligible
from save_relay.channels.payloads import body, prepare
from save_relay.core.context import Context
from save_relay.core.states import ChannelEvent
from save_relay.store import channel_events, deliveries

log = logging.getLogger(__name__)
BATCH = 50  # events per transaction
KEEP = timedelta(days=7)  # a dispatched event is kept this long (to look into what was sent)


async def dispatch_events(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Queue the webhooks of up to ``BATCH`` pending events; returns how many events it handled."""
    with_webhooks = [ref.id for ref in ctx.networks.values() if ref.settings.webhooks]
    events = await channel_events.claim_pending(session, list(ctx.by_id), BATCH)
    for event in events:
        if event.network_id not in with_webhooks:
            continue
        network = ctx.network(event.network_id)
        prepared = await prepare(session, network, event)
        if prepared is None:
            continue
        kind = ChannelEvent(event.type)
        names = [w.name for w in network.settings.webhooks if eligible(w, kind, prepared.zones, prepared.tlp)]
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
    await channel_events.mark_dispatched(session, [e.id for e in events])
    return len(events)


async def purge_dispatched(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Daily: forget events dispatched more than ``KEEP`` ago (their deliveries stay in the queue)."""
    return await channel_events.purge_dispatched(session, now - KEEP)
