"""An HTTP SMS gateway for the tests: a small asyncio HTTP/1.1 server on a free loopback port that
records each JSON POST and answers with the statuses a test lines up per number, then 200 with
``{"id": "gw-N", "status": "accepted"}``."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

TOKEN = "gw-token-0123456789"
REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 503: "Service Unavailable"}


@dataclass
class Posted:
    headers: dict[str, str]
    data: Any
    status: int
    message_id: str = ""  # the id answered (200 only)


@dataclass
class Gateway:
    answers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # to -> statuses first
    posted: list[Posted] = field(default_factory=list)
    server: asyncio.Server | None = None
    _count: int = 0

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1/sms"

    def settings(self, **extra: Any) -> dict[str, Any]:
        """An ``[networks.X.sms]`` section pointing here."""
        return {
            "transport": "http",
            "sender": "SaVE Lommel",
            "http": {"url": self.url, "token": TOKEN},
            **extra,
        }

    def taken(self, number: str) -> list[Posted]:
        return [p for p in self.posted if p.status == 200 and p.data.get("to") == number]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            data = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
            lined_up = self.answers.get(str(data.get("to")))
            status = lined_up.pop(0) if lined_up else 200
            body, message_id = b"", ""
            if status == 200:
                self._count += 1
                message_id = f"gw-{self._count}"
                body = json.dumps({"id": message_id, "status": "accepted"}).encode()
            self.posted.append(Posted(headers, data, status, message_id))
            writer.write(
                f"HTTP/1.1 {status} {REASONS.get(status, 'Whatever')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> Gateway:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
