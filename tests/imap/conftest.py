"""Fixtures for the IMAP intake tests: a real Dovecot per test, and pollers on a real database.

Without a ``dovecot`` binary these tests are skipped on a developer's machine (``make system-deps``
installs it) but FAIL in CI (``CI=true``), where ``scripts/install-system-deps.sh`` must have run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from save_relay.core.context import NetworkRef
from save_relay.core.settings import Settings
from save_relay.intake.imap import ImapPoller
from save_relay.intake.service import Intake
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.tables import InboundMessage
from tests.conftest import make_settings
from tests.helpers import Sink, wait_for
from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot_binary, make_root

# For tests of the IMAP protocol side only: the database behind them does not change what they show.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def dovecot_path() -> str:
    binary = dovecot_binary()
    if binary is None:
        reason = "dovecot is not installed (run `make system-deps`: Debian's dovecot-imapd)"
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            pytest.fail(f"CI must run the IMAP tests: {reason}")
        pytest.skip(reason)
    return binary


@pytest.fixture
def dovecot_factory(dovecot_path: str) -> Iterator[Callable[..., Dovecot]]:
    """Start Dovecot instances with options (cert, capabilities, users); all are killed afterwards."""
    started: list[Dovecot] = []

    def make(**options: Any) -> Dovecot:
        server = Dovecot(binary=dovecot_path, root=make_root(), **options)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.kill()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_factory: Callable[..., Dovecot]) -> Dovecot:
    """A plain (loopback, no TLS) Dovecot with IDLE, MOVE and UIDPLUS."""
    return dovecot_factory()


def imap_conf(server: Dovecot, **overrides: Any) -> dict[str, Any]:
    """``[networks.industrie.imap]`` for ``server``, with test-sized timeouts and backoff."""
    conf: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "tls": "plain",
        "user": USER,
        "password": PASSWORD,
        "timeout": 5,
        "backoff_base_seconds": 0.1,
        "backoff_max_seconds": 0.5,
        "auth_retry_seconds": 0.2,
        "poll_seconds": 0.2,
    }
    conf.update(overrides)
    return conf


def settings_with_imap(
    db_url: str, sink_port: int, tmp_path: Path, imap: dict[str, Any] | None, **overrides: Any
) -> Settings:
    base = make_settings(db_url, sink_port, tmp_path)
    network = base.networks["industrie"].model_dump(mode="json")
    network["imap"] = imap
    return make_settings(db_url, sink_port, tmp_path, networks={"industrie": network}, **overrides)


@dataclass
class Harness:
    """Pollers on one database, each run as a task; ``stop()`` cancels them all."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    networks: dict[str, NetworkRef]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stored: int = 0

    @property
    def intake(self) -> Intake:
        def count() -> None:
            self.stored += 1

        return Intake(self.settings, self.sessions, self.networks, on_stored=count)

    def poller(self, settings: Settings | None = None, **kwargs: Any) -> ImapPoller:
        settings = settings or self.settings
        network = self.networks["industrie"]
        network = NetworkRef(network.key, network.id, settings.networks["industrie"])
        conf = network.settings.imap
        assert conf is not None
        intake = Intake(settings, self.sessions, {"industrie": network})
        return ImapPoller(intake, network, conf, node="test-node", **kwargs)

    def run(self, poller: ImapPoller) -> asyncio.Task[None]:
        task = asyncio.create_task(poller.run(), name="imap-test")
        self.tasks.append(task)
        return task

    async def ready(self, poller: ImapPoller, timeout: float = 10) -> None:
        await wait_for(lambda: poller.health.state == "ready", timeout=timeout)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        self.tasks.clear()

    async def inbound(self) -> list[InboundMessage]:
        async with self.sessions() as session:
            return list(await session.scalars(select(InboundMessage).order_by(InboundMessage.id)))

    async def inbound_count(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


@pytest.fixture
async def harness(db_url: str, sink: Sink, tmp_path: Path, dovecot: Dovecot) -> AsyncIterator[Harness]:
    settings = settings_with_imap(db_url, sink.port, tmp_path, imap_conf(dovecot))
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        networks = await sync_networks(session, settings)
    harness = Harness(settings, engine, sessions, networks)
    yield harness
    await harness.stop()
    await engine.dispose()
