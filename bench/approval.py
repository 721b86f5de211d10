"""approval-latency: a moderator's reply accepted (its 250) until the first distribution message is at
the sink.

A real Relay (SQLite, or PostgreSQL in a scratch database) with 50 generated subscribers in one zone.
Each of N rounds posts a report over SMTP, waits for the two notifications at the sink and takes the
Reply-To (``+confirm-TOKEN``) of the first moderator's, then sends that moderator's reply ``ok`` /
``zones: bench-park`` to it over SMTP. The clock starts when the client has the reply's 250 and stops
at the sink's first subscriber recipient; every one of the 50 must then arrive exactly once.
"""

from __future__ import annotations

import asyncio
import email.policy
import re
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from bench import generate
from bench.fanout import MODERATORS, NETWORK, REPORTER, check_exactly_once, report_message, wait_announced
from bench.intake import database, relay_settings
from bench.sink import Sink
from save_relay.app import Relay

SUBSCRIBERS = 50


@dataclass(frozen=True, slots=True)
class ApprovalRun:
    latencies: list[float]  # reply's 250 -> first subscriber message at the sink, seconds
    complete: list[float]  # reply's 250 -> last of the subscribers at the sink, seconds

    def quantile_ms(self, q: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies if values is None else values)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _send(port: int, mail_from: str, rcpt: str, message: EmailMessage) -> tuple[str, float]:
    """The 250's text and the monotonic time the client had it (before QUIT)."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30, start_tls=False)
    await client.connect()
    try:
        await client.mail(mail_from)
        await client.rcpt(rcpt)
        response = await client.data(message.as_bytes(policy=email.policy.SMTP))
        at = time.monotonic()
    finally:
        await client.quit()
    if response.code != 250:
        raise RuntimeError(f"refused: {response.code} {response.message}")
    return response.message, at


async def _reply_to(sink: Sink, moderator: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for recipient, reply_to in sink.captured():
            if recipient == moderator and "+" in reply_to:
                return reply_to
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no notification with a Reply-To for {moderator} in {timeout} s")


async def run_once(sink: Sink, approvals: int, kind: str = "sqlite", timeout: float = 30.0) -> ApprovalRun:
    moderator = MODERATORS[0]
    latencies: list[float] = []
    complete: list[float] = []
    with tempfile.TemporaryDirectory(prefix="save-relay-bench-") as tmp:
        async with database(kind, Path(tmp)) as db_url:
            relay = Relay(relay_settings(db_url, Path(tmp), sink.port))
            await relay.start()
            try:
                assert relay.ctx is not None
                async with relay.sessions() as session, session.begin():
                    population = await generate.load(session, relay.ctx.networks["industrie"].id, SUBSCRIBERS)
                for k in range(approvals):
                    sink.reset()
                    report = report_message()
                    report.replace_header("Message-ID", f"<bench-approval-{k}@metaalwerken-vos.example>")
                    answer, _ = await _send(relay.smtp_port, REPORTER, NETWORK, report)
                    found = re.search(r"[A-Z]+-\d{4}-\d{6}", answer)
                    assert found is not None, answer
                    reference = found.group(0)
                    token_address = await _reply_to(sink, moderator)
                    await wait_announced(relay, reference)
                    sink.reset()
                    reply = EmailMessage()
                    reply["From"] = f"Inspecteur Peeters <{moderator}>"
                    reply["To"] = token_address
                    reply["Subject"] = f"Re: [{reference}] {report['Subject']}"
                    reply["Message-ID"] = f"<bench-reply-{k}@politie.lommel.be>"
                    reply.set_content(f"ok\nzones: {population.zone_slug}\n")
                    _, accepted = await _send(relay.smtp_port, moderator, token_address, reply)
                    await sink.wait_matched(SUBSCRIBERS, timeout)
                    latencies.append(sink.first_at - accepted)
                    complete.append(sink.last_at - accepted)
                    check_exactly_once(sink.dump(), population.addresses)
            finally:
                await relay.stop()
    return ApprovalRun(latencies, complete)
