"""Shared by the adversarial tests: a relay with custom settings, a raw SMTP client, database probes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.store.tables import AuditEntry, Delivery, InboundMessage, Report
from tests.conftest import make_settings, seed_demo
from tests.helpers import Sink

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
REFERENCE = re.compile(r"SAVE-\d{4}-\d{6}")


@asynccontextmanager
async def running_relay(db_url: str, sink: Sink, tmp_path: Path, **overrides: Any) -> AsyncIterator[Relay]:
    """A relay started with ``make_settings(..., **overrides)`` and the demo network loaded."""
    relay = Relay(make_settings(db_url, sink.port, tmp_path, **overrides))
    await relay.start(migrate=False)
    try:
        await seed_demo(relay.engine, relay)
        yield relay
    finally:
        await relay.stop()


class RawClient:
    """What a client types, byte for byte; replies are read whole (multi-line too)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self, timeout: float = 10) -> str:
        lines = []
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), timeout)).decode()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "".join(lines)

    async def send(self, data: bytes) -> str:
        self.writer.write(data)
        await self.writer.drain()
        return await self.reply()

    async def closed(self, timeout: float = 10) -> bytes:
        """Everything the server still sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), timeout)

    def close(self) -> None:
        self.writer.close()


async def open_client(port: int) -> tuple[RawClient, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = RawClient(reader, writer)
    return client, await client.reply()


async def count(relay: Relay, model: type[InboundMessage] | type[Report] | type[Delivery]) -> int:
    async with relay.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def audited(relay: Relay, action: str) -> list[AuditEntry]:
    async with relay.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def all_processed(relay: Relay) -> bool:
    async with relay.sessions() as session:
        query = select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "new")
        return int(await session.scalar(query) or 0) == 0


async def all_sent(relay: Relay) -> bool:
    async with relay.sessions() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "queued")
        return int(await session.scalar(query) or 0) == 0


def reference_of(text: str) -> str:
    match = REFERENCE.search(text)
    assert match, text
    return match.group(0)
