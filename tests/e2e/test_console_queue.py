"""The console's queue over real HTTP (SQLite and PostgreSQL): filters by zone, category and period
besides the status, and a bulk rejection with one reason (CSRF, deciders only, each report through
moderation/decide and audited; a report decided meanwhile is refused without undoing the others)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from save_relay.app import Relay
from save_relay.core.clock import as_utc
from save_relay.core.states import AccountRole
from save_relay.store import reports
from save_relay.store.reports import by_reference, status_counts
from tests.e2e.test_console_reports import OTHER, client, csrf_of, moderator, settings  # noqa: F401
from tests.e2e.test_delivery import announced
from tests.e2e.test_report_flow import NETWORK, _distribution_count, post_report
from tests.helpers import report_message, smtp_send

MAATHEIDE = "security@zinkrecyclage-maatheide.example"


async def post_from(relay: Relay, sender: str, subject: str, body: str) -> str:
    message = report_message(sender=sender, subject=subject, body=body)
    code, text = await smtp_send(relay.smtp_port, sender, [NETWORK], message)
    assert code == 250, text
    found = re.search(r"SAVE-\d{4}-\d{6}", text)
    assert found, text
    return found.group(0)


def listed(page: str) -> set[str]:
    return set(re.findall(r'<a href="/reports/(SAVE-\d{4}-\d{6})">', page))


async def test_filters_by_zone_category_and_period(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    van = await post_report(relay)
    copper = await post_from(relay, MAATHEIDE, "Koperdiefstal", "Vannacht is de koperkabel gestolen.\n")
    await announced(relay, van)  # the processor sets zones and category then (later under load)
    await announced(relay, copper)
    await moderator(relay, client)
    async with relay.sessions() as session:
        first, second = await by_reference(session, van), await by_reference(session, copper)
    assert first.zones != second.zones and second.category == "copper-theft" != first.category
    assert listed((await client.get("/reports")).text) == {van, copper}

    zone = second.zones[0]
    assert listed((await client.get("/reports", params={"zone": zone})).text) == {copper}
    assert listed((await client.get("/reports", params={"zone": first.zones[0]})).text) == {van}
    by_category = await client.get("/reports", params={"category": "copper-theft"})
    assert listed(by_category.text) == {copper}
    assert '<option value="copper-theft" selected>koperdiefstal</option>' in by_category.text
    assert listed((await client.get("/reports", params={"category": first.category})).text) == {van}

    # the day the reports were received on the network's clock (not "now": a run across its midnight)
    today = as_utc(first.received_at).astimezone(ZoneInfo("Europe/Brussels")).date()
    day = timedelta(days=1)
    assert listed((await client.get("/reports", params={"from": today, "to": today})).text) == {van, copper}
    assert listed((await client.get("/reports", params={"from": today + day})).text) == set()
    assert listed((await client.get("/reports", params={"to": today - day})).text) == set()
    # filters combine with the status; a bad date or an unknown category is left out, not a 500
    both = {"zone": zone, "category": "copper-theft", "status": "rejected"}
    assert listed((await client.get("/reports", params=both)).text) == set()
    odd = await client.get("/reports", params={"from": "gisteren", "category": "<script>"})
    assert odd.status_code == 200 and listed(odd.text) == {van, copper}


async def test_bulk_reject_with_one_reason(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    one, two, three = [await post_report(relay) for _ in range(3)]
    await moderator(relay, client)
    queue = await client.get("/reports")
    assert 'action="/reports/reject"' in queue.text and "te beoordelen (3)" in queue.text
    assert relay.ctx is not None
    async with relay.sessions() as session:  # each status counted up to a cap ("2+" here)
        network_id = relay.ctx.networks["industrie"].id
        assert await status_counts(session, network_id, cap=2) == {"pending": 2}
        assert await status_counts(session, network_id) == {"pending": 3}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reports, "COUNT_CAP", 2)
        assert "te beoordelen (2+)" in (await client.get("/reports")).text
    data = {"csrf": csrf_of(queue.text), "references": [one, two], "reason": "dubbele melding"}
    assert (await client.post("/reports/reject", data={**data, "csrf": "x"})).status_code == 403
    assert (await client.post("/reports/reject", data={**data, "reason": " "})).status_code == 400
    done = await client.post("/reports/reject", data=data)
    assert done.status_code == 200 and f"{one}, {two}" in done.text and 'id="bulk-refused"' not in done.text
    async with relay.sessions() as session:
        for reference in (one, two):
            report = await by_reference(session, reference)
            assert report.status == "rejected" and report.reason == "dubbele melding"
        assert (await by_reference(session, three)).status == "pending"
    assert await _distribution_count(relay) == 0
    shown = (await client.get(f"/reports/{one}")).text
    assert "console.reject by " in shown and "report_rejected by " in shown
    # one already decided (here: rejected above) is refused and named; the other goes through
    again = await client.post("/reports/reject", data={**data, "references": [one, three]})
    assert again.status_code == 200 and 'id="bulk-refused"' in again.text and one in again.text
    async with relay.sessions() as session:
        assert (await by_reference(session, three)).status == "rejected"
    assert listed((await client.get("/reports")).text) == set()


async def test_bulk_reject_refused_to_others(relay: Relay, client: httpx.AsyncClient) -> None:  # noqa: F811
    reference = await post_report(relay)
    await moderator(relay, client, login="coord@politie.lommel.be", role=AccountRole.COORDINATOR)
    queue = await client.get("/reports")
    assert 'action="/reports/reject"' not in queue.text  # a coordinator sees the queue, no checkboxes
    csrf = csrf_of((await client.get("/console")).text)  # the logout form's
    data = {"csrf": csrf, "references": [reference], "reason": "x"}
    assert (await client.post("/reports/reject", data=data)).status_code == 403
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=20) as other:
        await moderator(relay, other, login=OTHER, network="mol")
        page = await other.get("/console")
        refused = await other.post("/reports/reject", data={**data, "csrf": csrf_of(page.text)})
        assert refused.status_code == 200 and f"{reference}: 403" in refused.text
    async with relay.sessions() as session:
        assert (await by_reference(session, reference)).status == "pending"
