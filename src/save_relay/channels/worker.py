"""The webhook worker: claims ``webhook`` deliveries, POSTs each signed, records the outcome at once.

The queue is the mail's (``deliveries``, kind ``webhook``): the same leases, retries with backoff and
jitter (``outbound.retry_*``, ``outbound.max_attempts``), and the same take-back of this node's leases
at start, so a webhook survives a restart. 2xx: sent; 408, 429, 5xx, a timeout or a refused
connection: retried; any other answer (400, 401, 404, a redirect): failed for good, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx

from save_relay.channels.signing import headers, message_id
from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.core.webhook_settings import secret_key
from save_relay.delivery.loop import WorkLoop
from save_relay.delivery.retry import SendResult, retry_decision
from save_relay.store import deliveries, webhook_endpoints
from save_relay.store.db import SessionFactory, WriteGate
from save_relay.store.deliveries import Claimed, Outcome

log = logging.getLogger(__name__)
BATCH = 20  # webhooks claimed per round
#: The idle poll at the least: the worker runs in every daemon (endpoints are added at run time), and a
#: claim is a write transaction on SQLite; the scheduler wakes it at once when the dispatch job queues
#: webhooks or a retry falls due, so the poll only catches what another daemon without a scheduler queued.
IDLE_SECONDS = 5.0
PARALLEL = 4  # requests in flight at once
RETRIED = frozenset({408, 425, 429})


def http_result(status: int, reason: str) -> SendResult:
    """An HTTP answer as the queue's result: 2xx sent, 408/425/429/5xx retried, the rest permanent."""
    text = f"HTTP {status} {reason}".strip()
    if 200 <= status < 300:
        return SendResult(250, text)
    if status in RETRIED or status >= 500:
        return SendResult(451, text)
    return SendResult(554, text)


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    key: bytes
    timeout: float


class WebhookWorker(WorkLoop):
    """Sends the queue's webhooks until stopped; ``client`` is shared by all requests."""

    def __init__(
        self, ctx: Context, sessions: SessionFactory, *, write_gate: WriteGate | None = None
    ) -> None:
        super().__init__(max(ctx.settings.outbound.idle_poll_seconds, IDLE_SECONDS))
        self.ctx = ctx
        self.sessions = sessions
        self.conf = ctx.settings.outbound
        self.write_gate = write_gate or WriteGate(enabled=False)
        self.client = httpx.AsyncClient(follow_redirects=False, headers={"user-agent": "save-relay"})

    async def _target(self, item: Claimed) -> Target | SendResult:
        """Where ``item`` goes and its key: the settings' endpoint of that name, else the managed one
        (read now: a rotated secret signs the retries, a disabled or removed endpoint gets nothing)."""
        endpoint = self.ctx.network(item.network_id).settings.webhook(item.recipient)
        if endpoint is not None:
            return Target(endpoint.url, endpoint.key(), endpoint.timeout)
        async with self.sessions() as session:
            row = await webhook_endpoints.by_name(session, item.network_id, item.recipient)
        if row is None:
            return SendResult(554, f"no webhook {item.recipient!r} any more")
        if not row.enabled:
            return SendResult(554, f"webhook {item.recipient!r} is disabled")
        return Target(row.url, secret_key(row.secret), row.timeout)

    async def _post(self, item: Claimed) -> SendResult:
        target = await self._target(item)
        if isinstance(target, SendResult):
            return target
        data = item.message or b""
        signed = headers(target.key, message_id(item.id), int(time.time()), data)
        try:
            answer = await self.client.post(target.url, content=data, headers=signed, timeout=target.timeout)
        except httpx.TimeoutException:
            return SendResult(451, f"no answer within {target.timeout:g} s")
        except httpx.HTTPError as exc:  # refused, reset, DNS: the receiver may be back later
            return SendResult(451, f"{type(exc).__name__}: {exc}"[:300])
        return http_result(answer.status_code, answer.reason_phrase)

    async def _send(self, item: Claimed, slots: asyncio.Semaphore) -> Outcome:
        async with slots:
            result = await self._post(item)
        decision = retry_decision(
            result,
            attempts_before=item.attempts,
            now=utcnow(),
            base_seconds=self.conf.retry_base_seconds,
            max_seconds=self.conf.retry_max_seconds,
            max_attempts=self.conf.max_attempts,
        )
        outcome = Outcome(id=item.id, sent=decision.sent, retry_at=decision.retry_at, error=decision.error)
        async with self.write_gate(), self.sessions() as session, session.begin():
            await deliveries.record_outcomes(session, [outcome])  # at once: a kill resends only this one
        log.info(
            "webhook %s %s: %s",
            item.recipient,
            message_id(item.id),
            "sent" if outcome.sent else ("retry" if outcome.retry_at else "failed"),
            extra={
                "action": "webhook_outcome",
                "webhook": item.recipient,
                "delivery_id": item.id,
                "error": outcome.error,
            },
        )
        return outcome

    async def run_once(self) -> int:
        """Claim one batch and send it; returns how many were handled."""
        async with self.write_gate(), self.sessions() as session, session.begin():
            items = await deliveries.claim(
                session,
                worker=self.ctx.settings.node_name,
                limit=BATCH,
                lease=timedelta(seconds=self.conf.lease_seconds),
                kinds=[deliveries.WEBHOOK],
            )
        slots = asyncio.Semaphore(PARALLEL)
        return len(await asyncio.gather(*(self._send(item, slots) for item in items)))

    def round_failed(self) -> None:
        log.exception("webhook round failed", extra={"action": "webhook_error"})

    async def close(self) -> None:
        await self.client.aclose()
