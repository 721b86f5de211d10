"""The console's rename, remove and prune pages and a canvass by zones, over real HTTP (SQLite and
PostgreSQL): what ``subscribers rename|remove``, ``zones import --prune`` and a ``zones:`` canvass do on
the CLI and by mail, with the coordinator's role, the CSRF token, a confirmation step before anything is
removed, and the audit entries."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.tables import Canvass, Subscriber, SubscriberAddress, Zone
from tests.conftest import MODERATORS
from tests.e2e.canvass_support import questions, wait_status
from tests.e2e.console_support import COORDINATOR, OTHER, entries, log_in_as, two_networks
from tests.e2e.test_console_canvasses import form, made
from tests.e2e.test_console_reports import client, csrf_of, moderator  # noqa: F401
from tests.e2e.test_console_zones import collection, zone
from tests.helpers import Sink, wait_for

KEMPENSE = "Kempense Kunststoffen BV"
NIGHT = "nachtdienst@kempense-kunststoffen.example"


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path, scheduler={"tick_seconds": 0.2})


async def company_id(relay: Relay, name: str) -> int | None:
    async with relay.sessions() as session:
        return await session.scalar(select(Subscriber.id).where(Subscriber.company == name))


async def addresses(relay: Relay, subscriber_id: int) -> set[str]:
    async with relay.sessions() as session:
        rows = await session.scalars(
            select(SubscriberAddress.address).where(SubscriberAddress.subscriber_id == subscriber_id)
        )
        return set(rows)


async def test_rename_a_company(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    found = await company_id(relay, KEMPENSE)
    assert found is not None
    csrf = csrf_of((await client.get(f"/subscribers/{found}")).text)
    new = {"csrf": csrf, "name": "Kempense Kunststoffen NV"}
    assert (await client.post(f"/subscribers/{found}/rename", data={**new, "csrf": "x"})).status_code == 403
    taken = await client.post(f"/subscribers/{found}/rename", data={**new, "name": "metaalwerken vos nv"})
    assert taken.status_code == 400 and "een ander bedrijf heet al" in taken.text
    empty = await client.post(f"/subscribers/{found}/rename", data={**new, "name": "  "})
    assert empty.status_code == 400 and "geen bedrijf opgegeven" in empty.text
    done = await client.post(f"/subscribers/{found}/rename", data=new)
    assert done.status_code == 303 and done.headers["location"] == f"/subscribers/{found}"
    assert await company_id(relay, "Kempense Kunststoffen NV") == found
    [logged] = await entries(relay, "console.subscriber_rename")
    assert logged.actor == COORDINATOR and logged.detail["old"] == KEMPENSE
    [renamed] = await entries(relay, "subscriber_renamed")
    assert renamed.via == "web" and renamed.object_ref == "Kempense Kunststoffen NV"


async def test_remove_an_address_then_the_company(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await moderator(relay, client)  # moderators see, and are refused
    found = await company_id(relay, KEMPENSE)
    assert found is not None
    csrf = csrf_of((await client.get("/console")).text)
    assert (await client.post(f"/subscribers/{found}/remove", data={"csrf": csrf})).status_code == 403
    await client.post("/logout", data={"csrf": csrf})

    await log_in_as(relay, client, AccountRole.COORDINATOR)
    page = await client.get(f"/subscribers/{found}")
    assert f'href="/subscribers/{found}/remove"' in page.text
    confirm = await client.get(f"/subscribers/{found}/remove", params={"address": NIGHT})
    assert confirm.status_code == 200 and NIGHT in confirm.text and "niet ongedaan" in confirm.text
    assert len(await addresses(relay, found)) == 2  # asking is not removing
    assert (
        await client.get(f"/subscribers/{found}/remove", params={"address": "x@y.example"})
    ).status_code == 404
    csrf = csrf_of(confirm.text)
    data = {"csrf": csrf, "address": NIGHT}
    assert (await client.post(f"/subscribers/{found}/remove", data={**data, "csrf": ""})).status_code == 403
    gone = await client.post(f"/subscribers/{found}/remove", data=data)
    assert gone.status_code == 303 and gone.headers["location"] == f"/subscribers/{found}"
    assert await addresses(relay, found) == {"preventie@kempense-kunststoffen.example"}
    [logged] = await entries(relay, "console.address_remove")
    assert logged.actor == COORDINATOR and logged.detail["address"] == NIGHT

    whole = await client.get(f"/subscribers/{found}/remove")
    assert whole.status_code == 200 and KEMPENSE in whole.text and "1 adres(sen)" in whole.text
    done = await client.post(f"/subscribers/{found}/remove", data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/subscribers"
    assert await company_id(relay, KEMPENSE) is None
    [removed] = await entries(relay, "console.subscriber_remove")
    assert removed.object_ref == KEMPENSE
    assert len(await entries(relay, "subscriber_removed")) == 2  # the address, then the company


async def test_another_networks_account_cannot_remove(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    found = await company_id(relay, KEMPENSE)
    await log_in_as(relay, client, AccountRole.COORDINATOR, OTHER, "mol")
    assert (await client.get(f"/subscribers/{found}/remove")).status_code == 403
    csrf = csrf_of((await client.get("/zones")).text)
    assert (await client.post(f"/subscribers/{found}/remove", data={"csrf": csrf})).status_code == 403
    assert (
        await client.post(f"/subscribers/{found}/rename", data={"csrf": csrf, "name": "X"})
    ).status_code == 403
    assert await company_id(relay, KEMPENSE) == found


async def zone_slugs(relay: Relay) -> set[str]:
    assert relay.ctx is not None
    network_id = relay.ctx.networks["industrie"].id
    async with relay.sessions() as session:
        return set(await session.scalars(select(Zone.slug).where(Zone.network_id == network_id)))


async def test_prune_zones_after_a_confirmation(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    before = await zone_slugs(relay)
    assert "maatheide" in before and len(before) == 7
    csrf = csrf_of((await client.get("/zones")).text)
    only = collection(zone("maatheide"))
    preview = await client.post("/zones", data={"csrf": csrf, "text": only, "prune": "1"})
    assert preview.status_code == 200 and 'id="prune-preview"' in preview.text
    listed = preview.text.split('id="prune-removed"')[1].split("</ul>")[0]
    assert set(re.findall(r"<li>([a-z-]+) \(\d+ abonnees\)</li>", listed)) == before - {"maatheide"}
    assert await zone_slugs(relay) == before  # a dry run
    assert await entries(relay, "console.zones_import") == []
    assert 'name="confirm" value="1"' in preview.text
    data = {"csrf": csrf, "text": only, "prune": "1", "confirm": "1"}
    assert (await client.post("/zones", data={**data, "csrf": "x"})).status_code == 403
    done = await client.post("/zones", data=data)
    assert done.status_code == 200 and 'id="zones-done"' in done.text
    assert await zone_slugs(relay) == {"maatheide"}
    [logged] = await entries(relay, "console.zones_import")
    assert logged.actor == COORDINATOR and set(logged.detail["removed"]) == before - {"maatheide"}


async def test_canvass_by_zone(relay: Relay, sink: Sink, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    counted = await client.get("/canvasses/count", params={"zones": "maatheide"})
    companies = int(counted.text)
    assert companies > 0
    assert (await client.get("/canvasses/count", params={"zones": "atlantis"})).text == "–"
    page = await client.get("/canvasses/new")
    assert 'id="canvass-zones"' in page.text and 'name="zones" value="maatheide"' in page.text
    data = {**form(csrf_of(page.text), latitude="", longitude=""), "zones": "maatheide"}
    canvass_id = await made(client, data)
    await wait_status(relay, "open", canvass_id)
    sent = await wait_for(lambda: questions(sink, canvass_id))
    async with relay.sessions() as session:
        row = await session.get(Canvass, canvass_id)
        assert row is not None and row.zones == ["maatheide"] and row.latitude is None
    [created] = await entries(relay, "console.canvass_create")
    assert created.detail["recipients"] >= companies and len(sent) >= 1
    nowhere = await client.post("/canvasses", data={**data, "zones": ""})
    assert nowhere.status_code == 400  # neither a point nor a zone
    assert MODERATORS[0] in nowhere.text
