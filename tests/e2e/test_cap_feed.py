"""The Atom feed of a network's CAP alerts over real HTTP (issue 21): anonymous visitors get only what
may be public (a TLP:CLEAR report), the network's own console sessions get every approved report (a
Restricted alert unless CLEAR), other networks' accounts get nothing of it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from save_relay.app import Relay
from tests.e2e.test_cap import XSD, approved
from tests.e2e.test_console_reports import OTHER, client, moderator, settings  # noqa: F401

ATOM = {"a": "http://www.w3.org/2005/Atom"}
CAP = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def entries(answer: httpx.Response) -> list[ET.Element]:
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/atom+xml"
    root = ET.fromstring(answer.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed" and root.findtext("a:id", namespaces=ATOM)
    return root.findall("a:entry", ATOM)


async def test_anonymous_get_an_empty_feed_members_get_every_alert(
    relay: Relay,
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    reference = await approved(relay, ["maatheide"])
    assert entries(await client.get("/cap/industrie.atom")) == []  # TLP:AMBER (the default): not public
    assert (await client.get(f"/cap/industrie/{reference}.xml")).status_code == 404
    assert (await client.get("/cap/nergens.atom")).status_code == 404

    await moderator(relay, client)
    answer = await client.get("/cap/industrie.atom")
    [entry] = entries(answer)
    assert answer.headers["cache-control"] == "private, no-store"
    assert entry.findtext("a:id", namespaces=ATOM) == f"urn:save-relay:politie.lommel.be:{reference}"
    assert entry.find("a:category", ATOM).get("term") == "Restricted"  # type: ignore[union-attr]
    link = entry.find("a:link", ATOM)
    assert link is not None and link.get("type") == "application/cap+xml"
    cap = await client.get(link.get("href", "").removeprefix(str(client.base_url)))
    assert cap.status_code == 200 and cap.headers["content-type"] == "application/cap+xml"
    XSD.validate(cap.text)
    assert ET.fromstring(cap.content).findtext("cap:scope", namespaces=CAP) == "Restricted"


async def test_another_networks_account_sees_nothing_of_it(
    relay: Relay,
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    reference = await approved(relay, ["maatheide"])
    await moderator(relay, client, login=OTHER, network="mol")
    assert entries(await client.get("/cap/industrie.atom")) == []
    assert (await client.get(f"/cap/industrie/{reference}.xml")).status_code == 404
    assert entries(await client.get("/cap/mol.atom")) == []


async def test_a_report_that_may_be_public_is_in_the_public_feed(
    relay: Relay,
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    # the reporter labels it TLP:CLEAR in the subject (a stricter network default gives way to it)
    reference = await approved(relay, ["maatheide"], subject="[TLP:CLEAR] Verdachte witte bestelwagen")
    answer = await client.get("/cap/industrie.atom")
    [entry] = entries(answer)
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert entry.find("a:category", ATOM).get("term") == "Public"  # type: ignore[union-attr]
    cap = await client.get(f"/cap/industrie/{reference}.xml")
    XSD.validate(cap.text)
    root = ET.fromstring(cap.content)
    assert (
        root.findtext("cap:scope", namespaces=CAP) == "Public" and root.find("cap:restriction", CAP) is None
    )
