"""The daemon's web side over real HTTP on loopback (httpx): the landing page in three languages,
/healthz, static files, error pages, and the one-click unsubscribe posted as multipart (curl -F)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from save_relay.app import Relay
from save_relay.web.security import SECURITY_HEADERS
from tests.helpers import Sink
from tests.web_support import base_url, one_click_url, status_of


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(relay), timeout=10) as http:
        yield http


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("accept", "lang", "heading"),
    [
        (None, "nl", "Inloggen"),
        ("fr-BE,fr;q=0.9,en;q=0.8", "fr", "Se connecter"),
        ("en-GB,en;q=0.9", "en", "Log in"),
        ("de-DE,de;q=0.9", "nl", "Inloggen"),  # none of ours: Dutch
    ],
)
async def test_home_page_speaks_the_visitors_language(
    client: httpx.AsyncClient, accept: str | None, lang: str, heading: str
) -> None:
    response = await client.get("/", headers={"Accept-Language": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-language"] == lang and "Accept-Language" in response.headers["vary"]
    assert response.headers["cache-control"] == "no-store"
    assert_secure(response)
    page = response.text
    assert f'<html lang="{lang}">' in page and f"<h1>{heading}</h1>" in page
    assert "SaVE Lommel" in page  # the network's name in the header
    assert "112" in page  # not for emergencies
    assert re.search(r'<script src="/static/vendor/htmx\.org-2\.0\.11/htmx\.min\.js\?v=[0-9a-f]{12}"', page)
    assert "<style" not in page and " style=" not in page  # nothing inline: CSP default-src 'self'


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["cache-control"] == "no-store"
    assert (await client.head("/healthz")).status_code == 200


async def test_static_files_are_served_and_cached_long(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert len(links) == 3, links  # the icon, console.css and htmx
    for link in links:
        response = await client.get(link)
        assert response.status_code == 200, link
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert_secure(response)
    css = await client.get(links[1])
    assert css.headers["content-type"].startswith("text/css") and "--accent" in css.text
    for path in (
        "/static/vendor/leaflet-1.9.4/leaflet.js",
        "/static/vendor/leaflet-1.9.4/leaflet.css",
        "/static/vendor/leaflet-1.9.4/images/marker-icon.png",
        "/static/vendor/htmx.org-2.0.11/LICENSE",
    ):
        assert (await client.get(path)).status_code == 200, path
    # a 304 keeps the long cache too
    etag = (await client.get(links[1])).headers["etag"]
    again = await client.get(links[1], headers={"If-None-Match": etag})
    assert again.status_code == 304 and "immutable" in again.headers["cache-control"]


@pytest.mark.parametrize(
    "path",
    [
        "/admin",
        "/health",
        "/static/vendor/axe-core-4.14.1/axe.min.js",  # test-only, never served
        "/static/../config.py",
        "/static/%2e%2e/config.py",
        "/unsubscribe/industrie/not-a-token",
    ],
)
async def test_unknown_paths_are_404_pages(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    assert_secure(response)


async def test_one_click_as_multipart_get_wrong_token_and_oversized(
    relay: Relay, sink: Sink, client: httpx.AsyncClient
) -> None:
    url, address = await one_click_url(relay, sink)
    path = url.removeprefix(base_url(relay))
    one_click = {"List-Unsubscribe": (None, "One-Click")}  # a form field, not a file: curl -F

    # GET shows the button and changes nothing.
    page = await client.get(path)
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert await status_of(relay, address) == "active"

    # A token of another delivery, another network, a wrong body, a file part, an oversized body: refused.
    base, token = path.rsplit("/", 1)
    wrong = f"{base}/{'a' * 26}{token[26:]}"
    assert (await client.post(wrong, files=one_click)).status_code == 404
    assert (await client.post(path.replace("/industrie/", "/other/"), files=one_click)).status_code == 404
    assert (await client.post(path, files={"List-Unsubscribe": (None, "Yes")})).status_code == 400
    assert (await client.post(path, files={"unsubscribe": (None, "One-Click")})).status_code == 400
    as_file = {"List-Unsubscribe": ("one-click.txt", b"One-Click", "text/plain")}
    assert (await client.post(path, files=as_file)).status_code == 400
    padding = {"List-Unsubscribe": "One-Click", "padding": "x" * relay.settings.http.max_request_bytes}
    oversized = await client.post(path, data=padding)
    assert oversized.status_code == 413
    assert_secure(oversized)
    assert await status_of(relay, address) == "active"

    # The multipart POST RFC 8058 prefers unsubscribes at once.
    done = await client.post(path, files=one_click)
    assert done.status_code == 200 and "afgemeld" in done.text
    assert done.request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert await status_of(relay, address) == "unsubscribed"
    assert (await client.post(path, files=one_click)).status_code == 200  # idempotent


async def test_responses_are_not_held_by_nagle(relay: Relay, client: httpx.AsyncClient) -> None:
    """The server's connections send at once (TCP_NODELAY): asyncio leaves it off on sockets made by
    ``socket.create_server``, and then every small response waited for the client's delayed ACK (40 ms)."""
    import socket

    assert (await client.get("/healthz")).status_code == 200  # a kept-alive connection is open now
    assert relay.http is not None and relay.http._server is not None
    connections = relay.http._server.server_state.connections
    assert connections
    for connection in connections:
        sock = connection.transport.get_extra_info("socket")  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
