"""The outbound worker: claims due deliveries in batches, sends them over parallel connections, records
each outcome right after the answer (250 = sent; 4xx = retry with backoff; 5xx = failed), in grouped
writes, so that a kill sends again only what was in flight."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.core.erased import is_erased
from save_relay.core.routing import Purpose
from save_relay.delivery.loop import WorkLoop
from save_relay.delivery.personalize import Personal, message_id, personal_headers
from save_relay.delivery.retry import SendResult, retry_decision
from save_relay.delivery.transport import Transport
from save_relay.store import deliveries
from save_relay.store.db import SessionFactory, WriteGate
from save_relay.store.deliveries import Claimed, Outcome

log = logging.getLogger(__name__)
LOGGED_IDS = 50  # at most this many delivery ids in one log line
ROUND_SECONDS = 0.5  # a round starts no new send after this; the rest goes back to the queue


class OutboundWorker(WorkLoop):
    """Sends the queue; ``transports`` are used in parallel, one task each."""

    def __init__(
        self,
        ctx: Context,
        sessions: SessionFactory,
        transports: Sequence[Transport],
        *,
        unsubscribe_url: str | None,
        write_gate: WriteGate | None = None,
    ) -> None:
        super().__init__(ctx.settings.outbound.idle_poll_seconds)
        self.ctx = ctx
        self.sessions = sessions
        self.transports = list(transports)
        self.unsubscribe_url = unsubscribe_url.rstrip("/") if unsubscribe_url else None
        self.conf = ctx.settings.outbound
        # SQLite: queue for the write lock in turn with the intake and the processor; in SQLite's busy
        # handler the worker lost to them again and again during a flood (15 sends a second)
        self.write_gate = write_gate or WriteGate(enabled=False)
        self._bodies: dict[int, tuple[bytes, str | None]] = {}
        self._pending: list[Outcome] = []  # finished, not yet recorded (``_record``)
        self._record_lock = asyncio.Lock()

    async def _body(self, distribution_id: int) -> tuple[bytes, str | None]:
        cached = self._bodies.get(distribution_id)
        if cached is None:
            async with self.sessions() as session:
                found = await deliveries.distribution_body(session, distribution_id)
            if len(self._bodies) > 32:
                self._bodies.clear()
            cached = self._bodies[distribution_id] = found
        return cached

    async def _prepare(self, item: Claimed) -> tuple[str, bytes]:
        """(envelope sender, data) for one delivery, with the tokens stored at claim time."""
        network = self.ctx.network(item.network_id).settings
        mail_from = self.ctx.subaddress(network, Purpose.BOUNCES, item.bounce_token)
        if item.distribution_id is None or item.unsubscribe_token is None:
            return mail_from, item.message or b""
        body, reference = await self._body(item.distribution_id)
        unsubscribe = item.unsubscribe_token
        key = self.ctx.network(item.network_id).key
        personal = Personal(
            recipient=item.recipient,
            message_id=message_id(reference, item.id, network.domain),
            unsubscribe_mailto=self.ctx.subaddress(network, Purpose.UNSUBSCRIBE, unsubscribe),
            unsubscribe_url=f"{self.unsubscribe_url}/{key}/{unsubscribe}" if self.unsubscribe_url else None,
            reply_to=self.ctx.subaddress(network, Purpose.FOLLOWUP, item.followup_token)
            if reference is not None and item.followup_token
            else None,
        )
        return mail_from, personal_headers(personal) + body

    async def _send_all(self, items: list[Claimed]) -> tuple[list[Outcome], list[int]]:
        """Send ``items`` over the transports for up to ``ROUND_SECONDS``; returns the outcomes and the
        ids not started, to release: the next claim takes the queue again in its order, so mail that
        became due meanwhile in the urgent lane (``DeliveryLane``) does not wait behind a big batch."""
        queue: asyncio.Queue[Claimed] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        outcomes: list[Outcome] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ROUND_SECONDS

        async def consume(transport: Transport) -> None:
            while not queue.empty() and loop.time() < deadline:
                item = queue.get_nowait()
                try:
                    if is_erased(item.recipient):  # queued before an erasure: never mailed
                        result = SendResult(550, "refused to send: the recipient was erased on request")
                    else:
                        mail_from, data = await self._prepare(item)
                        result = await transport.send(mail_from, item.recipient, data)
                except ValueError as exc:  # a header that failed the CR/LF check: never retry
                    result = SendResult(554, f"refused to send: {exc}")
                decision = retry_decision(
                    result,
                    attempts_before=item.attempts,
                    now=utcnow(),
                    base_seconds=self.conf.retry_base_seconds,
                    max_seconds=self.conf.retry_max_seconds,
                    max_attempts=self.conf.max_attempts,
                )
                outcome = Outcome(
                    id=item.id, sent=decision.sent, retry_at=decision.retry_at, error=decision.error
                )
                outcomes.append(outcome)
                await self._record(outcome)

        await asyncio.gather(*(consume(t) for t in self.transports[: max(1, len(items))]))
        return outcomes, [queue.get_nowait().id for _ in range(queue.qsize())]

    async def _record(self, outcome: Outcome) -> None:
        """Record ``outcome`` before its connection sends the next delivery, grouped with the other
        connections' (the outcomes that come while a write runs share the next one, as intake's group
        commit does): a kill then sends again only what was in flight, at most one per connection,
        not the whole claimed batch."""
        self._pending.append(outcome)
        async with self._record_lock:
            done, self._pending = self._pending, []
            if done:  # empty when an earlier write took this one along
                async with self.write_gate(), self.sessions() as session, session.begin():
                    await deliveries.record_outcomes(session, done)

    async def take_back_own_leases(self) -> None:
        """At start: the leases held under this node's name belong to a killed process of this node;
        they are sent again now rather than when the lease ends."""
        async with self.write_gate(), self.sessions() as session, session.begin():
            count = await deliveries.take_back(session, self.ctx.settings.node_name)
        if count:
            log.warning(
                "took back %d delivery lease(s) held under this node's name",
                count,
                extra={"action": "leases_taken_back", "count": count},
            )

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; returns how many were handled."""
        async with self.write_gate(), self.sessions() as session, session.begin():
            items = await deliveries.claim(
                session,
                worker=self.ctx.settings.node_name,
                limit=self.conf.batch_size,
                lease=timedelta(seconds=self.conf.lease_seconds),
            )
        if not items:
            return 0
        outcomes, unsent = await self._send_all(items)
        async with self.write_gate(), self.sessions() as session, session.begin():
            await deliveries.release(session, unsent)  # every outcome is recorded already (_record)
        self._count(outcomes)
        failed = [o for o in outcomes if not o.sent]
        log.info(
            "sent %d, not sent %d",
            len(outcomes) - len(failed),
            len(failed),
            extra={
                "action": "outbound_batch",
                "sent": len(outcomes) - len(failed),
                "not_sent": len(failed),
                "delivery_ids": [o.id for o in failed][:LOGGED_IDS],  # the ones not sent
                **({"error": failed[0].error} if failed else {}),
            },
        )
        return len(outcomes)

    def round_failed(self) -> None:
        log.exception("outbound round failed", extra={"action": "outbound_error"})

    def _count(self, outcomes: Sequence[Outcome]) -> None:
        """The recorded outcomes in the metrics: sent, deferred (a retry is scheduled) or failed."""
        metrics = self.ctx.metrics
        for outcome in outcomes:
            status = "sent" if outcome.sent else "deferred" if outcome.retry_at is not None else "failed"
            metrics.deliveries.labels(status=status).inc()
            if status == "deferred":
                metrics.retries.inc()

    async def close(self) -> None:
        for transport in self.transports:
            await transport.close()
