"""The baseline: plain aiosmtplib sending N pre-rendered messages, one per recipient, the size of
save-relay's distribution message, over the same number of persistent connections to the same sink."""

from __future__ import annotations

import asyncio
import email.policy
import time
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib

from bench import generate
from bench.fanout import CONNECTIONS, PUBLIC_URL, Run, check_exactly_once, report_message, settings_for
from bench.sink import CountingSink
from save_relay.core.context import NetworkRef
from save_relay.core.routing import Purpose, subaddress
from save_relay.core.tokens import new_token
from save_relay.delivery.personalize import Personal, message_id, personal_headers
from save_relay.mail.parse import parse_message
from save_relay.moderation.distribution import render_distribution
from save_relay.store.tables import Report

REFERENCE = "SAVE-2026-000001"


def distribution_body(sink_port: int) -> tuple[NetworkRef, bytes]:
    """save-relay's own rendering of the bench report, without a database."""
    settings = settings_for(Path("unused"), sink_port)
    network = NetworkRef(key="industrie", id=1, settings=settings.networks["industrie"])
    raw = report_message().as_bytes(policy=email.policy.SMTP)
    parsed = parse_message(raw)
    report = Report(
        reference=REFERENCE,
        subject=parsed.subject,
        sender="security@metaalwerken-vos.example",
        sender_name="Jan Vos",
        zones=[generate.ZONE_SLUG],
        groups=[],
        credit=False,
        edited_text=None,
        tlp=str(network.settings.tlp),  # the network's default label, as a stored report has it
    )
    return network, render_distribution(network, report, parsed, raw)


def prerender(sink_port: int, recipients: list[str]) -> list[tuple[str, str, bytes]]:
    """(envelope sender, recipient, data) per recipient, as the outbound worker would build them."""
    network, body = distribution_body(sink_port)
    conf = network.settings
    out = []
    for i, recipient in enumerate(recipients, start=1):
        unsubscribe = new_token()
        personal = Personal(
            recipient=recipient,
            message_id=message_id(REFERENCE, i, conf.domain),
            unsubscribe_mailto=subaddress(conf, "+", Purpose.UNSUBSCRIBE, unsubscribe),
            unsubscribe_url=f"{PUBLIC_URL}/unsubscribe/{network.key}/{unsubscribe}",
        )
        mail_from = subaddress(conf, "+", Purpose.BOUNCES, new_token())
        out.append((mail_from, recipient, personal_headers(personal) + body))
    return out


async def _sender(port: int, work: Iterator[tuple[str, str, bytes]]) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, timeout=60, start_tls=False, local_hostname="relay.bench"
    )
    await client.connect()
    try:
        for mail_from, recipient, data in work:  # shared iterator: each task takes the next message
            await client.sendmail(mail_from, [recipient], data)
    finally:
        await client.quit()


async def run_once(sink: CountingSink, n: int, timeout: float = 240.0) -> Run:
    recipients = generate.addresses(n)
    messages = prerender(sink.port, recipients)
    sink.reset()
    cpu = (time.process_time(), sink.cpu_seconds())
    started = time.monotonic()
    work = iter(messages)
    await asyncio.gather(*(_sender(sink.port, work) for _ in range(CONNECTIONS)))
    await sink.wait_matched(n, timeout)
    seconds = sink.last_at - started
    bench_cpu, sink_cpu = time.process_time() - cpu[0], sink.cpu_seconds() - cpu[1]
    mean_bytes = sink.count("bytes") / max(1, sink.count("messages"))
    check_exactly_once(sink.dump(), frozenset(recipients))
    return Run(n, seconds, 0.0, mean_bytes, bench_cpu, sink_cpu)
