"""The console's canvasses over real HTTP (SQLite and PostgreSQL): the live count of companies in a
circle, a canvass made from the form whose questions reach the sink, its results as answers come in,
the CSV only with a reason (audited), cancelling one not sent, every problem of a bad form listed,
CSRF, and another network's account refused."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.tables import Canvass
from tests.conftest import MODERATORS
from tests.e2e.canvass_support import VOS, answer, expected_near, questions, wait_status
from tests.e2e.console_support import COORDINATOR, entries, log_in_as, two_networks
from tests.e2e.test_console_reports import OTHER, client, csrf_of, moderator  # noqa: F401
from tests.helpers import Sink, wait_for

RADIUS = 600.0


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path, scheduler={"tick_seconds": 0.2})


def form(csrf: str, **changes: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "latitude": str(VOS[0]),
        "longitude": str(VOS[1]),
        "radius": str(int(RADIUS)),
        "window_from": "2026-11-21T02:00",
        "window_to": "2026-11-21T04:00",
        "send": "",
        "remind": "",
        "close": "72h",
        "owner": MODERATORS[0],
        "title": "Witte bestelwagen Balendijk",
        "question": "Hebben uw camera's een witte bestelwagen gezien?",
        **changes,
    }


async def made(client: httpx.AsyncClient, data: dict[str, str]) -> int:  # noqa: F811
    response = await client.post("/canvasses", data=data)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/canvasses/(\d+)", response.headers["location"])
    assert found
    return int(found.group(1))


async def test_count_create_results_and_csv(relay: Relay, sink: Sink, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    expected = expected_near(VOS, RADIUS)
    companies = len(set(expected.values()))
    params = {"latitude": VOS[0], "longitude": VOS[1], "radius": RADIUS}
    assert (await client.get("/canvasses/count", params=params)).text == str(companies)
    assert (await client.get("/canvasses/count", params={**params, "radius": "x"})).text == "–"
    assert (await client.get("/canvasses/count", params={**params, "latitude": 95})).text == "–"

    page = await client.get("/canvasses/new")
    assert page.status_code == 200 and 'data-pick="1"' in page.text
    assert f'<option value="{MODERATORS[0]}" selected>' in page.text  # a coordinator is no moderator
    data = form(csrf_of(page.text))
    assert (await client.post("/canvasses", data={**data, "csrf": "x"})).status_code == 403
    canvass_id = await made(client, data)
    await wait_status(relay, "open", canvass_id)
    sent = await wait_for(lambda: (q := questions(sink, canvass_id)) and len(q) == len(expected) and q)
    assert {m.rcpt_tos[0] for m in sent} == set(expected)
    [created] = await entries(relay, "console.canvass_create")
    assert created.actor == COORDINATOR and created.detail["recipients"] == len(expected)
    async with relay.sessions() as session:
        row = await session.get(Canvass, canvass_id)
        assert row is not None and row.owner == MODERATORS[0] and row.created_via == "web"

    listing = await client.get("/canvasses")
    assert f'<a href="/canvasses/{canvass_id}">Witte bestelwagen Balendijk</a>' in listing.text
    first = next(m for m in sent if m.rcpt_tos[0] == "security@metaalwerken-vos.example")
    await answer(relay, first, "Ja, camera 2 om 02:41.")

    async def answered() -> str | None:
        text = (await client.get(f"/canvasses/{canvass_id}")).text
        return text if "camera 2 om 02:41" in text else None

    shown = await wait_for(answered, timeout=20)
    assert "Metaalwerken Vos NV" in shown and "Nog geen antwoord" in shown
    silent = shown.split("Nog geen antwoord")[1]
    assert "Metaalwerken Vos NV" not in silent and silent.count("<li>") == companies - 1
    assert len(await entries(relay, "console.canvass_results")) >= 1  # every view

    refused = await client.get(f"/canvasses/{canvass_id}/results.csv")
    assert refused.status_code == 400
    download = await client.get(f"/canvasses/{canvass_id}/results.csv", params={"reason": "PV 2026/117"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == companies and {r["answered"] for r in rows} == {"yes", "no"}
    [disclosed] = await entries(relay, "disclosed")
    assert (disclosed.actor, disclosed.via, disclosed.detail["reason"]) == (COORDINATOR, "web", "PV 2026/117")
    assert disclosed.detail["client"] == "127.0.0.1" and disclosed.object_ref == f"canvass-{canvass_id}"


async def test_problems_are_listed_and_a_scheduled_one_cancelled(
    relay: Relay,
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    await moderator(relay, client)
    csrf = csrf_of((await client.get("/canvasses/new")).text)
    bad = await client.post("/canvasses", data=form(csrf, question=" ", close="soon", radius="0"))
    assert bad.status_code == 400
    problems = bad.text.split('id="problems"')[1].split("</div>")[0]
    assert (
        "de vraag ontbreekt" in problems
        and "close: geen duur" in problems
        and "radius: de straal" in problems
    )
    assert 'value="Witte bestelwagen Balendijk"' in bad.text  # the form as it was filled in
    nobody = await client.post("/canvasses", data=form(csrf, owner="boef@example.com"))
    assert nobody.status_code == 400

    later = await made(client, form(csrf, send="2099-01-01T08:00", close="2099-01-04 08:00"))
    page = await client.get(f"/canvasses/{later}")
    assert "ingepland" in page.text and f'action="/canvasses/{later}/cancel"' in page.text
    assert (await client.post(f"/canvasses/{later}/cancel", data={"csrf": ""})).status_code == 403
    assert (await client.post(f"/canvasses/{later}/cancel", data={"csrf": csrf})).status_code == 303
    await wait_status(relay, "cancelled", later)
    again = await client.post(f"/canvasses/{later}/cancel", data={"csrf": csrf})
    assert again.status_code == 409 and "kan niet meer geannuleerd worden" in again.text


async def test_another_networks_account_gets_403(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await moderator(relay, client)
    csrf = csrf_of((await client.get("/canvasses/new")).text)
    canvass_id = await made(client, form(csrf, send="2099-01-01T08:00", close="2099-01-04 08:00"))
    client.cookies.clear()
    await moderator(relay, client, login=OTHER, network="mol")
    assert "Witte bestelwagen" not in (await client.get("/canvasses")).text
    assert (await client.get(f"/canvasses/{canvass_id}")).status_code == 403
    params = {"reason": "nieuwsgierig"}
    assert (await client.get(f"/canvasses/{canvass_id}/results.csv", params=params)).status_code == 403
    other_csrf = csrf_of((await client.get("/console")).text)
    assert (
        await client.post(f"/canvasses/{canvass_id}/cancel", data={"csrf": other_csrf})
    ).status_code == 403
    assert (await client.get("/canvasses/999999")).status_code == 404
    assert await entries(relay, "disclosed") == []
