"""The small HTTP server on loopback: strict limits, timeouts and error pages, never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from save_relay.web.server import HttpServer, Request, Response


async def handler(request: Request) -> Response:
    if request.path == "/boom":
        raise RuntimeError("secret internals")
    return Response(200, f"{request.method} {request.path} {request.body!r}".encode())


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    http = HttpServer(handler, timeout=0.5, max_bytes=1024)
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


async def test_a_request_and_its_answer(server: HttpServer) -> None:
    status, answer = await exchange(
        server, b"POST /a%20b?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert status == 200 and answer.endswith(b"POST /a b b'hello'")
    head = answer.split(b"\r\n\r\n")[0].decode()
    assert "Connection: close" in head and "X-Content-Type-Options: nosniff" in head
    assert "Content-Security-Policy: default-src 'none'" in head


async def test_head_has_no_body(server: HttpServer) -> None:
    status, answer = await exchange(server, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and answer.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Filler: " + b"a" * 2000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411),
        (b"DELETE / HTTP/1.1\r\n\r\n", 405),
        (b"GET / SPDY/3\r\n\r\n", 400),
        (b"GET http://evil/ HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n folded: header\r\n\r\n", 400),
        (b"GET /\xff HTTP/1.1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 400),
    ],
)
async def test_bad_requests_get_a_status(server: HttpServer, data: bytes, status: int) -> None:
    assert (await exchange(server, data))[0] == status


async def test_a_slow_client_times_out(server: HttpServer) -> None:
    status, _ = await exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n", close=False)
    assert status == 408


async def test_handler_errors_are_500_without_details(server: HttpServer) -> None:
    status, answer = await exchange(server, b"GET /boom HTTP/1.1\r\n\r\n")
    assert status == 500 and b"secret" not in answer and b"Traceback" not in answer
