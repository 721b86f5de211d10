"""The coordinator pages in a real browser: a canvass made by clicking its spot on the map (the live
count of companies follows, its questions reach the sink, its results show an answer), a subscriber CSV
import whose preview shows the bad line before anything is applied, and axe-core on each new page
with no serious or critical violation. Screenshots as in test_console.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from tests.browser.conftest import PHONE, Browser
from tests.browser.test_console import assert_clean, keep
from tests.browser.test_console_reports import moderator_logged_in
from tests.conftest import make_settings
from tests.e2e.canvass_support import answer, expected_near, questions
from tests.e2e.test_console_subscribers import subscriber
from tests.helpers import Sink, wait_for
from tests.web_support import base_url

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
FIELD = "document.querySelector('form.canvass input[name=%s]').value"


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return make_settings(db_url, sink.port, tmp_path, scheduler={"tick_seconds": 0.2})


async def coordinator_logged_in(relay: Relay, browser: Browser) -> None:
    await moderator_logged_in(relay, browser, AccountRole.COORDINATOR)


@sqlite_only
async def test_canvass_on_the_map(relay: Relay, sink: Sink, browser: Browser, tmp_path: Path) -> None:
    await coordinator_logged_in(relay, browser)
    await browser.open(f"{base_url(relay)}/canvasses/new")
    assert await browser.wait_for("Number(document.getElementById('area-map').dataset.zones || 0)") == 7
    await browser.run("document.getElementById('radius').value = '2000';")
    await browser.click("#area-map")  # the spot: the middle of the map
    await browser.wait_for(f"{FIELD % 'latitude'} !== ''")
    point = (
        float(await browser.run(f"return {FIELD % 'latitude'};")),
        float(await browser.run(f"return {FIELD % 'longitude'};")),
    )
    assert 51.1 < point[0] < 51.4 and 5.1 < point[1] < 5.5
    radius = float(await browser.run(f"return {FIELD % 'radius'};"))
    expected = expected_near(point, radius)
    companies = len(set(expected.values()))
    assert companies > 1
    await browser.wait_for(f"document.getElementById('company-count').textContent.trim() === '{companies}'")
    assert await browser.run("return document.querySelectorAll('#area-map path.spot').length;") == 1
    await browser.type("#title", "Witte bestelwagen")
    await browser.type("#question", "Hebben uw camera's vannacht een witte bestelwagen gezien?")
    await assert_clean(browser)
    await browser.run("document.querySelector('form.canvass fieldset').scrollIntoView();")
    await keep(browser, tmp_path, "console-canvass-map")

    await browser.click("#canvass-create")
    await browser.wait_for("/^\\/canvasses\\/\\d+$/.test(location.pathname)")
    canvass_id = int((await browser.run("return location.pathname;")).rsplit("/", 1)[1])
    sent = await wait_for(
        lambda: (q := questions(sink, canvass_id)) and len(q) == len(expected) and q, timeout=30
    )
    assert {m.rcpt_tos[0] for m in sent} == set(expected)
    await answer(relay, sent[0], "Ja, camera 2 zag om 02:41 een witte bestelwagen.")

    async def shown() -> bool:
        await browser.open(f"{base_url(relay)}/canvasses/{canvass_id}")
        return "camera 2 zag om 02:41" in await browser.text("main")

    await wait_for(shown, timeout=30, interval=0.5)
    assert "Nog geen antwoord" in await browser.text("main")
    await assert_clean(browser)
    await browser.run("document.getElementById('results-title').scrollIntoView();")
    await keep(browser, tmp_path, "console-canvass-results")
    await browser.call(browser.driver.set_window_size, *PHONE)
    assert await browser.run("return document.documentElement.scrollWidth <= window.innerWidth;")


@sqlite_only
async def test_import_preview_shows_the_bad_line(relay: Relay, browser: Browser, tmp_path: Path) -> None:
    await coordinator_logged_in(relay, browser)
    await browser.open(f"{base_url(relay)}/subscribers/import")
    await assert_clean(browser)
    csv_text = (
        "company,addresses,latitude,longitude\n"
        "Bakkerij Lommel,winkel@bakkerij.example,51.23,5.31\n"
        "Kapot BV,geen-adres,51.23,5.31\n"
    )
    await browser.type("#csv-text", csv_text)
    await browser.click("#import-preview")
    await browser.wait_for("document.getElementById('import-refused') !== null")
    refused = await browser.text("#import-refused")
    assert "regel 3: ongeldig adres 'geen-adres'" in refused
    assert await subscriber(relay, "Bakkerij Lommel") is None
    await assert_clean(browser)
    await keep(browser, tmp_path, "console-import-preview")
    await browser.click("#import-confirm")
    await browser.wait_for("document.body.textContent.includes('Toegepast')")
    assert await subscriber(relay, "Bakkerij Lommel") is not None
    assert await subscriber(relay, "Kapot BV") is None


@sqlite_only
async def test_every_new_page_passes_axe(relay: Relay, browser: Browser, tmp_path: Path) -> None:
    await coordinator_logged_in(relay, browser)
    base = base_url(relay)
    vos = await subscriber(relay, "Metaalwerken Vos NV")
    assert vos is not None
    for path, title in (
        ("/subscribers", "Abonnees"),
        ("/subscribers?q=vos", "Abonnees"),
        (f"/subscribers/{vos.id}", "Metaalwerken Vos NV"),
        ("/subscribers/new", "Abonnee toevoegen"),
        ("/zones", "Zones"),
        ("/canvasses", "Buurtonderzoeken"),
        ("/canvasses/new", "Nieuw buurtonderzoek"),
        ("/audit", "Auditlog"),
        ("/audit?verify=1", "Auditlog"),
    ):
        await browser.open(base + path)
        assert await browser.title() == f"{title} · SaVE Lommel", path
        if "zone-map" in await browser.run("return document.body.innerHTML;"):
            await browser.wait_for("Number(document.getElementById('area-map').dataset.zones || 0) > 0")
        await assert_clean(browser)
        await browser.call(browser.driver.set_window_size, *PHONE)
        assert await browser.run("return document.documentElement.scrollWidth <= window.innerWidth;"), path
        await browser.call(browser.driver.set_window_size, 1280, 900)
    await browser.open(base + "/zones")
    await browser.wait_for("Number(document.getElementById('area-map').dataset.zones || 0) > 0")
    await keep(browser, tmp_path, "console-zones")


@sqlite_only
async def test_an_admin_adds_a_webhook_and_sees_its_secret_once(
    relay: Relay, browser: Browser, tmp_path: Path
) -> None:
    await moderator_logged_in(relay, browser, AccountRole.ADMIN)
    base = base_url(relay)
    await browser.click("a[href='/webhooks']")  # in an admin's menu
    await browser.wait_for("location.pathname === '/webhooks'")
    assert await browser.title() == "Webhooks · SaVE Lommel"
    await assert_clean(browser)
    await browser.type("#name", "meldkamer-securitas")
    await browser.type("#organisation", "Securitas")
    await browser.type("#url", "https://meldkamer.securitas.example/hooks/save-relay")
    await browser.click("input[name=events][value='report.approved']")
    await browser.click("form[action='/webhooks'] button[type=submit]")
    await browser.wait_for("document.getElementById('secret-value') !== null")
    secret = await browser.text("#secret-value")
    assert secret.startswith("whsec_")
    await assert_clean(browser)
    await browser.call(browser.driver.set_window_size, *PHONE)
    assert await browser.run("return document.documentElement.scrollWidth <= window.innerWidth;")
    await browser.call(browser.driver.set_window_size, 1280, 900)
    await keep(browser, tmp_path, "console-webhooks")
    await browser.open(base + "/webhooks")
    assert "meldkamer-securitas" in await browser.text("main")
    assert secret not in await browser.run("return document.documentElement.outerHTML;")  # once only


async def test_zones_for_a_canvass_and_the_confirmation_pages(relay: Relay, browser: Browser) -> None:
    """The live count follows a ticked zone (htmx sends the checkboxes); the removal and pruning
    confirmations pass axe-core."""
    await coordinator_logged_in(relay, browser)
    await browser.open(f"{base_url(relay)}/canvasses/new")
    await browser.run(
        "document.getElementById('latitude').value = ''; document.getElementById('longitude').value = '';"
    )
    await browser.click("#zone-maatheide")
    await browser.wait_for("/^[0-9]+$/.test(document.getElementById('company-count').textContent.trim())")
    await assert_clean(browser)

    found = await subscriber(relay, "Metaalwerken Vos NV")
    assert found is not None
    await browser.open(f"{base_url(relay)}/subscribers/{found.id}")
    await browser.click("#remove-company")
    await browser.wait_for("document.getElementById('remove-confirm') !== null")
    assert "Metaalwerken Vos NV" in await browser.text("#remove-what")
    await assert_clean(browser)
    assert await subscriber(relay, "Metaalwerken Vos NV") is not None  # asking removed nothing

    await browser.open(f"{base_url(relay)}/zones")
    text = '{"type": "FeatureCollection", "features": []}'
    await browser.type("#geojson-text", text)
    await browser.click("#prune")
    await browser.click("#zones-apply")
    await browser.wait_for("document.getElementById('prune-preview') !== null")
    assert "kristal-park" in await browser.text("#prune-removed")
    await assert_clean(browser)
