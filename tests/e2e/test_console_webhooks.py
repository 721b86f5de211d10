"""The console's webhooks page over real HTTP (SQLite and PostgreSQL): admins only (moderators and
coordinators get 403 and no menu entry), add with the same checks as the CLI, the secret shown once in
the answer and never again, disable and rotate, CSRF, audit without the secret, another network's
admin gets 403."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.core.webhook_settings import secret_key
from save_relay.store import webhook_endpoints
from save_relay.store.tables import WebhookEndpointRow
from tests.e2e.console_support import COORDINATOR, OTHER, entries, log_in_as, two_networks
from tests.e2e.test_console_reports import base_url, client, csrf_of  # noqa: F401
from tests.helpers import Sink

ADMIN = "beheer@politie.lommel.be"
URL = "https://meldkamer.securitas.example/hooks/save-relay"


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    return two_networks(db_url, sink, tmp_path)


async def endpoint(relay: Relay, name: str) -> WebhookEndpointRow:
    assert relay.ctx is not None
    async with relay.sessions() as session:
        row = await webhook_endpoints.by_name(session, relay.ctx.networks["industrie"].id, name)
    assert row is not None
    return row


def shown_secret(page: str) -> str:
    found = re.search(r'<code id="secret-value"[^>]*>(whsec_[^<]+)</code>', page)
    assert found, page
    return found.group(1)


async def test_only_admins_and_the_secret_once(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    for role, login in (
        (AccountRole.MODERATOR, "inspecteur.peeters@politie.lommel.be"),
        (AccountRole.COORDINATOR, COORDINATOR),
    ):
        async with httpx.AsyncClient(base_url=base_url(relay), timeout=20) as other:
            await log_in_as(relay, other, role, login)
            console = await other.get("/console")
            assert 'href="/webhooks"' not in console.text
            assert (await other.get("/webhooks")).status_code == 403
            data = {"csrf": csrf_of(console.text), "name": "x", "url": URL}
            assert (await other.post("/webhooks", data=data)).status_code == 403

    await log_in_as(relay, client, AccountRole.ADMIN, ADMIN)
    page = await client.get("/webhooks")
    assert page.status_code == 200 and 'href="/webhooks"' in page.text and "Nog geen webhooks." in page.text
    csrf = csrf_of(page.text)
    form = {"name": "securitas", "organisation": "Securitas", "url": URL, "events": "report.approved"}
    assert (await client.post("/webhooks", data={**form, "csrf": ""})).status_code == 403

    refused = await client.post("/webhooks", data={**form, "csrf": csrf, "url": "http://meldkamer.example/"})
    assert refused.status_code == 400 and "De URL moet met https:// beginnen" in refused.text
    assert 'value="securitas"' in refused.text  # the form keeps what was typed
    unknown_zone = await client.post("/webhooks", data={**form, "csrf": csrf, "zones": "atlantis"})
    assert unknown_zone.status_code == 400 and "Onbekende zone" in unknown_zone.text

    added = await client.post(
        "/webhooks", data={**form, "csrf": csrf, "zones": ["maatheide", "kristal-park"]}
    )
    assert added.status_code == 200 and "maar één keer getoond" in added.text
    assert "no-store" in added.headers["cache-control"]
    first = shown_secret(added.text)
    row = await endpoint(relay, "securitas")
    assert row.secret == first and len(secret_key(first)) == 32  # what the worker signs with
    assert row.events == ["report.approved"] and row.zones == ["kristal-park", "maatheide"]
    again = await client.get("/webhooks")
    assert first not in again.text and "whsec_" not in again.text  # never shown again
    assert 'id="webhook-securitas"' in again.text and "Securitas" in again.text
    taken = await client.post("/webhooks", data={**form, "csrf": csrf})
    assert taken.status_code == 400 and "Die naam bestaat al" in taken.text

    off = await client.post(f"/webhooks/{row.id}/enabled", data={"csrf": csrf, "enabled": "0"})
    assert off.status_code == 303 and not (await endpoint(relay, "securitas")).enabled
    assert "uitgeschakeld" in (await client.get("/webhooks")).text

    rotated = await client.post(f"/webhooks/{row.id}/rotate", data={"csrf": csrf})
    second = shown_secret(rotated.text)
    assert second != first and (await endpoint(relay, "securitas")).secret == second
    assert (await client.post(f"/webhooks/{row.id}/rotate", data={"csrf": "x"})).status_code == 403
    assert (await client.post("/webhooks/999999/rotate", data={"csrf": csrf})).status_code == 404

    async with httpx.AsyncClient(base_url=base_url(relay), timeout=20) as mol:
        await log_in_as(relay, mol, AccountRole.ADMIN, OTHER, network="mol")
        mol_csrf = csrf_of((await mol.get("/webhooks")).text)
        assert "securitas" not in (await mol.get("/webhooks")).text
        assert (await mol.post(f"/webhooks/{row.id}/rotate", data={"csrf": mol_csrf})).status_code == 403
        assert (await mol.post(f"/webhooks/{row.id}/enabled", data={"csrf": mol_csrf})).status_code == 403
    assert (await endpoint(relay, "securitas")).secret == second

    logged = [
        *(await entries(relay, "console.webhook_add")),
        *(await entries(relay, "console.webhook_disable")),
        *(await entries(relay, "console.webhook_rotate")),
    ]
    assert [e.actor for e in logged] == [ADMIN] * 3 and all(e.object_ref == "securitas" for e in logged)
    assert logged[0].detail["endpoint"]["url"] == URL
    assert "whsec_" not in str([e.detail for e in logged])
