"""Wiring: one Relay holds the engine, the services and the servers, and hands them down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket

from sqlalchemy.ext.asyncio import AsyncEngine

from save_relay import __version__, routes
from save_relay.channels.smsworker import SmsWorker
from save_relay.channels.worker import WebhookWorker
from save_relay.core.clock import utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.logs import mask_url_passwords
from save_relay.core.settings import Settings
from save_relay.delivery.transport import MaildirTransport, SmtpTransport, Transport
from save_relay.delivery.worker import OutboundWorker
from save_relay.intake.imap import ImapPoller
from save_relay.intake.limits import IntakeLimits
from save_relay.intake.lmtp import LmtpListener, start_lmtp
from save_relay.intake.service import Intake
from save_relay.intake.smtp import RelayHandler, server_tls_context, start_server
from save_relay.processing.processor import Processor
from save_relay.processing.scheduler import Scheduler
from save_relay.store.db import WriteGate, create_engine, is_sqlite, session_factory
from save_relay.store.health import ping
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks
from save_relay.store.nodes import NodeInfo, beat, stopped
from save_relay.store.stats import fill_local_times
from save_relay.web.application import build_app, build_ops_app
from save_relay.web.deps import Check, Deps
from save_relay.web.server import HttpServer

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0
READY_DATABASE_SECONDS = 2.0  # /readyz: the database must answer within this


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
        self.write_gate = WriteGate(
            enabled=is_sqlite(self.engine)
        )  # the intake, processor and worker queue here
        # The intake's commits and the processor's batches take turns on PostgreSQL too (on SQLite the
        # write gate does it): see ``Processor`` ("Turns with the intake").
        self.turns = self.write_gate if is_sqlite(self.engine) else WriteGate(enabled=True)
        self.intake: Intake | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.ctx: Context | None = None
        self.processor: Processor | None = None
        self.worker: OutboundWorker | None = None
        self.webhooks: WebhookWorker | None = None
        self.sms: SmsWorker | None = None
        self.lmtp: LmtpListener | None = None
        self.imap_pollers: list[ImapPoller] = []
        self.http: HttpServer | None = None
        self.ops: HttpServer | None = None  # [metrics]: /metrics, /healthz, /readyz
        self.scheduler: Scheduler | None = None
        self._started_at = utcnow()
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade(self.engine)
        async with self.sessions() as session, session.begin():
            networks = await sync_networks(session, self.settings)
        await self._fill_local_times(networks)
        self.ctx = ctx = Context(self.settings, networks)
        unsubscribe_url = await self._start_http(ctx)
        self.worker = worker = OutboundWorker(
            ctx,
            self.sessions,
            make_transports(self.settings),
            unsubscribe_url=unsubscribe_url,
            write_gate=self.write_gate,
        )
        self.processor = processor = Processor(
            ctx, self.sessions, routes.HANDLERS, on_processed=self._wake_senders, write_gate=self.turns
        )
        self.intake = intake = Intake(
            self.settings,
            self.sessions,
            networks,
            on_stored=processor.wake,
            write_gate=self.turns,
            metrics=ctx.metrics,
        )
        processor.give_way_to = intake.busy  # intake first during a burst (Processor._give_way)
        conf = self.settings.smtp
        if conf.enabled:
            limits = IntakeLimits(
                max_connections_per_ip=conf.max_connections_per_ip,
                max_messages_per_hour=conf.max_messages_per_sender_per_hour,
                exempt=conf.rate_limit_exempt,
            )
            handler = RelayHandler(intake, conf.max_recipients, limits=limits)
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
        await worker.take_back_own_leases()  # a killed process of this node held them: send them now
        self._tasks = [
            asyncio.create_task(processor.run(), name="processor"),
            asyncio.create_task(worker.run(), name="outbound"),
        ]
        # always: endpoints are also added at run time (CLI, console); its claim is one indexed query
        self.webhooks = WebhookWorker(ctx, self.sessions, write_gate=self.write_gate)
        self._tasks.append(asyncio.create_task(self.webhooks.run(), name="webhooks"))
        if any(n.settings.sms is not None for n in networks.values()):  # SMS of urgent distributions
            self.sms = SmsWorker(ctx, self.sessions, write_gate=self.write_gate)
            self._tasks.append(asyncio.create_task(self.sms.run(), name="sms"))
        if self.settings.scheduler.enabled:  # canvasses, reminders, expiry, retries: claimed from the db

            def wake_workers() -> None:
                worker.wake()
                if self.webhooks is not None:
                    self.webhooks.wake()
                if self.sms is not None:
                    self.sms.wake()

            self.scheduler = Scheduler(
                ctx, self.sessions, self.settings.scheduler, jobs=routes.JOBS, on_work=wake_workers
            )
            self.scheduler.start()
        await self._start_lmtp_and_imap(intake)
        await self.beat()  # seen at once by `save-relay status`, then every status.heartbeat_seconds
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="heartbeat")
        outbound = self.settings.outbound
        log.info(
            "save-relay started: %s; outbound %s",
            ", ".join(self.listening()) or "(no listener)",
            f"to {outbound.maildir}/new"
            if outbound.mode == "maildir"
            else f"via {outbound.smarthost_host}:{outbound.smarthost_port}",
            extra={"action": "started"},
        )
        if unsubscribe_url is not None and not unsubscribe_url.startswith("https://"):
            # Mail programs offer one-click unsubscribes over https only, and the console's cookie is
            # only marked Secure under https: say so once, once the daemon runs.
            log.warning(
                "http.public_url is not https (%s): one-click unsubscribe links are mailed without TLS "
                "and the console's session cookie is not Secure; put a TLS proxy in front and set "
                "public_url to its https:// address",
                unsubscribe_url.removesuffix("/unsubscribe"),
                extra={"action": "public_url_not_https"},
            )

    def _wake_senders(self) -> None:
        """What a processed message queued goes out at once: mail, and the SMS of an urgent approval."""
        if self.worker is not None:
            self.worker.wake()
        if self.sms is not None:
            self.sms.wake()

    async def _fill_local_times(self, networks: dict[str, NetworkRef]) -> None:
        """Reports' weekday and hour on each network's clock: missing ones (from before migration 0008)
        or all of them after a change of ``timezone`` in the settings."""
        for network in networks.values():
            async with self.sessions() as session, session.begin():
                changed = await fill_local_times(session, network.id, network.settings.timezone)
            if changed:
                log.info(
                    "%s: local incident times of %d report(s) written (%s)",
                    network.key,
                    changed,
                    network.settings.timezone,
                    extra={"action": "local_times_filled", "network": network.key, "reports": changed},
                )

    async def _start_http(self, ctx: Context) -> str | None:
        """The HTTP side (uvicorn serving ``web.application``: one-click unsubscribe, /healthz, /readyz,
        the console) and the operations listener (``[metrics]``); returns the URL base for
        List-Unsubscribe (None: none).

        With the listener off but ``public_url`` set (an outbound-only node; another node serves the
        URL), the links still point there."""
        conf = self.settings.http

        def wake() -> None:
            self._wake_senders()  # the confirmation mail (and an urgent approval's SMS) go out at once

        web = Deps(ctx=ctx, sessions=self.sessions, on_change=wake, ready=self.readiness)
        ops = self.settings.metrics
        if ops.enabled:
            self.ops = HttpServer(build_ops_app(web, ops), timeout=10.0, max_bytes=8192)
            await self.ops.start(ops.host, ops.port)
        if not conf.enabled:
            return f"{conf.public_url}/unsubscribe" if conf.public_url else None
        app = build_app(web, conf)
        self.http = HttpServer(app, timeout=conf.timeout, max_bytes=conf.max_request_bytes)
        await self.http.start(conf.host, conf.port)
        host = f"[{conf.host}]" if ":" in conf.host else conf.host
        base = conf.public_url or f"http://{host}:{self.http.port}"
        return f"{base}/unsubscribe"

    async def _start_lmtp_and_imap(self, intake: Intake) -> None:
        """The LMTP listener and one IMAP poller per network with an enabled ``[networks.X.imap]``."""
        if self.settings.lmtp.enabled:
            handler = RelayHandler(intake, self.settings.smtp.max_recipients, lmtp=True)
            self.lmtp = await start_lmtp(handler, self.settings.lmtp, self.settings.smtp)
        for key, network in intake.networks.items():
            imap = network.settings.imap
            if imap is not None and imap.enabled:
                poller = ImapPoller(intake, network, imap, node=self.settings.node_name)
                self.imap_pollers.append(poller)
                self._tasks.append(asyncio.create_task(poller.run(), name=f"imap-{key}"))

    def node(self) -> NodeInfo:
        return NodeInfo(
            name=self.settings.node_name,
            pid=os.getpid(),
            hostname=socket.gethostname(),
            version=__version__,
            started_at=self._started_at,
            heartbeat_seconds=self.settings.status.heartbeat_seconds,
            listeners=self.listening(),
        )

    async def beat(self) -> None:
        """Write this node's heartbeat (table ``nodes``)."""
        async with self.write_gate(), self.sessions() as session, session.begin():
            await beat(session, self.node(), utcnow())

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.status.heartbeat_seconds)
            try:
                await self.beat()
            except Exception:  # the database is away: say so, and try again next time
                log.exception("cannot write the heartbeat", extra={"action": "heartbeat_failed"})

    async def _mark_stopped(self) -> None:
        try:
            async with self.write_gate(), self.sessions() as session, session.begin():
                await stopped(session, self.settings.node_name, os.getpid(), utcnow())
        except Exception:
            log.warning("cannot mark the node stopped", exc_info=True, extra={"action": "heartbeat_failed"})

    async def readiness(self) -> list[Check]:
        """Every part this daemon needs to do its work, checked now (``/readyz``)."""
        checks = [await self._database_check()]
        for server in self._servers:
            checks.append(
                Check("smtp", server.is_serving(), "listening" if server.is_serving() else "closed")
            )
        if self.lmtp is not None:
            serving = self.lmtp.server.is_serving()
            checks.append(Check("lmtp", serving, "listening" if serving else "closed"))
        if self.http is not None:
            checks.append(Check("http", self.http.serving, "listening" if self.http.serving else "stopped"))
        for task in [*self._tasks, self._heartbeat]:
            if task is not None:
                checks.append(_task_check(task))
        if self.scheduler is not None:
            running = self.scheduler.running
            checks.append(Check("scheduler", running, "running" if running else "stopped"))
        return checks

    async def _database_check(self) -> Check:
        try:
            async with asyncio.timeout(READY_DATABASE_SECONDS), self.sessions() as session:
                await ping(session)
        except Exception as exc:  # unreachable, refused, timed out: say which, in one line
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            return Check("database", False, mask_url_passwords(detail))
        return Check("database", True, "answers")

    def listening(self) -> list[str]:
        out = []
        for server in self._servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                out.append(f"smtp://{host}:{port}")
        if self.lmtp is not None:
            out.append(self.lmtp.address)
        out += [f"imap://{p.conf.account}/{p.conf.folder}" for p in self.imap_pollers]
        if self.http is not None:
            out.append(f"http://{self.settings.http.host}:{self.http.port}")
        if self.ops is not None:
            out.append(f"http://{self.settings.metrics.host}:{self.ops.port}/metrics")
        return out

    @property
    def smtp_port(self) -> int:
        return int(self._servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if self.scheduler is not None:
            await self.scheduler.stop()
        for server in self._servers:
            server.close()
        for loop in (self.processor, self.worker, self.webhooks, self.sms, *self.imap_pollers):
            if loop is not None:
                loop.stop()
        if self._tasks:  # let them finish what they hold; cancel only what does not end in time
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._close_listeners()
        for sender in (self.worker, self.webhooks, self.sms):
            if sender is not None:
                await sender.close()
        if heartbeat is not None:  # started: a clean stop is recorded
            await self._mark_stopped()
        await self.engine.dispose()

    async def _close_listeners(self) -> None:
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        if self.lmtp is not None:
            await self.lmtp.close()
        if self.intake is not None:  # the last queued group is committed; a DATA after this gets 451
            await self.intake.close()
        for http in (self.http, self.ops):
            if http is not None:
                await http.stop()


def _task_check(task: asyncio.Task[None]) -> Check:
    """A task of the daemon: alive, or how it ended (a worker that died leaves the daemon not ready)."""
    name = task.get_name()
    if not task.done():
        return Check(name, True, "running")
    if task.cancelled():
        return Check(name, False, "cancelled")
    exc = task.exception()
    return Check(name, False, f"died: {exc!r}"[:300] if exc else "ended")


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    relay = Relay(settings)
    try:
        await relay.start()
    except BaseException:
        await relay.stop()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping", extra={"action": "stopping"})
        await relay.stop()
