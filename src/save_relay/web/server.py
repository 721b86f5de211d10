"""A deliberately small HTTP/1.1 server on asyncio streams: one request per connection, then close.

Enough for a handful of endpoints behind a TLS proxy, and strict about what it reads: the request line
and headers must fit ``max_bytes``, the body too (by Content-Length; chunked bodies are refused), and
the whole request must arrive within ``timeout`` seconds. Errors are answered with a status and a short
page, never a traceback; the handler's exceptions are logged and answered 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from save_relay.core.errors import SaveRelayError

log = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST"})
SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query string
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


Handler = Callable[[Request], Awaitable[Response]]


class HttpError(SaveRelayError):
    """A request we answer with ``status`` and nothing more."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


def error_page(status: int) -> Response:
    phrase = HTTPStatus(status).phrase
    page = f"<!doctype html><title>{status} {phrase}</title><p>{status} {phrase}</p>\n"
    return Response(status, page.encode())


def _request_line(line: str) -> tuple[str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(HTTPStatus.BAD_REQUEST)
    method, target = parts[0], parts[1]
    if method not in METHODS:
        raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED)
    if not target.startswith("/"):
        raise HttpError(HTTPStatus.BAD_REQUEST)
    return method, unquote(urlsplit(target).path, errors="strict")


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[:1] in " \t":
            raise HttpError(HTTPStatus.BAD_REQUEST)  # also obsolete line folding
        key = name.lower()
        if key in headers and key in ("content-length", "host", "transfer-encoding"):
            raise HttpError(HTTPStatus.BAD_REQUEST)
        headers[key] = value.strip()
    return headers


def _length(headers: dict[str, str], room: int) -> int:
    if "transfer-encoding" in headers:
        raise HttpError(HTTPStatus.LENGTH_REQUIRED)
    value = headers.get("content-length", "0")
    if not value.isdigit():
        raise HttpError(HTTPStatus.BAD_REQUEST)
    if int(value) > room:
        raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    return int(value)


async def read_request(reader: asyncio.StreamReader, max_bytes: int) -> Request:
    """Read one request; raises HttpError for anything malformed or too large."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise HttpError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE) from exc
    except asyncio.IncompleteReadError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST) from exc
    try:
        lines = head.decode("ascii").split("\r\n")[:-2]
        method, path = _request_line(lines[0])
    except (UnicodeDecodeError, IndexError) as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST) from exc
    headers = _headers(lines[1:])
    length = _length(headers, max_bytes - len(head))
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST) from exc
    return Request(method, path, headers, body)


def encode(response: Response, *, head_only: bool = False) -> bytes:
    status = HTTPStatus(response.status)
    lines = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (*SECURITY_HEADERS, *response.headers)),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


class HttpServer:
    """Serves ``handler`` on ``host:port`` (0: a free port)."""

    def __init__(self, handler: Handler, *, timeout: float, max_bytes: int) -> None:
        self.handler = handler
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> asyncio.Server:
        self.server = await asyncio.start_server(self._serve, host=host, port=port, limit=self.max_bytes)
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        try:
            request = await asyncio.wait_for(read_request(reader, self.max_bytes), self.timeout)
        except TimeoutError:
            return error_page(HTTPStatus.REQUEST_TIMEOUT), False
        except HttpError as exc:
            return error_page(exc.status), False
        except UnicodeDecodeError:
            return error_page(HTTPStatus.BAD_REQUEST), False
        try:
            return await self.handler(request), request.method == "HEAD"
        except Exception:
            log.exception("HTTP handler failed for %s %s", request.method, request.path[:200])
            return error_page(HTTPStatus.INTERNAL_SERVER_ERROR), False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response, head_only = await self._respond(reader)
            writer.write(encode(response, head_only=head_only))
            await asyncio.wait_for(writer.drain(), self.timeout)
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), self.timeout)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
