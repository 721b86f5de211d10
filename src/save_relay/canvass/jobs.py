"""The canvass scheduler jobs (see ``save_relay.processing.scheduler``): steps, digests, retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass import steps
from save_relay.core.context import Context
from save_relay.store import audit
from save_relay.store.tables import CanvassAnswer, InboundMessage

log = logging.getLogger(__name__)


async def run_due_step(session: AsyncSession, ctx: Context, now: datetime) -> str | None:
    """One due canvass step (send, remind or close); the scheduler drains them one transaction each."""
    return await steps.run_due_step(session, ctx, now)


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
    old = select(CanvassAnswer.inbound_id).where(CanvassAnswer.received_at < now - timedelta(days=days))
    result = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(old), InboundMessage.purged_at.is_(None))
        .values(raw=b"", purged_at=now)
    )
    await session.execute(
        update(CanvassAnswer)
        .where(CanvassAnswer.inbound_id.in_(old), CanvassAnswer.text != "")
        .values(text="", attachments=[])
    )
    purged = int(result.rowcount or 0) if isinstance(result, CursorResult) else 0
    if purged:
        audit.record(
            session, action="canvass_answers_purged", actor="system", via="scheduler", answers=purged
        )
        log.info("purged %d canvass answer(s)", purged, extra={"action": "canvass_answers_purged"})
    return purged
