"""uvicorn in the daemon's own event loop: ``HttpServer`` binds, serves an ASGI app as a task, stops.

The daemon owns the process's signals (``app.serve``), so uvicorn must not install its own handlers
(``_Server.capture_signals``); its access log is off, because unsubscribe URLs carry tokens. Limits:

- the request line and headers must arrive within ``timeout`` seconds of the connection, or of the
  previous response on a kept-alive connection (``_Protocol``: 408, then close; a connection that sent
  nothing is just closed), and fit ``max_bytes`` (h11 buffers no more of a head that comes in pieces:
  uvicorn's plain 400; ``limits.RequestLimits`` answers 431 for a whole one);
- the body must fit ``max_bytes`` too (Starlette's ``max_body_size``: 413) and arrive within ``timeout``
  of the head (``limits.RequestLimits``: 408); both are set by ``application.make_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

#: uvicorn answers 503 beyond this many connections and requests in progress.
MAX_CONCURRENCY = 256
#: seconds a kept-alive connection may idle between requests.
KEEP_ALIVE_SECONDS = 5
#: seconds ``stop`` waits for requests in progress before closing their connections.
GRACE_SECONDS = 5.0
STARTUP_SECONDS = 10.0

_TIMEOUT_BODY = b"408 Request Timeout\n"
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n"
    b"cache-control: no-store\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class _Config(uvicorn.Config):
    """uvicorn's settings, plus the deadline for a request's head (read by ``_Protocol``)."""

    def __init__(self, app: ASGIApp, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.head_timeout = head_timeout


def _no_delay(transport: asyncio.Transport) -> None:
    """Send each write at once (``TCP_NODELAY``). asyncio sets it only on sockets made with
    ``proto=IPPROTO_TCP``, and ``socket.create_server`` makes them with 0: without it, Nagle held a
    response's body until the client acknowledged its head, which a client delays by up to 40 ms (every
    small page and static file took 44 ms on loopback)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's line and headers (no slow loris).

    uvicorn itself closes idle kept-alive connections but lets a client trickle a request's head forever.
    The timer is armed when the connection opens and after each response; it is harmless once a request
    is in progress (its body has ``limits.RequestLimits``)."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._head_timeout = config.head_timeout if isinstance(config, _Config) else 10.0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self._head_timeout, self._head_expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        in_progress = self.cycle is not None and not self.cycle.response_complete
        if self.transport.is_closing() or in_progress:
            return
        started = self.conn.their_state is not h11.IDLE or bool(self.conn.trailing_data[0])
        if started:  # part of a request arrived: tell the client why we close
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone (the daemon stops it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPv6 when ``host`` is an IPv6 address); binding errors surface here."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=128)
    sock.setblocking(False)
    return sock


class HttpServer:
    """Serves ``app`` on ``host:port`` (0: a free port, then read ``port``)."""

    def __init__(self, app: ASGIApp, *, timeout: float, max_bytes: int) -> None:
        self.app = app
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._port = 0

    async def start(self, host: str, port: int) -> None:
        quiet = logging.getLogger("uvicorn.error")  # its start/stop lines repeat the daemon's own
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
        self._socket = sock = _bind(host, port)
        self._port = int(sock.getsockname()[1])
        config = _Config(
            self.app,
            head_timeout=self.timeout,
            http=_Protocol,
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,  # URLs carry unsubscribe tokens
            server_header=False,
            limit_concurrency=MAX_CONCURRENCY,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=round(GRACE_SECONDS),
            h11_max_incomplete_event_size=self.max_bytes,
        )
        self._server = server = _Server(config)
        self._task = task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("the HTTP server stopped while starting")
            if loop.time() > deadline:
                raise RuntimeError("the HTTP server did not start")
            await asyncio.sleep(0.01)

    @property
    def serving(self) -> bool:
        """The server task runs (started, not stopped nor crashed)."""
        return self._task is not None and not self._task.done()

    @property
    def port(self) -> int:
        """The bound port (the free one chosen for port 0)."""
        return self._port

    async def stop(self) -> None:
        """Stop accepting, let requests in progress finish (up to ``GRACE_SECONDS``), close."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), GRACE_SECONDS + 2)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        except Exception:
            log.exception("the HTTP server failed while stopping", extra={"action": "http_stop_failed"})
        finally:
            if self._socket is not None:
                self._socket.close()
