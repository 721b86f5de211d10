"""Scheduled work: APScheduler wakes up every few seconds; each job claims its due work from the database.

Nothing is scheduled in memory: a canvass's send time, a report's age, a delivery's retry time are all
rows, so a restart loses nothing, and several daemons on one PostgreSQL share the work because every
job claims its rows (``FOR UPDATE SKIP LOCKED``; on SQLite the single writer does the same) and
commits its changes together with the mails they cause.

A job is ``async def job(session, ctx, now) -> object`` running in one transaction; a truthy result
means it did something (the outbound worker is woken, and a ``drain`` job runs again at once). A job
with ``every`` runs at most once per period across all daemons: its turn is claimed in the
``scheduler_jobs`` table in the same transaction as its work. Adding a job is one line in
``routes.JOBS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.core.settings import SchedulerSettings
from save_relay.store.db import SessionFactory
from save_relay.store.scheduler import claim_slot

log = logging.getLogger(__name__)

JobFunc = Callable[[AsyncSession, Context, datetime], Awaitable[object]]
MAX_DRAIN_ROUNDS = 1000  # a draining job yields to the next tick after this many rounds


@dataclass(frozen=True, slots=True)
class Job:
    """One kind of scheduled work.

    ``every``: None runs it on every tick (it claims its own due rows); a period runs it at most once
    per period across all daemons. ``drain``: run again, in a new transaction, while it reports work.
    """

    name: str
    run: JobFunc
    every: timedelta | None = None
    drain: bool = False


class Scheduler:
    """Runs ``jobs`` every ``settings.tick_seconds`` on an APScheduler AsyncIOScheduler."""

    def __init__(
        self,
        ctx: Context,
        sessions: SessionFactory,
        settings: SchedulerSettings,
        *,
        jobs: Sequence[Job],
        on_work: Callable[[], None] = lambda: None,
    ) -> None:
        self.ctx = ctx
        self.sessions = sessions
        self.settings = settings
        self.jobs = {job.name: job for job in jobs}
        self.on_work = on_work
        self._running: dict[str, asyncio.Task[int]] = {}
        self._apscheduler: AsyncIOScheduler | None = None
        self._stopping = False

    def start(self) -> None:
        """Start ticking in the running event loop; every job runs once right away."""
        logging.getLogger("apscheduler").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
        scheduler = AsyncIOScheduler(timezone=UTC)
        for name in self.jobs:
            scheduler.add_job(
                self._tick,
                "interval",
                args=[name],
                id=name,
                seconds=self.settings.tick_seconds,
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=2,  # _tick returns at once; the overlap guard is ours
                misfire_grace_time=None,
            )
        scheduler.start()
        self._apscheduler = scheduler
        log.info("scheduler started: %s", ", ".join(self.jobs), extra={"action": "scheduler_started"})

    @property
    def running(self) -> bool:
        """Ticking (``/readyz``): started and not stopped."""
        return self._apscheduler is not None and bool(self._apscheduler.running)

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a grace period, then cancel
        """Stop ticking; let running jobs finish their transaction (up to ``timeout``), then cancel them."""
        self._stopping = True
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await asyncio.sleep(0)  # let APScheduler's own shutdown callback run

    async def _tick(self, name: str) -> None:
        """APScheduler's entry point: start ``name`` in a task of ours unless it is still running.

        The task is ours, not APScheduler's, so that ``stop`` can let it finish its transaction.
        """
        if name not in self._running and not self._stopping:
            task = asyncio.create_task(self.run_job(name), name=f"job-{name}")
            self._running[name] = task
            task.add_done_callback(lambda _: self._running.pop(name, None))

    async def run_job(self, name: str) -> int:
        """Run one job now (draining if it drains); returns the rounds that did work. Never raises."""
        job = self.jobs[name]
        worked = 0
        for _ in range(MAX_DRAIN_ROUNDS if job.drain else 1):
            try:
                did = await self._round(job)
            except Exception:
                log.exception("job %s failed", name, extra={"action": "job_failed", "job": name})
                break
            if not did:
                break
            worked += 1
            self.on_work()
        return worked

    async def run_all(self) -> dict[str, int]:
        """Every job once, in order (the CLI and tests); returns the rounds that did work per job."""
        return {name: await self.run_job(name) for name in self.jobs}

    async def _round(self, job: Job) -> bool:
        now = utcnow()
        async with self.sessions() as session, session.begin():
            if job.every is not None and not await claim_slot(
                session, job.name, job.every, now, self.ctx.settings.node_name
            ):
                return False
            result = await job.run(session, self.ctx, now)
        if result:
            log.debug("job %s: %s", job.name, result, extra={"action": "job_done", "job": job.name})
        return bool(result)
