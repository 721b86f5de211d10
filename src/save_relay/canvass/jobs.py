"""The canvass scheduler jobs (see ``save_relay.processing.scheduler``): steps, digests, retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass import foureyes, steps
from save_relay.core.context import Context
from save_relay.store import audit
from save_relay.store import canvass as store

log = logging.getLogger(__name__)


async def run_due_step(session: AsyncSession, ctx: Context, now: datetime) -> str | None:
    """One due canvass step (send, remind or close); the scheduler drains them one transaction each."""
    return await steps.run_due_step(session, ctx, now)


async def lapse_approvals(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Four-eyes requests of large canvasses nobody confirmed in time: cancelled, with a notice."""
    return await foureyes.lapse_due(session, ctx, now)


async def send_digests(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """The answer digests due for networks with ``canvass_answers = "digest"``."""
    return await steps.send_digests(session, ctx, now)


async def purge_answers(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Empty answers older than ``retention.canvass_answers_days``: their raw mail and text.

    Who answered, and when, stays (the response counts); the raw message's SHA-256 stays too.
    """
    days = ctx.settings.retention.canvass_answers_days
    if not days:
        return 0
    purged = await store.purge_answers(session, now - timedelta(days=days), now)
    if purged:
        audit.record(
            session, action="canvass_answers_purged", actor="system", via="scheduler", answers=purged
        )
        log.info("purged %d canvass answer(s)", purged, extra={"action": "answers_purged", "answers": purged})
    return purged
