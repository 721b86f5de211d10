"""Everything after the 250: stored messages are processed in batches, each message once.

A batch takes up to ``BATCH_SIZE`` new messages in one transaction (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so several daemons share the work; SQLite: behind the ``WriteGate``). Processing a message,
queuing the mails it causes and its ``done`` mark commit together, so a crash repeats the whole batch
after restart and never leaves half of it. A message that makes the code fail rolls its batch back;
the batch then runs again with each message in its own SAVEPOINT, and the failing one is rolled back
to it and ``shunted`` with the error (and its report too), in the same transaction: kept for a human,
never dropped; the others commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import Context
from save_relay.core.errors import SaveRelayError
from save_relay.core.states import DeliveryLane, InboundStatus, ReportStatus
from save_relay.processing.dispatch import Handler
from save_relay.store import audit, deliveries, inbound
from save_relay.store.db import SessionFactory, WriteGate
from save_relay.store.tables import InboundMessage

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # messages per transaction at most
BATCH_SECONDS = 0.05  # a batch takes no more messages after this: incoming 250s wait behind it
PER_SENDER = 5  # a sender's messages per batch before other senders' (store.inbound.claim_new)


async def shunt(session: AsyncSession, message_id: int, error: str) -> None:
    """Set a message (and its report) aside with the error, in the caller's transaction; audited."""
    await inbound.mark(session, message_id, InboundStatus.SHUNTED, error)
    report = await inbound.report_for_inbound(session, message_id)
    if report is not None:
        report.status = ReportStatus.SHUNTED
    audit.record(
        session,
        action="inbound_shunted",
        actor="system",
        via="system",
        object_ref=report.reference if report else str(message_id),
        error=error[-500:],
    )


def _failed(message_id: int, exc: Exception) -> str:
    """Log a message's failure; returns the traceback kept with it when it is shunted."""
    log.exception(
        "processing inbound %d failed; shunted",
        message_id,
        extra={"action": "inbound_shunted", "inbound_id": message_id},
    )
    return "".join(traceback.format_exception(exc))[-4000:]


class _HandlerFailed(SaveRelayError):
    """A handler failed in a batch without savepoints: the batch's transaction is rolled back."""

    def __init__(self, message_id: int) -> None:
        super().__init__(f"handler failed on inbound {message_id}")
        self.message_id = message_id


class Processor:
    """Works through new inbound messages; ``wake()`` makes it look at once.

    Turns with the intake: a batch and the intake's group commit share one ``asyncio.Lock``
    (``write_gate``: on SQLite the write gate itself, on PostgreSQL a lock of their own, ``Relay.turns``).
    Without it, on PostgreSQL a batch's every statement waited in the event loop behind the senders'
    sessions, and a report from a known subscriber posted during a flood waited ~0.9 s to be announced
    (bench/RESULTS.md); with it, senders wait at their commit while a batch (at most ``batch_seconds``
    plus one message) runs, then ``_give_way`` gives the intake as long again.
    """

    def __init__(
        self,
        ctx: Context,
        sessions: SessionFactory,
        handlers: Mapping[str, Handler],
        on_processed: Callable[[], None] = lambda: None,
        write_gate: WriteGate | None = None,
        batch_size: int = BATCH_SIZE,
        batch_seconds: float = BATCH_SECONDS,
        per_sender: int = PER_SENDER,
    ) -> None:
        self.ctx = ctx
        self.handlers = handlers  # purpose -> handler: routes.HANDLERS
        self.sessions = sessions
        self.write_gate = write_gate or WriteGate(enabled=False)
        self.on_processed = on_processed
        self.batch_size, self.batch_seconds, self.per_sender = batch_size, batch_seconds, per_sender
        self._wake = asyncio.Event()
        self._stopping = False
        self.give_way_to: Callable[[], bool] = lambda: False  # the intake's busy(): see _give_way

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the message in hand (and commit its batch), then leave ``run``."""
        self._stopping = True
        self._wake.set()

    async def process_batch(self, limit: int | None = None) -> int:
        """Process up to ``limit`` (``batch_size``) of the oldest new messages in one transaction;
        returns how many it took (done or shunted).

        The messages come in the fair order (``store.inbound.claim_new``: commands first, then known
        subscribers' reports, at most ``per_sender`` of one sender before the others'). The batch stays
        short: after ``batch_seconds`` it takes no more and commits (the rest stays new, for the next
        batch). It runs without savepoints (two
        statements per message saved); when a handler fails, nothing of it is kept and the batch runs
        again with a savepoint per message, so that only the failing one is shunted.
        """
        try:
            return await self._batch(limit or self.batch_size, isolated=False)
        except _HandlerFailed as failed:
            log.info(
                "inbound %d failed in a batch; the batch again, one savepoint each",
                failed.message_id,
                extra={"action": "batch_retried", "inbound_id": failed.message_id},
            )
            return await self._batch(limit or self.batch_size, isolated=True)

    async def _batch(self, limit: int, *, isolated: bool) -> int:
        loop = asyncio.get_running_loop()
        async with self.write_gate(), self.sessions() as session, session.begin():
            found = await inbound.claim_new(session, limit, self.per_sender)
            deadline = loop.time() + self.batch_seconds
            taken, done = 0, []
            for claimed in found:
                if taken and (loop.time() > deadline or self._stopping):
                    break
                taken += 1
                message = claimed.message
                deliveries.set_lane(session, DeliveryLane.URGENT if claimed.urgent else DeliveryLane.NORMAL)
                if not isolated:
                    await self._handle(session, message)
                    done.append(message.id)
                elif await self._process(session, message):
                    done.append(message.id)
            await inbound.mark_many(
                session, done, InboundStatus.DONE
            )  # one statement; commits with what they queued
            return taken

    async def _handle(self, session: AsyncSession, message: InboundMessage) -> None:
        """One message, in the batch's transaction; a failure becomes ``_HandlerFailed`` (rolls it back)."""
        message_id = message.id
        try:
            await self.handlers[message.purpose](session, self.ctx, message)
        except Exception as exc:
            raise _HandlerFailed(message_id) from exc

    async def _process(self, session: AsyncSession, message: InboundMessage) -> bool:
        """One message in its own savepoint; on failure, rolled back to it and shunted (False)."""
        message_id, purpose = message.id, message.purpose
        try:
            async with session.begin_nested():
                await self.handlers[purpose](session, self.ctx, message)
            return True
        except Exception as exc:
            await shunt(session, message_id, _failed(message_id, exc))
            return False

    async def process_one(self) -> bool:
        """Process the oldest new message alone (the fallback after a batch failed as a whole).

        A failure shunts it in a transaction of its own, so even a message that breaks the whole
        transaction cannot stop the processor.
        """
        async with self.write_gate(), self.sessions() as session, session.begin():
            found = await inbound.claim_new(session, 1)
            if not found:
                return False
            message = found[0].message
            message_id, purpose = message.id, message.purpose
            try:
                async with session.begin_nested():
                    await self.handlers[purpose](session, self.ctx, message)
                    await inbound.mark(session, message_id, InboundStatus.DONE)
                return True
            except Exception as exc:
                error = _failed(message_id, exc)
        async with self.write_gate(), self.sessions() as session, session.begin():
            await shunt(session, message_id, error)
        return True

    async def drain(self) -> int:
        """Process batches until nothing is new; returns how many messages were processed."""
        count = 0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                done = await self.process_batch()
            except Exception:  # the batch's transaction failed as a whole: nothing of it committed
                log.exception("processor batch failed; one at a time", extra={"action": "batch_failed"})
                done = int(await self.process_one())
            if not done:
                break
            count += done
            self.on_processed()  # the worker sends what this batch queued, not after the whole backlog
            await self._give_way(loop.time() - started)
        return count

    async def _give_way(self, held: float) -> None:
        """A fair share, not a pause until the intake is idle: after a batch that took ``held`` seconds,
        while mail keeps coming (``give_way_to``, the intake's ``busy()``), wait as long again.

        The processor shares the event loop (and on SQLite the one write lock) with the intake. Giving
        the intake the time the batch took keeps the senders' 250s coming during a flood, while the
        processor still has half the time: announcements and moderators' commands never wait for the
        flood to end (before, the processor took one message per 0.1 s pause: 2.4 a second on
        PostgreSQL under 95 incoming a second). A batch is at most ``batch_seconds`` long plus one
        message, so the wait is short too.
        """
        if self.give_way_to() and not self._stopping:
            await asyncio.sleep(min(held, 4 * self.batch_seconds))

    async def run(self, poll_seconds: float = 5.0) -> None:
        """Process until stopped; sleeps until woken or ``poll_seconds`` passed."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("processor round failed", extra={"action": "processor_error"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_seconds)
