"""The SMS worker: claims ``sms`` deliveries, sends each through its network's gateway, records it at once.

The queue is the mail's (``deliveries``, kind ``sms``): the same leases, retries with backoff and
jitter (``outbound.retry_*``, ``outbound.max_attempts``) and take-back at start, so an SMS survives a
restart; it is recorded sent (with its parts' message ids) right after the gateway took it, and on a
stop what was not started is given back unsent, so a stop sends nothing twice and a kill resends at
most what was in flight. Throttling is retried, a
refusal is not. A network without ``[sms]`` (or with ``enabled = false``) queues no SMS; one whose
gateway is turned off later keeps what it had queued until it is back.
Receipts (SMPP ``deliver_sm``; an HTTP gateway's answer or callback) are stored per part.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from save_relay.channels.ratecap import RateCap, Stopped
from save_relay.channels.smsrecords import Receipt, Recorder, Taken
from save_relay.channels.smstransports import HttpTransport, Sent, SmppTransport, SmsTransport
from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.delivery.loop import WorkLoop
from save_relay.delivery.retry import SendResult, retry_decision
from save_relay.store import deliveries
from save_relay.store import sms as sms_store
from save_relay.store.db import SessionFactory, WriteGate
from save_relay.store.deliveries import Claimed, Outcome

log = logging.getLogger(__name__)
BATCH = 500  # SMS claimed per round at most (fewer at a low rate cap: see ``_batch``)
PARALLEL = 50  # sends in flight at once (each network's SMPP window and rate cap bound its own)


class _Expired(Exception):
    """Too old to be urgent any more."""


class SmsWorker(WorkLoop):
    """Sends the queue's SMS until stopped; one transport (and rate cap) per network, opened lazily."""

    def __init__(
        self, ctx: Context, sessions: SessionFactory, *, write_gate: WriteGate | None = None
    ) -> None:
        super().__init__(ctx.settings.outbound.idle_poll_seconds)
        self.ctx = ctx
        self.sessions = sessions
        self.conf = ctx.settings.outbound
        self.write_gate = write_gate or WriteGate(enabled=False)
        self.transports: dict[int, SmsTransport] = {}
        self.networks = [
            ref.id
            for ref in ctx.networks.values()
            if ref.settings.sms is not None and ref.settings.sms.enabled
        ]
        self.recorder = Recorder(sessions, self.write_gate)
        self.batch = self._batch()

    def _expired(self, item: Claimed) -> str | None:
        """Why ``item`` is too late to send (``sms.max_age_minutes`` after it was queued), or None."""
        conf = self.ctx.network(item.network_id).settings.sms
        if conf is None or item.created_at is None:
            return None
        age = (utcnow() - item.created_at).total_seconds() / 60
        return (
            f"expired: not sent within {conf.max_age_minutes:g} min" if age > conf.max_age_minutes else None
        )

    def _batch(self) -> int:
        """A round must end well within its lease (else another node could claim it again): at most
        what the slowest network's rate cap sends in half the lease."""
        rates = [
            c.rate for ref in self.ctx.networks.values() if (c := ref.settings.sms) is not None and c.enabled
        ]
        slowest = min(rates, default=1.0)
        return max(1, min(BATCH, int(slowest * self.conf.lease_seconds / 2)))

    def _transport(self, network_id: int) -> SmsTransport:
        if (found := self.transports.get(network_id)) is not None:
            return found
        conf = self.ctx.network(network_id).settings.sms
        assert conf is not None
        cap = RateCap(conf.rate)

        async def on_receipt(message_id: str, state: str, error: str | None) -> None:
            await self.receipt(network_id, message_id, state, error)

        made: SmsTransport = (
            SmppTransport(conf, cap, on_receipt) if conf.transport == "smpp" else HttpTransport(conf, cap)
        )
        self.transports[network_id] = made
        return made

    async def receipt(self, network_id: int, message_id: str, state: str, error: str | None) -> None:
        """Store a receipt; one for a part whose submit is not recorded yet waits for it."""
        await self.recorder.record(Receipt(network_id, message_id, state, error))
        log.debug(
            "SMS receipt %s: %s",
            message_id,
            state,
            extra={"action": "sms_receipt", "message_id": message_id, "state": state, "error": error},
        )

    async def _send(self, item: Claimed, done: int, slots: asyncio.Semaphore) -> Outcome | None:
        """Send one SMS and record it; None: the worker is stopping and it was not started."""
        async with slots:
            if self._stopping:
                return None
            try:
                if (expired := self._expired(item)) is not None:
                    raise _Expired(expired)
                sent = await self._transport(item.network_id).send(
                    number=item.recipient, text=(item.message or b"").decode(), delivery_id=item.id, done=done
                )
            except Stopped:
                return None
            except _Expired as late:
                sent = Sent(SendResult(554, str(late)))  # failed, not retried
            except Exception as exc:  # a transport's own failure: retried, never a lost SMS
                log.exception("SMS send failed", extra={"action": "sms_error", "delivery_id": item.id})
                sent = Sent(SendResult(451, f"{type(exc).__name__}"))
        decision = retry_decision(
            sent.result,
            attempts_before=item.attempts,
            now=utcnow(),
            base_seconds=self.conf.retry_base_seconds,
            max_seconds=self.conf.retry_max_seconds,
            max_attempts=self.conf.max_attempts,
        )
        outcome = Outcome(id=item.id, sent=decision.sent, retry_at=decision.retry_at, error=decision.error)
        taken = sent.message_ids if decision.sent else sent.parts
        # Committed before this send counts as done: a kill resends only what was in flight.
        await self.recorder.record(Taken(item.network_id, outcome, taken, done + 1, sent.state))
        log.info(
            "SMS %d to %s: %s",
            item.id,
            item.recipient[:-4] + "****",  # a number is personal data: not whole in the log
            "sent" if outcome.sent else ("retry" if outcome.retry_at else "failed"),
            extra={"action": "sms_outcome", "delivery_id": item.id, "error": outcome.error},
        )
        return outcome

    async def run_once(self) -> int:
        """Claim one batch of the networks with a gateway and send it; returns how many were handled."""
        if not self.networks:
            return 0
        async with self.write_gate(), self.sessions() as session, session.begin():
            items = await deliveries.claim(
                session,
                worker=self.ctx.settings.node_name,
                limit=self.batch,
                lease=timedelta(seconds=self.conf.lease_seconds),
                kinds=[deliveries.SMS],
                networks=self.networks,
            )
            done = await sms_store.parts_taken(session, [i.id for i in items if i.attempts])
        slots = asyncio.Semaphore(PARALLEL)
        outcomes = await asyncio.gather(*(self._send(i, done.get(i.id, 0), slots) for i in items))
        left = [item.id for item, outcome in zip(items, outcomes, strict=True) if outcome is None]
        if left:  # a stop came: what was not started goes back to the queue at once, for the next start
            async with self.write_gate(), self.sessions() as session, session.begin():
                await deliveries.release(session, left)
        return len(items)

    def stop(self) -> None:
        """Finish the SMS under way; those not started yet go back to the queue (``RateCap.stopping``)."""
        for transport in self.transports.values():
            transport.cap.stopping = True
        super().stop()

    def round_failed(self) -> None:
        log.exception("SMS round failed", extra={"action": "sms_error"})

    async def close(self) -> None:
        for transport in self.transports.values():
            await transport.close()
        self.transports.clear()
