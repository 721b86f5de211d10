"""The scheduler's state in the database: when each periodic job (daily digest, purge) runs next.

A job with a period runs on whichever daemon first moves its ``next_run_at`` forward; the others see
the new time and skip it. The row survives restarts, so a daily job neither runs twice nor is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.store.tables import JobSlot

NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # the next run of a one-time claim


async def claim_slot(session: AsyncSession, name: str, every: timedelta, now: datetime, node: str) -> bool:
    """True (and the next run moved to ``now + every``) if the job ``name`` is due; the caller commits."""
    slot = await session.scalar(select(JobSlot).where(JobSlot.name == name).with_for_update(skip_locked=True))
    if slot is None:
        exists = await session.scalar(select(JobSlot.name).where(JobSlot.name == name))
        if exists is not None:
            return False  # another daemon holds it right now
        try:
            async with session.begin_nested():
                session.add(JobSlot(name=name, next_run_at=now + every, last_run_at=now, last_node=node))
        except IntegrityError:
            return False  # another daemon created it first
        return True
    if as_utc(slot.next_run_at) > now:
        return False
    slot.next_run_at, slot.last_run_at, slot.last_node = now + every, now, node
    return True


async def release_slot(session: AsyncSession, name: str, now: datetime) -> None:
    """Make a job due again (its run failed after the claim was committed)."""
    await session.execute(update(JobSlot).where(JobSlot.name == name).values(next_run_at=now))


async def claim_once(session: AsyncSession, name: str, now: datetime, node: str) -> bool:
    """True the first time ``name`` is claimed (a row of its own, never due again), False ever after;
    two daemons claiming at once: one wins, the other waits for its commit and gets False."""
    try:
        async with session.begin_nested():
            session.add(JobSlot(name=name, next_run_at=NEVER, last_run_at=now, last_node=node))
    except IntegrityError:
        return False
    return True
