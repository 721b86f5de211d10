"""The two ways out for an SMS: an SMPP session, or a plain HTTP gateway with a JSON contract.

Both answer with a :class:`Sent`: the queue's result (``250`` taken; ``451`` retried with backoff:
SMPP throttling/queue full, HTTP 408/429/5xx, no connection; ``554`` permanent: a refused number or
any other error) and the gateway's message id of each part, for its receipts.

The HTTP contract (README "SMS over an HTTP gateway"): one POST per SMS of the settings'
``template``, a JSON object whose strings may name ``{to}`` (E.164), ``{text}``, ``{sender}`` and
``{id}`` (the delivery's id); ``Authorization: Bearer TOKEN`` when a token is set; a 2xx answer's JSON
gives the message id at ``id_field`` and, if the gateway knows it at once, a state at ``status_field``.
Receipts that come later are POSTed back by the gateway to ``/sms/receipts/NETWORK`` (``web/smsreceipts``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from save_relay.channels.ratecap import RateCap
from save_relay.channels.smpp import TRANSIENT, Receipt, SmppError, SmppSession
from save_relay.core import gsm
from save_relay.core.sms_settings import HttpGatewaySettings, SmsSettings, pick, receipt_state
from save_relay.delivery.retry import SendResult

RETRIED_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Sent:
    result: SendResult
    message_ids: tuple[str, ...] = ()
    state: str | None = None  # a receipt state the gateway gave at once
    parts: tuple[str, ...] = field(default_factory=tuple)  # message ids of parts taken before a failure


class SmsTransport(Protocol):
    async def send(self, *, number: str, text: str, delivery_id: int, done: int = 0) -> Sent: ...

    async def close(self) -> None: ...

    @property
    def cap(self) -> RateCap: ...


class SmppTransport:
    """Each part submitted in turn over one session; a part refused stops the message, and its retry
    starts at the first part not yet taken (``done``): no part is sent twice."""

    def __init__(self, conf: SmsSettings, cap: RateCap, on_receipt: Receipt) -> None:
        assert conf.smpp is not None
        self.conf = conf
        self.cap = cap
        self.session = SmppSession(conf.smpp, on_receipt)

    async def send(self, *, number: str, text: str, delivery_id: int, done: int = 0) -> Sent:
        message = gsm.segment(text, reference=delivery_id)
        ids: list[str] = []
        for index, part in enumerate(message.parts[done:]):
            await self.cap.wait(first=index == 0)
            try:
                answer = await self.session.submit(
                    sender=self.conf.sender,
                    number=number,
                    payload=part.payload,
                    data_coding=message.data_coding,
                    esm_class=message.esm_class,
                )
            except (SmppError, TimeoutError, ConnectionError) as exc:
                return Sent(SendResult(451, str(exc) or "SMPP: no answer in time"), parts=tuple(ids))
            if answer.status in TRANSIENT:
                return Sent(SendResult(451, answer.description), parts=tuple(ids))
            if answer.status != 0:
                return Sent(SendResult(554, answer.description), parts=tuple(ids))
            ids.append(answer.message_id)
        return Sent(SendResult(250, f"SMPP: {len(message.parts)} part(s) taken"), tuple(ids))

    async def close(self) -> None:
        await self.session.close()


def fill(template: Any, values: dict[str, str]) -> Any:
    """The template with ``{name}`` in its strings replaced (only the names given; no format spec)."""
    if isinstance(template, str):
        out = template
        for name, value in values.items():
            out = out.replace("{" + name + "}", value)
        return out
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


class HttpTransport:
    """One POST per SMS; the gateway segments it (the cap counts its parts all the same)."""

    def __init__(self, conf: SmsSettings, cap: RateCap) -> None:
        assert conf.http is not None
        self.conf = conf
        self.gateway: HttpGatewaySettings = conf.http
        self.cap = cap
        self.client = httpx.AsyncClient(follow_redirects=False, headers={"user-agent": "save-relay"})

    async def send(self, *, number: str, text: str, delivery_id: int, done: int = 0) -> Sent:
        gateway = self.gateway
        text = gsm.plain(text)
        await self.cap.wait(len(gsm.segment(text).parts), first=True)
        values = {"to": number, "text": text, "sender": self.conf.sender}
        body = json.dumps(fill(gateway.template, values | {"id": str(delivery_id)}), ensure_ascii=False)
        headers = {"content-type": "application/json"}
        if gateway.token is not None:
            headers["authorization"] = f"Bearer {gateway.token.get_secret_value()}"
        try:
            answer = await self.client.post(
                gateway.url, content=body.encode(), headers=headers, timeout=gateway.timeout
            )
        except httpx.TimeoutException:
            return Sent(SendResult(451, f"no answer within {gateway.timeout:g} s"))
        except httpx.HTTPError as exc:
            return Sent(SendResult(451, f"{type(exc).__name__}: {exc}"[:300]))
        status = f"HTTP {answer.status_code} {answer.reason_phrase}".strip()
        if answer.status_code in RETRIED_HTTP or answer.status_code >= 500:
            return Sent(SendResult(451, status))
        if not 200 <= answer.status_code < 300:
            return Sent(SendResult(554, f"{status}: {answer.text[:200]}"))
        try:
            data = answer.json()
        except ValueError:
            data = {}
        message_id = pick(data, gateway.id_field) or f"delivery-{delivery_id}"
        state = pick(data, gateway.status_field)
        return Sent(SendResult(250, status), (message_id,), receipt_state(state) if state else None)

    async def close(self) -> None:
        await self.client.aclose()
