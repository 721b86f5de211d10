"""The console's audit page over real HTTP (SQLite and PostgreSQL): the network's entries narrowed by
object, person, account and period, pages of 50, the chain verified on request, a search for a person
audited, another network's entries never shown."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from tests.e2e.console_support import COORDINATOR, entries, log_in_as, two_networks
from tests.e2e.test_console_reports import MODERATOR, OTHER, client, csrf_of, moderator  # noqa: F401
from tests.e2e.test_report_flow import REPORTER, post_report
from tests.helpers import Sink


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path)


def ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", page)]


async def test_filters_and_the_chain(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    reference = await post_report(relay)
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    data = {"csrf": csrf_of(page.text), "action": "reject", "reason": "test"}
    assert (await client.post(f"/reports/{reference}", data=data)).status_code == 303

    everything = await client.get("/audit")
    assert everything.status_code == 200 and "console.reject" in everything.text
    assert "127.0.0.1" in everything.text  # the client address of console actions
    shown = ids(everything.text)
    assert shown == sorted(shown, reverse=True) and shown  # newest first

    about = (await client.get("/audit", params={"object": reference})).text
    assert "console.reject" in about and "report_rejected" in about and "console.login" not in about
    by_account = (await client.get("/audit", params={"account": MODERATOR.upper()})).text
    assert "console.login" in by_account and "report_received" not in by_account
    person = (await client.get("/audit", params={"person": REPORTER})).text
    assert reference in person and "console.login" not in person
    assert [e.detail["person"] for e in await entries(relay, "console.audit_search")] == [REPORTER]

    today = datetime.now(ZoneInfo("Europe/Brussels")).date()
    assert ids((await client.get("/audit", params={"from": today + timedelta(days=1)})).text) == []
    assert set(shown) < set(ids((await client.get("/audit", params={"to": today})).text))
    odd = await client.get("/audit", params={"from": "gisteren", "page": "x"})
    assert odd.status_code == 200 and set(shown) < set(ids(odd.text))

    assert 'id="chain-status"' not in everything.text and "save-relay audit verify" in everything.text
    verified = await client.get("/audit", params={"verify": "1"})
    assert re.search(r"Keten intact: \d+ regels gecontroleerd", verified.text)


async def test_pages_of_fifty(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    for _ in range(30):  # each company page view is an entry, besides the login
        assert (await client.get("/subscribers/1")).status_code == 200
    first = await client.get("/audit", params={"account": COORDINATOR})
    assert len(ids(first.text)) == 31 and 'rel="next"' not in first.text
    for _ in range(30):
        await client.get("/subscribers/1")
    first = await client.get("/audit", params={"account": COORDINATOR})
    assert len(ids(first.text)) == 50 and 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = await client.get("/audit", params={"account": COORDINATOR, "page": 2})
    assert len(ids(second.text)) == 11 and 'rel="prev"' in second.text  # 60 views and the login
    assert not set(ids(first.text)) & set(ids(second.text))


async def test_another_networks_entries_are_not_shown(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    reference = await post_report(relay)
    await moderator(relay, client, login=OTHER, network="mol")
    page = (await client.get("/audit")).text
    assert reference not in page and "console.login" in page
    assert (await client.get("/audit", params={"object": reference})).text.count("<tr><td>") == 0
    client.cookies.clear()
    assert (await client.get("/audit")).status_code == 303
