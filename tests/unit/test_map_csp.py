"""A report page with map tiles from another server: its own Content-Security-Policy allows images
from that origin only, and the security middleware keeps it (every other response keeps the strict one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from save_relay.web.application import make_app
from save_relay.web.security import CONTENT_SECURITY_POLICY, with_images_from
from save_relay.web.server import HttpServer
from tests.unit.test_http_server import exchange, head_of

TILES = "https://{s}.tile.example.org/{z}/{x}/{y}.png"


def test_images_from_the_tile_servers_origin_only() -> None:
    policy = with_images_from(TILES)
    assert policy.startswith(CONTENT_SECURITY_POLICY)
    assert policy.endswith("; img-src 'self' https://*.tile.example.org")
    assert with_images_from("https://tiles.example/{z}/{x}/{y}.png").endswith(
        "img-src 'self' https://tiles.example"
    )


async def with_map(request: Request) -> Response:
    return PlainTextResponse("map", headers={"Content-Security-Policy": with_images_from(TILES)})


async def plain(request: Request) -> Response:
    return PlainTextResponse("plain")


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    app = make_app([Route("/map", with_map), Route("/plain", plain)], max_bytes=1024, timeout=0.5)
    http = HttpServer(app, timeout=0.5, max_bytes=1024)
    await http.start("127.0.0.1", 0)
    yield http
    await http.stop()


async def test_a_pages_own_policy_is_kept(server: HttpServer) -> None:
    _, mapped = await exchange(server, b"GET /map HTTP/1.1\r\nHost: x\r\n\r\n")
    assert "img-src 'self' https://*.tile.example.org" in head_of(mapped)
    _, other = await exchange(server, b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
    assert f"content-security-policy: {CONTENT_SECURITY_POLICY}".lower() in head_of(other)
    assert "img-src" not in head_of(other)
