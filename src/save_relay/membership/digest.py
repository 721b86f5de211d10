"""The daily digest: every moderator learns who unsubscribed, was disabled by bounces or subscribed.

A scheduled job (``send_unsubscribe_digest``) and ``save-relay subscribers digest``. Events are claimed
with SKIP LOCKED and marked in the same transaction as the digest mails, so two nodes never send the
same event twice and a crash sends it again rather than never.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.context import Context
from save_relay.delivery.notices import queue_notice
from save_relay.store import audit, events

log = logging.getLogger(__name__)


async def send_unsubscribe_digest(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Queue one digest per moderator of each network with new events; returns the events reported.

    Runs in the caller's transaction; ``now`` is when the job runs (the digest's events are those not
    reported before it).
    """
    reported = 0
    for network in ctx.networks.values():
        found = [e for e in await events.undigested(session, network.id) if as_utc(e.at) <= now]
        if not found:
            continue
        zone = ZoneInfo(network.settings.timezone)
        rows = [
            {
                "at": as_utc(e.at).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "address": e.address,
                "event": e.event,
                "via": e.via,
            }
            for e in found
        ]
        for moderator in network.settings.moderators:
            queue_notice(
                session,
                network,
                kind="digest",
                template="membership_digest",
                to=moderator,
                context={"events": rows, "count": len(rows)},
            )
        await events.mark_digested(session, [e.id for e in found])
        audit.record(
            session,
            action="membership_digest_sent",
            actor="system",
            via="scheduler",
            network_id=network.id,
            events=len(rows),
        )
        reported += len(rows)
    if reported:
        log.info("membership digest: %d event(s)", reported, extra={"action": "membership_digest"})
    return reported
