"""A request must be small and quick: its head and body fit ``http.max_request_bytes`` each, and it
arrives within ``http.timeout`` seconds, or it gets 431, 413 or 408.

``server.py`` bounds the head while it arrives (a deadline, and h11's buffer limit for a head sent in
pieces); ``RequestLimits`` checks the whole head's size (a head that came in one piece is parsed whatever
its size) and the body's deadline; Starlette's ``max_body_size`` (``application.make_app``) the body's size.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from save_relay.web.errors import error_page


def head_size(scope: Scope) -> int:
    """The bytes of the request line and headers, as sent (within a few bytes of separators)."""
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    line = len(scope["method"]) + target + len("  HTTP/1.1\r\n?")
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"]) + 2


class RequestLimits:
    """Pure ASGI middleware: 431 for a head over ``max_head_bytes``; the body must be complete ``timeout``
    seconds after the head (else ``HTTPException(408)``, answered like any HTTP error). Once the body is
    in, ``receive`` waits without a deadline (for ``http.disconnect``, which streaming responses watch).
    """

    def __init__(self, app: ASGIApp, *, max_head_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_head_bytes = max_head_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if head_size(scope) > self.max_head_bytes:
            response = error_page(Request(scope), HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(HTTPStatus.REQUEST_TIMEOUT) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)
