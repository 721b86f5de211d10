"""The services' problems and refusals in the account's language, over real HTTP (SQLite and PostgreSQL):
a French and a Dutch account see a subscribers CSV's bad lines, a GeoJSON file's errors and a refused
decision in their own words (the services hand codes, the console translates; the CLI stays English)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from tests.conftest import MODERATORS
from tests.e2e.console_support import log_in_as, two_networks
from tests.e2e.test_console_canvasses import form
from tests.e2e.test_console_reports import client, csrf_of  # noqa: F401
from tests.e2e.test_console_zones import collection, zone
from tests.e2e.test_report_flow import post_report
from tests.helpers import Sink

CSV = "company,addresses,latitude,longitude,zones\nKapot BV,geen-adres,51.23,,atlantis\n"
GEOJSON = collection(
    zone("Bad Slug"), zone("open-ring", [[[5.3, 51.2], [5.4, 51.2], [5.4, 51.3], [5.3, 51.25]]])
)
#: what each language says, for the CSV line, the GeoJSON file and an approval of a decided report
SAID = {
    "fr": (
        ("ligne 2 : adresse invalide « geen-adres »", "zone inconnue « atlantis »", "donnez la latitude"),
        ("objet n° 0 (« Bad Slug ») : slug invalide « Bad Slug »", "l&#39;anneau n&#39;est pas fermé"),
        "a déjà été traité par",
        ("send : ce moment est passé", "pas une distance : « x m »"),
    ),
    "nl": (
        ("regel 2: ongeldig adres &#39;geen-adres&#39;", "onbekende zone &#39;atlantis&#39;", "breedte-"),
        ("object #0 (&#39;Bad Slug&#39;): ongeldige slug &#39;Bad Slug&#39;", "de ring is niet gesloten"),
        "werd al behandeld door",
        ("send: dat tijdstip is voorbij", "geen afstand: &#39;x m&#39;"),
    ),
}


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path)


@pytest.mark.parametrize("language", ["fr", "nl"])
async def test_problems_and_refusals_in_the_accounts_language(
    relay: Relay,
    client: httpx.AsyncClient,  # noqa: F811
    language: str,
) -> None:
    csv_said, zones_said, refusal_said, canvass_said = SAID[language]
    await log_in_as(relay, client, AccountRole.COORDINATOR, language=language)
    csrf = csrf_of((await client.get("/zones")).text)
    preview = await client.post("/subscribers/import", data={"csrf": csrf, "text": CSV})
    assert preview.status_code == 200
    refused = preview.text.split('id="import-refused"')[1].split("</div>")[0]
    for words in csv_said:
        assert words in refused, refused
    assert "invalid address" not in refused  # the English of the CLI stays out
    summary = {"fr": "0 nouveau(x)", "nl": "0 nieuw"}[language]
    assert summary in preview.text and "line(s) refused" not in preview.text
    invalid = await client.post("/zones", data={"csrf": csrf, "text": GEOJSON})
    assert invalid.status_code == 400
    problems = invalid.text.split('id="problems"')[1].split("</div>")[0]
    for words in zones_said:
        assert words in problems, problems
    assert "invalid slug" not in problems
    canvass = await client.post("/canvasses", data=form(csrf, send="2020-01-01T10:00", radius="x"))
    assert canvass.status_code == 400
    for words in canvass_said:
        assert words in canvass.text, canvass.text
    assert "that time has passed" not in canvass.text

    reference = await post_report(relay)
    await client.post("/logout", data={"csrf": csrf})
    await log_in_as(relay, client, AccountRole.MODERATOR, MODERATORS[0], language=language)
    page = await client.get(f"/reports/{reference}")
    data = {"csrf": csrf_of(page.text), "action": "reject", "reason": "test"}
    assert (await client.post(f"/reports/{reference}", data=data)).status_code == 303
    again = await client.post(f"/reports/{reference}", data={**data, "action": "approve"})
    assert again.status_code == 409 and refusal_said in again.text, again.text
    assert "already decided" not in again.text
