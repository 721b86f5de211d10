"""The console's queue and report pages over real HTTP: approve with a changed zone (the distribution
reaches the sink), reject with a reason, CSRF, another network's account (403), a coordinator (no
decisions), and a console decision racing a mail reply (one distribution; the loser is told who)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.reports import by_reference, distribution_ids
from tests.conftest import MODERATORS
from tests.e2e.console_support import OTHER, log_in_as, two_networks
from tests.e2e.test_followups import forwards
from tests.e2e.test_one_click import quiet
from tests.e2e.test_outcome import mails
from tests.e2e.test_report_flow import (
    REPORTER,
    _distribution_count,
    distributed,
    notification_for,
    post_report,
    reply,
)
from tests.e2e.test_withdrawal import acknowledgement, answer_ack
from tests.helpers import Sink, wait_for
from tests.web_support import base_url

MODERATOR = MODERATORS[0]


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    """Two networks: the demo one and a second whose accounts must not see the first's reports."""
    return two_networks(db_url, sink, tmp_path)


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(relay), timeout=20) as http:
        yield http


async def moderator(
    relay: Relay,
    client: httpx.AsyncClient,
    login: str = MODERATOR,
    network: str = "industrie",
    role: AccountRole = AccountRole.MODERATOR,
) -> None:
    await log_in_as(relay, client, role, login, network)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def test_queue_and_approve_with_a_changed_zone(
    relay: Relay, sink: Sink, client: httpx.AsyncClient
) -> None:
    reference = await post_report(relay)
    await notification_for(sink, MODERATOR, reference)
    await moderator(relay, client)
    queue = await client.get("/reports")
    assert queue.status_code == 200 and reference in queue.text
    assert re.search(r"te beoordelen \(1\)", queue.text)
    page = await client.get(f"/reports/{reference}")
    assert page.status_code == 200 and "Wat de abonnees krijgen" in page.text
    assert "witte bestelwagen" in page.text

    data = {"csrf": csrf_of(page.text), "action": "approve", "zones": "maatheide"}
    assert (await client.post(f"/reports/{reference}", data={**data, "csrf": ""})).status_code == 403
    done = await client.post(f"/reports/{reference}", data=data)
    assert done.status_code == 303
    await wait_for(lambda: distributed(sink, reference))
    await quiet(relay)
    async with relay.sessions() as session:
        report = await by_reference(session, reference)
        assert (
            report.status == "approved" and report.zones == ["maatheide"] and report.decided_by == MODERATOR
        )
    shown = (await client.get(f"/reports/{reference}")).text
    assert "goedgekeurd" in shown and "report_approved by " + MODERATOR + " via web" in shown
    assert "console.approve" in shown


async def test_reject_with_a_reason(relay: Relay, sink: Sink, client: httpx.AsyncClient) -> None:
    reference = await post_report(relay)
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    rejected = await client.post(
        f"/reports/{reference}",
        data={"csrf": csrf_of(page.text), "action": "reject", "reason": "geen verband"},
    )
    assert rejected.status_code == 303
    async with relay.sessions() as session:
        report = await by_reference(session, reference)
        assert report.status == "rejected" and report.reason == "geen verband"
    assert await _distribution_count(relay) == 0


async def test_another_networks_account_gets_403(relay: Relay, client: httpx.AsyncClient) -> None:
    reference = await post_report(relay)
    await moderator(relay, client, login=OTHER, network="mol")
    assert reference not in (await client.get("/reports")).text
    assert (await client.get(f"/reports/{reference}")).status_code == 403
    assert (await client.get(f"/reports/{reference}/raw")).status_code == 403
    csrf = csrf_of((await client.get("/console")).text)
    posted = await client.post(
        f"/reports/{reference}", data={"csrf": csrf, "action": "reject", "reason": "x"}
    )
    assert posted.status_code == 403


async def test_a_coordinator_sees_but_does_not_decide(relay: Relay, client: httpx.AsyncClient) -> None:
    reference = await post_report(relay)
    await moderator(relay, client, login="coord@politie.lommel.be", role=AccountRole.COORDINATOR)
    page = await client.get(f"/reports/{reference}")
    assert page.status_code == 200 and 'class="approve"' not in page.text
    csrf = csrf_of((await client.get("/console")).text)
    posted = await client.post(
        f"/reports/{reference}", data={"csrf": csrf, "action": "reject", "reason": "x"}
    )
    assert posted.status_code == 403


async def test_console_and_mail_reply_race_one_distribution(
    relay: Relay, sink: Sink, client: httpx.AsyncClient
) -> None:
    reference = await post_report(relay)
    notification = await notification_for(sink, MODERATORS[1], reference)
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    data = {"csrf": csrf_of(page.text), "action": "approve", "zones": "lommel"}
    posted, _ = await asyncio.gather(
        client.post(f"/reports/{reference}", data=data),
        reply(relay, notification, "ok", sender=MODERATORS[1]),
    )
    await quiet(relay)
    async with relay.sessions() as session:
        report = await by_reference(session, reference)
    assert report.status == "approved" and report.decided_by in MODERATORS
    if report.decided_by == MODERATORS[1]:  # the mail won: the console says who decided
        assert posted.status_code == 409 and MODERATORS[1] in posted.text
    else:  # the console won: the mail reply is refused, and its sender is told who decided
        assert posted.status_code == 303
        await wait_for(
            lambda: [m for m in sink.to(MODERATORS[1]) if MODERATOR in m.message.get_body().get_content()]  # type: ignore[union-attr]
        )
    async with relay.sessions() as session:
        assert len(await distribution_ids(session, report.id)) == 1


async def test_download_the_raw_mail_is_audited(relay: Relay, client: httpx.AsyncClient) -> None:
    reference = await post_report(relay)
    await moderator(relay, client)
    raw = await client.get(f"/reports/{reference}/raw")
    assert raw.status_code == 200 and raw.headers["content-type"] == "message/rfc822"
    assert f'filename="{reference}.eml"' in raw.headers["content-disposition"]
    assert b"witte bestelwagen" in raw.content and b"Jan Vos" in raw.content  # the evidence, whole
    assert "console.raw_download by " + MODERATOR in (await client.get(f"/reports/{reference}")).text


async def test_the_report_page_lists_followups_and_a_withdrawn_report_is_not_approved(
    relay: Relay, sink: Sink, client: httpx.AsyncClient
) -> None:
    reference = await post_report(relay)
    ack = await acknowledgement(sink, reference)
    await answer_ack(relay, ack, "Nog een detail: de bestelwagen had een gele ladder op het dak.")
    await wait_for(lambda: forwards(sink, MODERATOR, reference))
    await answer_ack(relay, ack, "intrekken")
    await wait_for(lambda: mails(sink, REPORTER, f"Ingetrokken: {reference}"))
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    assert page.status_code == 200 and "Vervolgberichten" in page.text and "gele ladder" in page.text
    queue = await client.get("/reports?status=withdrawn")
    assert queue.status_code == 200 and reference in queue.text and "ingetrokken (1)" in queue.text
    assert 'name="csrf"' not in page.text  # no decision forms on a withdrawn report; a forged post:
    pending = await client.get(f"/reports/{await post_report(relay)}")
    refused = await client.post(
        f"/reports/{reference}", data={"csrf": csrf_of(pending.text), "action": "approve"}
    )
    assert refused.status_code == 409 and "door de melder ingetrokken" in refused.text
    assert await _distribution_count(relay) == 0
