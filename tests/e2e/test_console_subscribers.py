"""The console's subscribers pages over real HTTP (SQLite and PostgreSQL): search, the company page
(audited), add, edit, disable and enable through membership/manage, the CSV import previewed with every
bad line before the confirm applies the good ones; coordinators change, moderators only see, CSRF,
another network's account gets 403."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.subscribers import find_subscribers
from save_relay.store.tables import Subscriber
from tests.e2e.console_support import COORDINATOR, entries, log_in_as, two_networks
from tests.e2e.test_console_reports import OTHER, client, csrf_of, moderator  # noqa: F401
from tests.helpers import Sink

VOS = "Metaalwerken Vos NV"
GOOD = "nieuw@lommel-bakkerij.example"
CSV = (
    "company,addresses,latitude,longitude,zones\n"
    f"Bakkerij Lommel,{GOOD},51.2300,5.3100,\n"
    "Kapot BV,geen-adres,51.23,,\n"
    "Onbekend BV,info@onbekend.example,,,atlantis\n"
)


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path)


async def subscriber(relay: Relay, name: str) -> Subscriber | None:
    assert relay.ctx is not None
    async with relay.sessions() as session:
        found = await find_subscribers(session, relay.ctx.networks["industrie"].id, name)
    return found[0] if found else None


async def vos_page(client: httpx.AsyncClient) -> tuple[str, str]:  # noqa: F811
    found = await client.get("/subscribers", params={"q": "VOS"})
    assert found.status_code == 200 and VOS in found.text and "Transport Van Gorp" not in found.text
    link = re.search(r'<a href="(/subscribers/\d+)">' + VOS, found.text)
    assert link
    return link.group(1), (await client.get(link.group(1))).text


async def test_search_and_company_page(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    everyone = (await client.get("/subscribers")).text
    assert "Transport Van Gorp" in everyone and VOS in everyone
    by_address = (await client.get("/subscribers", params={"q": "nachtdienst@"})).text
    assert "Kempense Kunststoffen" in by_address and VOS not in by_address
    _, page = await vos_page(client)
    assert "security@metaalwerken-vos.example" in page and "51.239880, 5.286200" in page
    assert 'id="area-map"' in page and 'data-lat="51.23988"' in page
    views = await entries(relay, "console.subscriber_view")
    assert [(e.actor, e.object_ref, e.detail["client"]) for e in views] == [(COORDINATOR, VOS, "127.0.0.1")]


async def test_add_edit_disable_enable(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    form = await client.get("/subscribers/new")
    data = {
        "csrf": csrf_of(form.text),
        "company": "Bakkerij Lommel",
        "addresses": "winkel@bakkerij.example, nacht@bakkerij.example",
        "street": "Stationsstraat 1",
        "latitude": "51.2300",
        "longitude": "5.3100",
        "groups": "transport",
    }
    assert (await client.post("/subscribers/new", data={**data, "csrf": "x"})).status_code == 403
    bad = await client.post("/subscribers/new", data={**data, "addresses": "geen-adres", "longitude": ""})
    assert bad.status_code == 400 and "ongeldig adres" in bad.text and "allebei" in bad.text
    assert 'value="Bakkerij Lommel"' in bad.text  # the form as it was filled in
    assert await subscriber(relay, "Bakkerij Lommel") is None
    added = await client.post("/subscribers/new", data=data)
    assert added.status_code == 303
    made = await subscriber(relay, "Bakkerij Lommel")
    assert (
        made is not None
        and made.street == "Stationsstraat 1"
        and added.headers["location"] == f"/subscribers/{made.id}"
    )

    page = await client.get(f"/subscribers/{made.id}")
    assert "winkel@bakkerij.example" in page.text and "nacht@bakkerij.example" in page.text
    edit = {
        "csrf": csrf_of(page.text),
        "contact": "Mia",
        "street": "",
        "latitude": "51.24",
        "longitude": "5.29",
    }
    assert (
        await client.post(f"/subscribers/{made.id}", data={**edit, "addresses": "derde@bakkerij.example"})
    ).status_code == 303
    after = await client.get(f"/subscribers/{made.id}")
    assert "derde@bakkerij.example" in after.text and "Mia" in after.text
    changed = await subscriber(relay, "Bakkerij Lommel")
    assert changed is not None and changed.street == "" and changed.latitude == 51.24  # cleared, moved
    assert "transport" not in after.text.split("Groepen</dt><dd>")[1].split("</dd>")[0]  # unticked: left

    off = {"csrf": csrf_of(after.text), "address": "nacht@bakkerij.example", "enabled": "0"}
    assert (await client.post(f"/subscribers/{made.id}/enabled", data=off)).status_code == 303
    assert "uitgeschakeld" in (await client.get(f"/subscribers/{made.id}")).text
    assert (
        await client.post(f"/subscribers/{made.id}/enabled", data={**off, "enabled": "1"})
    ).status_code == 303
    company_off = {"csrf": off["csrf"], "enabled": "0"}
    assert (await client.post(f"/subscribers/{made.id}/enabled", data=company_off)).status_code == 303
    disabled = await subscriber(relay, "Bakkerij Lommel")
    assert disabled is not None and not disabled.enabled
    stranger = {**off, "address": "security@metaalwerken-vos.example"}
    assert (await client.post(f"/subscribers/{made.id}/enabled", data=stranger)).status_code == 400
    actions = [e.action for e in await entries(relay, "console.subscriber_disable")]
    assert actions == ["console.subscriber_disable"] * 2
    assert [e.via for e in await entries(relay, "subscriber_enabled")] == ["web"]


async def test_moderators_see_but_do_not_change(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await moderator(relay, client)
    url, page = await vos_page(client)
    assert f'action="{url}"' not in page and "/subscribers/new" not in (await client.get("/subscribers")).text
    data = {"csrf": csrf_of((await client.get("/console")).text), "enabled": "0"}
    assert (await client.post(f"{url}/enabled", data=data)).status_code == 403
    assert (
        await client.post("/subscribers/new", data={**data, "company": "X", "addresses": GOOD})
    ).status_code == 403
    vos = await subscriber(relay, VOS)
    assert vos is not None and vos.enabled


async def test_another_networks_account_gets_403(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    vos = await subscriber(relay, VOS)
    assert vos is not None
    await moderator(relay, client, login=OTHER, network="mol", role=AccountRole.COORDINATOR)
    assert VOS not in (await client.get("/subscribers")).text
    assert (await client.get(f"/subscribers/{vos.id}")).status_code == 403
    data = {"csrf": csrf_of((await client.get("/console")).text), "enabled": "0"}
    assert (await client.post(f"/subscribers/{vos.id}/enabled", data=data)).status_code == 403
    assert (await client.get("/subscribers/999999")).status_code == 404


async def test_import_previews_every_bad_line_then_applies(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    csrf = csrf_of((await client.get("/subscribers/import")).text)
    files = {"file": ("leden.csv", CSV.encode(), "text/csv")}
    assert (await client.post("/subscribers/import", data={"csrf": "x"}, files=files)).status_code == 403
    preview = await client.post("/subscribers/import", data={"csrf": csrf}, files=files)
    assert preview.status_code == 200
    refused = preview.text.split('id="import-refused"')[1].split("</div>")[0]
    assert "regel 3: ongeldig adres" in refused and "breedte- en lengtegraad" in refused
    assert "regel 4: onbekende zone &#39;atlantis&#39;" in refused
    assert "line 2: new subscriber Bakkerij Lommel" in preview.text and "1 nieuw" in preview.text
    assert await subscriber(relay, "Bakkerij Lommel") is None  # a preview applies nothing

    text = re.search(r'name="text" value="([^"]*)"', preview.text)
    assert text and "Kapot BV" in text.group(1)
    done = await client.post(
        "/subscribers/import/confirm", data={"csrf": csrf, "text": CSV}, files={"x": ("", b"")}
    )
    assert done.status_code == 200 and "Toegepast" in done.text and "2 regel(s) geweigerd" in done.text
    assert (
        await subscriber(relay, "Bakkerij Lommel") is not None and await subscriber(relay, "Kapot BV") is None
    )
    [logged] = await entries(relay, "console.subscribers_import")
    assert logged.actor == COORDINATOR and logged.detail["created"] == 1 and logged.detail["refused"] == 2

    pasted = await client.post("/subscribers/import", data={"csrf": csrf, "text": "company\nX\n"})
    assert pasted.status_code == 200 and "ontbrekende kolom(men) addresses" in pasted.text
    latin = {"file": ("oud.csv", "company,addresses\nCafé,a@b.example\n".encode("latin-1"), "text/csv")}
    assert (await client.post("/subscribers/import", data={"csrf": csrf}, files=latin)).status_code == 400
    empty = await client.post("/subscribers/import/confirm", data={"csrf": csrf, "text": " "})
    assert empty.status_code == 400 and "niets opgeladen" in empty.text


async def test_an_upload_may_be_larger_than_other_requests(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    """``max_request_bytes`` (8 KiB here) bounds other requests; the import's route takes 8 MiB."""
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    csrf = csrf_of((await client.get("/subscribers/import")).text)
    lines = [f"Bedrijf {n:04d},info{n}@bedrijf{n}.example,51.23,5.31" for n in range(400)]
    text = "company,addresses,latitude,longitude\n" + "\n".join(lines) + "\n"
    assert len(text.encode()) > 2 * relay.settings.http.max_request_bytes
    files = {"file": ("groot.csv", text.encode(), "text/csv")}
    preview = await client.post("/subscribers/import", data={"csrf": csrf}, files=files)
    assert preview.status_code == 200 and "400 nieuw" in preview.text
    other = await client.post("/subscribers/new", data={"csrf": csrf, "company": "X", "street": text})
    assert other.status_code == 413
