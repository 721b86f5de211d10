"""The console's side of SMS (issue 21) over real HTTP: mobile numbers on the subscriber form, refused
in the coordinator's language; the urgent checkbox of the report page; its SMS and receipts shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.sms_settings import SmsSettings
from save_relay.core.states import AccountRole
from save_relay.membership.subscribers import import_csv
from save_relay.store.tables import Account
from tests.conftest import make_settings
from tests.e2e.console_support import COORDINATOR, log_in_as
from tests.e2e.test_console_reports import MODERATOR, client, csrf_of  # noqa: F401
from tests.e2e.test_console_subscribers import subscriber
from tests.e2e.test_report_flow import notification_for, post_report
from tests.helpers import Sink, wait_for
from tests.smsc_support import Smsc


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    server = await Smsc().start()
    yield server
    await server.stop()


@pytest.fixture
def settings(db_url: str, sink: Sink, tmp_path: Path, smsc: Smsc) -> Settings:
    settings = make_settings(db_url, sink.port, tmp_path)
    settings.networks["industrie"].sms = SmsSettings.model_validate(smsc.settings())
    return settings


async def test_numbers_on_the_subscriber_form(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    await log_in_as(relay, client, AccountRole.COORDINATOR)
    form = await client.get("/subscribers/new")
    assert 'name="sms"' in form.text and "Gsm-nummers voor dringende sms" in form.text
    data = {"csrf": csrf_of(form.text), "company": "Bakkerij Lommel", "addresses": "winkel@bakkerij.example"}
    bad = await client.post("/subscribers/new", data={**data, "sms": "0470 66 66 66, 0470 12"})
    assert bad.status_code == 400 and "Ongeldig gsm-nummer „0470 12”: dat nummer bestaat niet" in bad.text
    assert await subscriber(relay, "Bakkerij Lommel") is None
    added = await client.post("/subscribers/new", data={**data, "sms": "0470 66 66 66, +31 6 12345678"})
    assert added.status_code == 303
    page = await client.get(added.headers["location"])
    assert 'value="+32470666666, +31612345678"' in page.text

    async with relay.sessions() as session, session.begin():  # the coordinator reads French
        await session.execute(update(Account).where(Account.login == COORDINATOR).values(language="fr"))
    edit = {"csrf": csrf_of(page.text), "contact": "", "street": "", "latitude": "", "longitude": ""}
    refused = await client.post(added.headers["location"], data={**edit, "sms": "011 12 34 56"})
    assert refused.status_code == 400
    assert "Numéro GSM « 011 12 34 56 » invalide : ce n&#39;est pas un numéro de GSM" in refused.text
    cleared = await client.post(added.headers["location"], data={**edit, "sms": ""})
    assert cleared.status_code == 303
    assert 'name="sms" value=""' in (await client.get(added.headers["location"])).text


async def test_the_urgent_checkbox_texts_and_the_page_shows_receipts(
    relay: Relay,
    sink: Sink,
    client: httpx.AsyncClient,  # noqa: F811
    smsc: Smsc,
) -> None:
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        text = "company,addresses,sms\nMetaalwerken Vos NV,security@metaalwerken-vos.example,0470 11 11 11\n"
        assert not (await import_csv(session, relay.ctx.networks["industrie"].id, text)).errors
    reference = await post_report(relay)
    await notification_for(sink, MODERATOR, reference)
    await log_in_as(relay, client, AccountRole.MODERATOR, MODERATOR)
    page = await client.get(f"/reports/{reference}")
    assert 'name="urgent"' in page.text and "Dringend: ook per sms" in page.text
    data = {"csrf": csrf_of(page.text), "action": "approve", "zones": "kolonel-dusart", "urgent": "1"}
    data["sms_text"] = "Let op: wit busje"
    assert (await client.post(f"/reports/{reference}", data=data)).status_code == 303
    await wait_for(lambda: smsc.texts("+32470111111"), timeout=20)

    async def receipt_shown() -> str | None:
        shown = (await client.get(f"/reports/{reference}")).text
        return shown if "DELIVRD" in shown else None

    shown = await wait_for(receipt_shown, timeout=10)
    assert smsc.texts("+32470111111") == [f"{reference}: Let op: wit busje"]
    assert "Ontvangstbevestiging" in shown and "+32470111111" in shown and "<td>sent</td>" in shown
