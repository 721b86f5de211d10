"""The console's zones page over real HTTP (SQLite and PostgreSQL): every zone with its member count
(as ``zones list`` counts them) and a GeoJSON upload through membership/zones: every validation error
shown and nothing changed, a good file applied and audited; coordinators upload, moderators see."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.subscribers import zone_counts
from tests.e2e.console_support import COORDINATOR, entries, log_in_as, two_networks
from tests.e2e.test_console_reports import client, csrf_of, moderator  # noqa: F401
from tests.helpers import Sink

SQUARE = [[[5.30, 51.225], [5.32, 51.225], [5.32, 51.235], [5.30, 51.235], [5.30, 51.225]]]


def collection(*features: dict[str, object]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def zone(slug: str, coordinates: object = SQUARE, **properties: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"slug": slug, "name": slug.title(), "kind": "industrial-park", **properties},
        "geometry": {"type": "Polygon", "coordinates": coordinates},
    }


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path)


async def test_zones_with_their_members(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await moderator(relay, client)
    page = await client.get("/zones")
    assert page.status_code == 200 and 'data-geojson="/zones.geojson"' in page.text
    assert relay.ctx is not None
    async with relay.sessions() as session:
        counts = await zone_counts(session, relay.ctx.networks["industrie"].id)
    assert len(counts) == 7
    for row, count, _ in counts:
        found = re.search(rf'<tr id="zone-{row.slug}">.*?<td class="count">(\d+)</td>', page.text, re.S)
        assert found and int(found.group(1)) == count
    shown = json.loads(re.search(r'data-counts="([^"]*)"', page.text).group(1).replace("&#34;", '"'))  # type: ignore[union-attr]
    assert shown == {row.slug: count for row, count, _ in counts}
    assert 'action="/zones"' not in page.text  # moderators see, coordinators upload
    data = {"csrf": csrf_of((await client.get("/console")).text), "text": collection(zone("nieuw-park"))}
    assert (await client.post("/zones", data=data)).status_code == 403


async def test_upload_shows_every_error_then_applies(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    csrf = csrf_of((await client.get("/zones")).text)
    broken = collection(zone("Bad Slug"), zone("open-ring", [[[5.3, 51.2], [5.4, 51.2], [5.4, 51.3]]]))
    assert (await client.post("/zones", data={"csrf": "", "text": broken})).status_code == 403
    refused = await client.post("/zones", data={"csrf": csrf, "text": broken})
    assert refused.status_code == 400 and "Het bestand is niet geladen" in refused.text
    problems = refused.text.split('id="problems"')[1].split("</div>")[0]
    assert problems.count("<li>") >= 2 and "Bad Slug" in problems
    assert 'id="zone-nieuw-park"' not in refused.text
    not_json = await client.post("/zones", data={"csrf": csrf, "text": "{"})
    assert not_json.status_code == 400 and 'id="problems"' in not_json.text

    files = {"file": ("park.geojson", collection(zone("nieuw-park")).encode(), "application/geo+json")}
    done = await client.post("/zones", data={"csrf": csrf}, files=files)
    assert done.status_code == 200 and "zone nieuw-park: new" in done.text
    assert 'id="zone-nieuw-park"' in done.text
    [logged] = await entries(relay, "console.zones_import")
    assert logged.actor == COORDINATOR and logged.detail["zones"] == ["nieuw-park"]
    # the zones the file does not name are kept
    assert 'id="zone-maatheide"' in done.text
