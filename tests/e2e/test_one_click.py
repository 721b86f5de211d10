"""The RFC 8058 one-click unsubscribe over real HTTP on loopback, and the moderators' daily digest."""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request

from sqlalchemy import func, select, update

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.core.tokens import new_token, token_hash
from save_relay.membership.digest import send_unsubscribe_digest
from save_relay.store.tables import Delivery, InboundMessage, SubscriberAddress
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import distributed, notification_for, post_report, reply
from tests.helpers import Received, Sink, wait_for

URL = re.compile(r"<(http://127\.0\.0\.1:\d+/unsubscribe/industrie/[a-z2-7]{27,39})>")


def http(url: str, body: bytes | None = None) -> tuple[int, str]:
    """A plain urllib request (run in a thread): (status, body)."""
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


async def approve_one(relay: Relay, sink: Sink) -> tuple[str, list[Received]]:
    """Post a report, approve it by mail; returns it once its distribution is delivered and recorded."""
    reference = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok")
    await wait_for(lambda: distributed(sink, reference, 10))
    await quiet(relay)  # a delivery's tokens are stored once its batch is recorded
    return reference, distributed(sink, reference)


async def quiet(relay: Relay) -> None:
    """Wait until every stored message is processed and every delivery is out and recorded."""

    async def idle() -> bool:
        async with relay.sessions() as session:
            new = await session.scalar(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "new")
            )
            queued = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "queued")
            )
        return new == 0 and queued == 0

    await wait_for(idle, timeout=15)


async def status_of(relay: Relay, address: str) -> str | None:
    async with relay.sessions() as session:
        return await session.scalar(
            select(SubscriberAddress.status).where(SubscriberAddress.address == address)
        )


async def test_one_click_post_unsubscribes_and_the_next_distribution_skips_it(
    relay: Relay, sink: Sink
) -> None:
    reference, delivered = await approve_one(relay, sink)
    expected = len(await wait_for(lambda: distributed(sink, reference, len(delivered))))
    one = next(m for m in delivered if m.rcpt_tos[0].endswith("transport-vangorp.example"))
    address = one.rcpt_tos[0].lower()
    header = str(one.message["List-Unsubscribe"])
    assert one.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "mailto:industrie+unsubscribe-" in header
    match = URL.search(header)
    assert match, header
    url = match.group(1)

    # A GET (a person, or a link scanner) only shows the button.
    status, page = await asyncio.to_thread(http, url)
    assert status == 200 and '<form method="post">' in page and "List-Unsubscribe" in page
    assert await status_of(relay, address) == "active"
    # Wrong bodies and unknown tokens change nothing.
    assert (await asyncio.to_thread(http, url, b"unsubscribe=yes"))[0] == 400
    base, token = url.rsplit("/", 1)
    unknown = f"{base}/{'a' * 26}{token[26:]}"  # the token's delivery id with another random part
    assert (await asyncio.to_thread(http, unknown, b"List-Unsubscribe=One-Click"))[0] == 404
    assert (
        await asyncio.to_thread(http, url.replace("/industrie/", "/other/"), b"List-Unsubscribe=One-Click")
    )[0] == 404

    status, page = await asyncio.to_thread(http, url, b"List-Unsubscribe=One-Click")
    assert status == 200 and "afgemeld" in page
    assert await status_of(relay, address) == "unsubscribed"
    await wait_for(lambda: [m for m in sink.to(address) if "Uitgeschreven" in str(m.message["Subject"])])
    assert (await asyncio.to_thread(http, url, b"List-Unsubscribe=One-Click"))[0] == 200  # idempotent

    second, _ = await approve_one(relay, sink)
    again = await wait_for(lambda: distributed(sink, second, expected - 1))
    await asyncio.sleep(0.3)  # let any stragglers arrive
    assert address not in {r.lower() for m in distributed(sink, second) for r in m.rcpt_tos}
    assert len(distributed(sink, second)) == len(again) == expected - 1

    async with relay.sessions() as session, session.begin():
        assert relay.ctx is not None
        assert await send_unsubscribe_digest(session, relay.ctx, utcnow()) == 1
    for moderator in MODERATORS:
        digest = await wait_for(
            lambda m=moderator: [x for x in sink.to(m) if "Overzicht" in str(x.message["Subject"])]
        )
        text = digest[0].message.get_body(preferencelist=("plain",)).get_content()
        assert address in text and "afgemeld (http)" in text
    async with relay.sessions() as session, session.begin():
        assert await send_unsubscribe_digest(session, relay.ctx, utcnow()) == 0  # each event once


async def test_a_plain_token_mailed_before_migration_0007_still_unsubscribes(
    relay: Relay, sink: Sink
) -> None:
    """Links in mail sent before tokens named their delivery (found by hash alone) keep working."""
    _, delivered = await approve_one(relay, sink)
    one = next(m for m in delivered if m.rcpt_tos[0].endswith("transport-vangorp.example"))
    address = one.rcpt_tos[0].lower()
    match = URL.search(str(one.message["List-Unsubscribe"]))
    assert match
    old = new_token()
    async with relay.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.recipient == address).values(unsubscribe_hash=token_hash(old))
        )
    url = f"{match.group(1).rsplit('/', 1)[0]}/{old}"
    status, page = await asyncio.to_thread(http, url, b"List-Unsubscribe=One-Click")
    assert status == 200 and "afgemeld" in page
    assert await status_of(relay, address) == "unsubscribed"
