"""The monthly test message (a network's ``monthly_test = true``; a scheduled job, ``routes.JOBS``).

Once per calendar month on the network's clock, the first time the job runs in it: a short mail to
each moderator, marked as an exercise in the network's language (``OEFENING`` / ``EXERCICE`` /
``EXERCISE`` / ``ÜBUNG``, the word of the ``oefening`` command), and a ``network.test`` event for every
enabled webhook endpoint (the channels' dispatch sends it, signed, through the delivery queue). It shows
that the relay, the smarthost and the control rooms' receivers still work when nothing happens.

Once across all daemons, as the monthly statistics report: the month is claimed in ``scheduler_jobs``
(``store.scheduler.claim_once``) in the transaction that queues the mails and the event, so a crash
sends it again rather than never, two daemons never both, and a restart does not send it twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import Context
from save_relay.core.states import TEST_EVENT
from save_relay.delivery.notices import queue_notice
from save_relay.mail.i18n import field_name
from save_relay.store import audit, channel_events, webhook_endpoints
from save_relay.store.scheduler import claim_once

log = logging.getLogger(__name__)
KIND = "monthly-test"


def month_key(now: datetime, timezone: str) -> str:
    """``YYYY-MM`` of ``now`` on the network's clock."""
    return f"{now.astimezone(ZoneInfo(timezone)):%Y-%m}"


async def send_monthly_tests(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Queue this month's test of every network that wants one and has not had it; returns the mails."""
    queued = 0
    for network in ctx.networks.values():
        conf = network.settings
        if not conf.monthly_test:
            continue
        month = month_key(now, conf.timezone)
        if not await claim_once(session, f"monthly-test:{network.id}:{month}", now, ctx.settings.node_name):
            continue
        word = field_name("exercise", conf.language).upper()
        hooks = bool(conf.webhooks) or bool(await webhook_endpoints.enabled(session, [network.id]))
        for moderator in conf.moderators:
            queue_notice(
                session,
                network,
                kind=KIND,
                template="monthly_test",
                to=moderator,
                context={
                    "month": month,
                    "exercise_word": word,
                    "moderator_count": len(conf.moderators),
                    "webhooks": hooks,
                },
                headers=[("X-Save-Relay-Exercise", "yes")],
            )
        channel_events.emit(session, network_id=network.id, event=TEST_EVENT, month=month)
        audit.record(
            session,
            action="monthly_test_sent",
            actor="system",
            via="scheduler",
            network_id=network.id,
            month=month,
            moderators=len(conf.moderators),
        )
        queued += len(conf.moderators)
        log.info(
            "%s: monthly test %s to %d moderator(s)",
            network.key,
            month,
            len(conf.moderators),
            extra={"action": "monthly_test", "month": month},
        )
    return queued
