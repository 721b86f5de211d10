"""A webhook receiver on a free loopback port: a small asyncio HTTP/1.1 server (no framework) that
records each POST, verifies its signature with the reference ``standardwebhooks`` library, and answers
with the statuses a test lines up (then 200)."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"control-room-key-of-32-bytes-ok!").decode()
REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


@dataclass
class Posted:
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = SECRET
    answers: list[int] = field(default_factory=list)  # statuses to answer first, in order; then 200
    posted: list[Posted] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/save-relay"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.answers.pop(0) if self.answers else 200
            self.posted.append(Posted(headers, body, self.verify(body, headers), status))
            reason = REASONS.get(status, "Whatever")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def webhook(receiver: Receiver, name: str = "meldkamer", **extra: object) -> dict[str, object]:
    """A ``[[networks.X.webhooks]]`` entry pointing at ``receiver``."""
    return {"name": name, "url": receiver.url, "secret": receiver.secret, **extra}
