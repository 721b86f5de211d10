"""The report page's map data, live recipient count and original attachments over real HTTP (SQLite
and PostgreSQL): the zones as GeoJSON, the count the distribution would reach for the zones and groups
ticked, the photo as received shown to the report's own network only and every view audited."""

from __future__ import annotations

import httpx

from save_relay.app import Relay
from save_relay.store.recipients import recipients_query
from tests.e2e.test_console_reports import OTHER, client, moderator, settings  # noqa: F401
from tests.e2e.test_report_flow import post_report
from tests.helpers import camera_jpeg

ALWAYS = ["politie-ploegen"]  # the test network's default_groups


async def selected(relay: Relay, zones: list[str], groups: list[str]) -> int:
    network_id = relay.ctx.networks["industrie"].id
    async with relay.sessions() as session:
        return len((await session.execute(recipients_query(network_id, zones, groups))).all())


async def test_zones_as_geojson_and_the_live_count(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    reference = await post_report(relay)
    assert (await client.get("/zones.geojson")).status_code == 303  # not logged in: to the login page
    await moderator(relay, client)
    zones = await client.get("/zones.geojson")
    assert zones.status_code == 200 and zones.headers["content-type"] == "application/geo+json"
    features = zones.json()["features"]
    slugs = [f["properties"]["slug"] for f in features]
    assert set(slugs) >= {"lommel", "maatheide", "kolonel-dusart"}
    assert slugs[0] == "lommel"  # the largest first: a click lands on the smallest zone
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in features)

    async def count(**query: list[str]) -> int:
        answer = await client.get(f"/reports/{reference}/count", params=query)
        assert answer.status_code == 200
        return int(answer.text)

    whole, one = await count(zones=["lommel"]), await count(zones=["maatheide"])
    assert whole == await selected(relay, ["lommel"], ALWAYS) and whole > one > 0
    assert one == await selected(relay, ["maatheide"], ALWAYS)
    both = await count(zones=["maatheide"], groups=["transport"])
    assert both == await selected(relay, ["maatheide"], ["transport", *ALWAYS]) and both > one
    # the network's default group always counts (a distribution always goes to it)
    assert await count() == await selected(relay, [], ALWAYS) > 0
    assert 'value="politie-ploegen" checked disabled' in (await client.get(f"/reports/{reference}")).text
    page = await client.get(f"/reports/{reference}")
    assert 'id="zone-map"' in page.text and 'hx-get="/reports/' in page.text
    assert 'data-tiles=""' in page.text and "img-src" not in page.headers["content-security-policy"]


async def test_original_photo_shown_and_audited(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    photo = camera_jpeg()
    reference = await post_report(relay, attachment=("poort.jpg", photo))
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    assert f'<img src="/reports/{reference}/attachments/1"' in page.text and "poort.jpg" in page.text
    shown = await client.get(f"/reports/{reference}/attachments/1")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.content == photo  # as received, EXIF and all: the evidence, not the cleaned copy
    assert (await client.get(f"/reports/{reference}/attachments/2")).status_code == 404
    history = (await client.get(f"/reports/{reference}")).text
    assert "console.attachment_view by " in history


async def test_another_network_sees_neither_count_nor_photo(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    reference = await post_report(relay, attachment=("poort.jpg", camera_jpeg()))
    await moderator(relay, client, login=OTHER, network="mol")
    assert (await client.get(f"/reports/{reference}/attachments/1")).status_code == 403
    assert (await client.get(f"/reports/{reference}/count", params={"zones": "lommel"})).status_code == 403
    assert (await client.get("/zones.geojson")).json()["features"] == []
