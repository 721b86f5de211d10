"""The HTTP server on loopback (uvicorn serving a small app with save-relay's middleware): strict limits,
timeouts, security headers and error pages, never a traceback. Raw sockets, so every byte is ours."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from save_relay.web.application import make_app
from save_relay.web.server import HttpServer


async def echo(request: Request) -> Response:
    body = await request.body()
    return PlainTextResponse(f"{request.method} {request.url.path} {body!r}")


async def boom(request: Request) -> Response:
    raise RuntimeError("secret internals")


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    app = make_app(
        [Route("/boom", boom), Route("/{path:path}", echo, methods=["GET", "POST"])],
        max_bytes=1024,
        timeout=0.5,
    )
    http = HttpServer(app, timeout=0.5, max_bytes=1024)
    await http.start("127.0.0.1", 0)
    yield http
    await http.stop()


async def exchange(server: HttpServer, data: bytes, *, close: bool = True) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    await writer.drain()
    if close:
        writer.write_eof()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return status, answer


def head_of(answer: bytes) -> str:
    return answer.split(b"\r\n\r\n")[0].decode().lower()


async def test_a_request_and_its_answer(server: HttpServer) -> None:
    assert server.port > 0  # port 0 picked a free one, readable at once
    status, answer = await exchange(
        server, b"POST /a%20b?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert status == 200 and answer.endswith(b"POST /a b b'hello'")
    head = head_of(answer)
    assert "x-content-type-options: nosniff" in head and "referrer-policy: no-referrer" in head
    assert "content-security-policy: default-src 'self';" in head and "frame-ancestors 'none'" in head
    assert "x-frame-options: deny" in head and "cache-control: no-store" in head
    assert "server:" not in head  # no advertising


async def test_head_has_no_body(server: HttpServer) -> None:
    status, answer = await exchange(server, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and answer.endswith(b"\r\n\r\n")


async def test_a_chunked_body_within_the_limit_is_read(server: HttpServer) -> None:
    """The old listener refused chunked bodies (411); uvicorn reads them, under the same size limit."""
    status, answer = await exchange(
        server, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    assert status == 200 and answer.endswith(b"b'hello'")


CHUNK = b"400\r\n" + b"a" * 1024 + b"\r\n"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        # the head over max_bytes, in one piece (RequestLimits) or trickled (h11's buffer: uvicorn's 400)
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 2000 + b"\r\n\r\n", 431),
        # the body over max_bytes, announced or chunked (Starlette's max_body_size)
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNK + CHUNK, 413),
        (b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"GET / SPDY/3\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        # absolute-form is valid HTTP (RFC 9112 3.2.2); it names no route of ours
        (b"GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ],
)
async def test_bad_requests_get_a_status(server: HttpServer, data: bytes, status: int) -> None:
    assert (await exchange(server, data))[0] == status


async def test_a_head_sent_in_pieces_stops_at_max_bytes(server: HttpServer) -> None:
    """h11 buffers no more than max_bytes of an unfinished head: uvicorn answers 400 and closes at once
    (the answer may be lost to the reset of a connection closed with unread data; it never waits for
    the 408 of the head's deadline)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    answer = b""
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):
            writer.write(b"X-Filler: " + b"a" * 500 + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)
        answer = await asyncio.wait_for(reader.read(), 0.4)  # before the head's deadline (0.5 s)
    except ConnectionError:
        pass
    finally:
        writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 "), answer[:100]


async def test_error_pages_are_short_pages(server: HttpServer) -> None:
    status, answer = await exchange(
        server, b"DELETE / HTTP/1.1\r\nHost: x\r\nAccept-Language: fr-BE, fr;q=0.9\r\n\r\n"
    )
    assert status == 405 and '<html lang="fr">' in answer.decode()
    assert "allow: " in head_of(answer) and "cache-control: no-store" in head_of(answer)


async def test_a_slow_head_times_out(server: HttpServer) -> None:
    status, _ = await exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n", close=False)
    assert status == 408


async def test_a_slow_body_times_out(server: HttpServer) -> None:
    status, answer = await exchange(
        server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort", close=False
    )
    assert status == 408 and "x-content-type-options: nosniff" in head_of(answer)


async def test_a_silent_connection_is_closed(server: HttpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed after the timeout, no answer
    writer.close()


async def test_a_client_that_leaves_mid_body_is_no_error(
    server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        status, _ = await exchange(
            server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort", close=True
        )
        await asyncio.sleep(0.1)
    assert status == 0  # it hung up: nobody to answer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_handler_errors_are_500_without_details(
    server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    status, answer = await exchange(server, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 500 and b"secret" not in answer and b"Traceback" not in answer
    assert "content-security-policy:" in head_of(answer)  # headers on Starlette's own 500 too
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)


async def test_stop_closes_the_port(server: HttpServer) -> None:
    port = server.port
    await server.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
