"""Editing a report's text in the console before approving (SQLite and PostgreSQL): the edit is what
subscribers get (invariant 7 through moderation/decide's edit path, the one a mail reply's ``edit``
uses), audited as edited; an untouched text (CRLF from a browser) sends the preview; an emptied text
is refused."""

from __future__ import annotations

import html
import re

import httpx

from save_relay.app import Relay
from save_relay.store.reports import by_reference
from tests.e2e.canvass_support import text_of
from tests.e2e.console_support import entries
from tests.e2e.test_console_reports import client, csrf_of, moderator, settings  # noqa: F401
from tests.e2e.test_one_click import quiet
from tests.e2e.test_report_flow import distributed, post_report
from tests.helpers import Sink, wait_for

EDITED = "Witte bestelwagen gezien aan de Balendijk om 02:40.\nNummerplaat onbekend."


def shown(page: str) -> str:
    found = re.search(r'<textarea id="edit-text" name="text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))


async def test_the_edit_is_what_goes_out(relay: Relay, sink: Sink, client: httpx.AsyncClient) -> None:  # noqa: F811
    reference = await post_report(relay)
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    preview = shown(page.text)
    assert "witte bestelwagen" in preview
    data = {"csrf": csrf_of(page.text), "action": "approve", "zones": "maatheide", "shown": preview}
    assert (await client.post(f"/reports/{reference}", data={**data, "text": "  \r\n"})).status_code == 400
    done = await client.post(f"/reports/{reference}", data={**data, "text": EDITED.replace("\n", "\r\n")})
    assert done.status_code == 303
    mails = await wait_for(lambda: distributed(sink, reference))
    await quiet(relay)
    texts = [text_of(m).replace("\r\n", "\n") for m in mails]
    assert all(EDITED in text and "witte bestelwagen" not in text for text in texts)
    async with relay.sessions() as session:
        assert (await by_reference(session, reference)).edited_text == EDITED + "\n"
    [approved] = await entries(relay, "report_approved")
    [console] = await entries(relay, "console.approve")
    assert approved.detail["edited"] is True and console.detail["edited"] is True
    assert EDITED in (await client.get(f"/reports/{reference}")).text  # the page shows what went out


async def test_an_untouched_text_sends_the_preview(
    relay: Relay,
    sink: Sink,
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    reference = await post_report(relay)
    await moderator(relay, client)
    page = await client.get(f"/reports/{reference}")
    preview = shown(page.text)
    browser_text = preview.replace("\n", "\r\n")
    data = {"csrf": csrf_of(page.text), "action": "approve", "zones": "maatheide", "shown": preview}
    assert (
        await client.post(f"/reports/{reference}", data={**data, "text": browser_text})
    ).status_code == 303
    await wait_for(lambda: distributed(sink, reference))
    await quiet(relay)
    async with relay.sessions() as session:
        assert (await by_reference(session, reference)).edited_text is None
    [approved] = await entries(relay, "report_approved")
    assert approved.detail["edited"] is False
