"""/metrics of a real daemon, parsed with prometheus-client's own parser: every metric moves when its
event happens (a report over real SMTP, a 5xx reply, an approval by mail, deliveries to a sink, a deferral,
a bounce, an IMAP poller that cannot connect); the bearer token guards it; the registry is the daemon's."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from save_relay.app import Relay
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_bounces import MEMBER, send_bounce
from tests.e2e.test_report_flow import notification_for, post_report, reply
from tests.helpers import Sink, wait_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    """The daemon with an IMAP mailbox it cannot reach, and an outbound worker that idles long (a due
    delivery stays due until the scheduler's retry job wakes it: the backlog can be seen)."""
    network = {
        "address": "industrie@politie.lommel.be",
        "name": "SaVE Lommel",
        "language": "nl",
        "moderators": MODERATORS,
        "default_groups": ["politie-ploegen"],
        "imap": {
            "host": "127.0.0.1",
            "port": closed_port(),
            "tls": "plain",
            "user": "industrie",
            "password": "not-used-here",
            "backoff_base_seconds": 0.2,
        },
    }
    settings = make_settings(
        db_url,
        sink.port,
        tmp_path,
        outbound={"idle_poll_seconds": 30.0},
        networks={"industrie": network},
        metrics={"port": 0, "bearer_token": "s3cret-scrape-token-0123"},
    )
    server = Relay(settings)
    await server.start(migrate=False)
    await seed_demo(server.engine, server)
    yield server
    await server.stop()


async def scrape(relay: Relay, token: str | None = "s3cret-scrape-token-0123") -> Samples:
    assert relay.ops is not None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"http://127.0.0.1:{relay.ops.port}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((f"save_relay_{name}", frozenset(labels.items())), 0.0)


async def test_every_metric_moves_with_its_event(relay: Relay, sink: Sink) -> None:
    before = await scrape(relay)
    assert value(before, "reports_pending") == 0
    assert value(before, "reports_received_total", network="industrie") == 0

    # A 5xx: an unknown local address is refused at RCPT.
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.smtp_port, timeout=10)
    await client.connect()
    await client.mail("someone@example.org")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await client.rcpt("nobody@politie.lommel.be")
    await client.quit()

    # A report over real SMTP: received, a 2xx to DATA, a commit, pending.
    sink.answers[MEMBER] = "450 4.2.1 Mailbox busy, try again later"  # one subscriber defers
    reference = await post_report(relay)
    after_post = await scrape(relay)
    assert value(after_post, "intake_replies_total", protocol="smtp", code_class="5xx") == 1
    assert value(after_post, "intake_replies_total", protocol="smtp", code_class="2xx") == 1
    assert value(after_post, "reports_received_total", network="industrie") == 1
    assert value(after_post, "intake_commit_seconds_count") >= 1
    assert value(after_post, "reports_pending") == 1
    assert value(after_post, "reports", status="pending") == 1
    assert value(after_post, "reports_pending_oldest_age_seconds") >= 0

    # Approved by mail: decided, its latency observed, the distribution delivered to the sink.
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok")

    async def delivered() -> Samples | None:
        samples = await scrape(relay)
        done = value(samples, "reports_decided_total", outcome="approved") == 1
        deferred = value(samples, "deliveries_total", status="deferred") >= 1
        return (
            samples if done and deferred and value(samples, "deliveries_total", status="sent") > 3 else None
        )

    approved = await wait_for(delivered, timeout=20)
    assert value(approved, "reports_pending") == 0
    assert value(approved, "approval_latency_seconds_count") == 1
    assert value(approved, "approval_latency_seconds_sum") > 0
    assert value(approved, "delivery_retries_total") >= 1

    # The deferred delivery waits in the backlog, then is due (the worker idles until the retry job).
    async def due() -> Samples | None:
        samples = await scrape(relay)
        return samples if value(samples, "outbound_due") >= 1 else None

    waiting = await wait_for(due, timeout=10)
    assert value(waiting, "outbound_backlog") >= 1
    assert value(waiting, "outbound_oldest_due_timestamp_seconds") > 0

    # A bounce for one delivered copy.
    copy = next(
        m for m in sink.messages if reference in str(m.message["Subject"]) and MEMBER not in m.rcpt_tos
    )
    await send_bounce(relay, "postfix_user_unknown.eml", copy)

    async def bounced() -> bool:
        return value(await scrape(relay), "bounces_total", kind="permanent") == 1

    await wait_for(bounced, timeout=10)

    # The IMAP poller that cannot connect says so.
    async def imap_state() -> set[str]:
        samples = await scrape(relay)
        return {
            dict(labels)["state"]
            for (name, labels), v in samples.items()
            if name == "save_relay_imap_mailbox_state" and v == 1
        }

    states = await wait_for(imap_state, timeout=10)
    assert states <= {"connecting", "backoff"}, states


async def test_metrics_need_the_token_and_count_per_daemon(relay: Relay) -> None:
    assert relay.ops is not None
    url = f"http://127.0.0.1:{relay.ops.port}/metrics"
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(url)).status_code == 401
        wrong = await client.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"})
        assert wrong.status_code == 401
        assert (await client.get(f"http://127.0.0.1:{relay.ops.port}/readyz")).status_code == 200
    # The daemon's registry is its own, not the process's global one (tests in one process never collide).
    assert relay.ctx is not None and relay.ctx.metrics.registry is not REGISTRY
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("save_relay")]
