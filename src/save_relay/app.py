"""Wiring: one Relay holds the engine, the services and the servers, and hands them down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncEngine

from save_relay.config import Settings
from save_relay.context import Context
from save_relay.db import create_engine, session_factory
from save_relay.delivery.transport import MaildirTransport, SmtpTransport, Transport
from save_relay.delivery.worker import OutboundWorker
from save_relay.intake.service import Intake
from save_relay.intake.smtp import RelayHandler, server_tls_context, start_server
from save_relay.migrate import upgrade
from save_relay.processing import Processor
from save_relay.store.networks import sync_networks

log = logging.getLogger(__name__)


def make_transports(settings: Settings) -> list[Transport]:
    conf = settings.outbound
    if conf.mode == "maildir":
        outbox = MaildirTransport(conf.maildir)
        return [outbox] * conf.connections
    return [SmtpTransport(conf, settings.smtp.hostname) for _ in range(conf.connections)]


class Relay:
    """The daemon: intake servers, the processor and the outbound worker in one event loop."""

    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings.database.url, pool_size=settings.database.pool_size)
        self.sessions = session_factory(self.engine)
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.ctx: Context | None = None
        self.processor: Processor | None = None
        self.worker: OutboundWorker | None = None

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade(self.engine)
        async with self.sessions() as session, session.begin():
            networks = await sync_networks(session, self.settings)
        self.ctx = ctx = Context(self.settings, networks)
        self.worker = worker = OutboundWorker(
            ctx, self.sessions, make_transports(self.settings), unsubscribe_url=None
        )
        self.processor = processor = Processor(ctx, self.sessions, on_processed=worker.wake)
        intake = Intake(self.settings, self.sessions, networks, on_stored=processor.wake)
        conf = self.settings.smtp
        if conf.enabled:
            handler = RelayHandler(intake, conf.max_recipients)
            self._servers.append(
                await start_server(
                    handler,
                    host=conf.host,
                    port=conf.port,
                    hostname=conf.hostname,
                    max_message_size=conf.max_message_size,
                    timeout=conf.timeout,
                    tls=server_tls_context(conf.tls_cert_file, conf.tls_key_file)
                    if conf.tls_cert_file and conf.tls_key_file
                    else None,
                    require_starttls=conf.require_starttls,
                )
            )
        self._tasks = [
            asyncio.create_task(processor.run(), name="processor"),
            asyncio.create_task(worker.run(), name="outbound"),
        ]
        log.info("save-relay started: %s", ", ".join(self.listening()), extra={"action": "started"})

    def listening(self) -> list[str]:
        out = []
        for server in self._servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                out.append(f"smtp://{host}:{port}")
        return out

    @property
    def smtp_port(self) -> int:
        return int(self._servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        if self.worker is not None:
            await self.worker.close()
        await self.engine.dispose()


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    relay = Relay(settings)
    try:
        await relay.start()
    except BaseException:
        await relay.stop()
        raise
    outbound = settings.outbound
    log.info(
        "listening on %s; outbound %s",
        ", ".join(relay.listening()) or "(no listener)",
        f"to {outbound.maildir}/new"
        if outbound.mode == "maildir"
        else f"via {outbound.smarthost_host}:{outbound.smarthost_port}",
        extra={"action": "serving"},
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping", extra={"action": "stopping"})
        await relay.stop()
