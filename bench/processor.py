"""processor: how fast stored messages are processed after a burst (reports, canvass answers).

No SMTP here: the messages are stored as the intake stores them (``store_messages``), then one
``Processor`` drains them. Measured: wall time and CPU time (``time.process_time``) of the drain, per
message. Run: ``.venv/bin/python -m bench.processor [reports|answers] [N] [sqlite|postgresql]``; add
``--profile`` for a pyinstrument profile of the drain (pyinstrument in the venv).
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bench import generate
from bench.fanout import MODERATORS
from bench.intake import database, relay_settings, report
from save_relay import routes
from save_relay.canvass.service import create
from save_relay.canvass.spec import request_from_fields
from save_relay.canvass.steps import run_due_step
from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.core.routing import Route, resolve
from save_relay.core.settings import Settings
from save_relay.processing.gate import Actor
from save_relay.processing.processor import Processor
from save_relay.store.db import SessionFactory, WriteGate, create_engine, is_sqlite, session_factory
from save_relay.store.inbound import Envelope, NewMessage, store_messages
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Delivery

_HEADER = re.compile(rb"^(Reply-To|Message-ID): *([^\r\n]+)", re.IGNORECASE | re.MULTILINE)


def _new(settings: Settings, sender: str, rcpt: str, raw: bytes) -> NewMessage:
    route = resolve(settings, rcpt)
    assert isinstance(route, Route), route
    return NewMessage(
        network_id=0,  # set by the caller
        purpose=route.purpose.value,
        token=route.token,
        raw=raw,
        envelope=Envelope(mail_from=sender, rcpt_to=rcpt, peer="127.0.0.1"),
        reference_prefix=route.network.reference_prefix if route.purpose.value == "post" else None,
    )


def _answer(i: int, sender: str, reply_to: str, message_id: str) -> bytes:
    quote = "\r\n".join(f"> regel {n} van de vraag over de witte bestelwagen" for n in range(12))
    return (
        f"From: Contact {i} <{sender}>\r\nTo: {reply_to}\r\nSubject: Re: Buurtonderzoek\r\n"
        f"Date: Sat, 21 Nov 2026 09:14:00 +0100\r\nMessage-ID: <answer-{i}@bench.example>\r\n"
        f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Niets gezien, maar camera 3 was uit.\r\n\r\nMet vriendelijke groeten,\r\nContact {i}\r\n\r\n"
        f"Op 21-11-2026 om 08:02 schreef SaVE Lommel:\r\n{quote}\r\n"
    ).encode()


async def _answers(ctx: Context, factory: SessionFactory, n: int) -> list[NewMessage]:
    """A canvass to n subscribers, sent; one answer from each."""
    network = ctx.networks["industrie"]
    async with factory() as session, session.begin():
        await generate.load(session, network.id, n)
    fields = {"near": "51.20500, 5.30500", "radius": "1 km", "send": "now", "close": "72h"}
    tz = ZoneInfo(network.settings.timezone)
    request = request_from_fields(fields, title="", question="Iets gezien?", tz=tz, now=utcnow())
    async with factory() as session, session.begin():
        await create(session, ctx, network, request, owner=MODERATORS[0], actor=Actor("cli:bench", "cli"))
    async with factory() as session, session.begin():
        assert await run_due_step(session, ctx, utcnow())
    async with factory() as session:
        rows = (
            await session.execute(
                select(Delivery.recipient, Delivery.message).where(Delivery.kind == "canvass")
            )
        ).all()
    out = []
    for i, (address, message) in enumerate(rows):
        head = {
            k.decode().lower(): v.decode()
            for k, v in _HEADER.findall((message or b"").split(b"\r\n\r\n", 1)[0])
        }
        raw = _answer(i, address, head["reply-to"], head["message-id"])
        out.append(_new(ctx.settings, address, head["reply-to"], raw))
    return out


async def run(kind: str, n: int, db: str, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with database(db, Path(tmp)) as url:
            settings = relay_settings(url, Path(tmp), 2525)
            engine = create_engine(url)
            await upgrade(engine)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                networks = await sync_networks(session, settings)
            ctx = Context(settings, networks)
            network_id = networks["industrie"].id
            if kind == "reports":
                mails = [report(i, run_id="p") for i in range(n)]
                new = [_new(settings, s, settings.networks["industrie"].address, raw) for s, raw in mails]
            else:
                new = await _answers(ctx, sessions, n)
            new = [
                NewMessage(network_id, m.purpose, m.token, m.raw, m.envelope, m.reference_prefix) for m in new
            ]
            async with sessions() as session, session.begin():
                await store_messages(session, new)
            processor = Processor(
                ctx, sessions, routes.HANDLERS, write_gate=WriteGate(enabled=is_sqlite(url))
            )
            profiler = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                profiler.start()
            wall, cpu = time.monotonic(), time.process_time()
            done = await processor.drain()
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(unicode=False, color=False, show_all=False))
            await engine.dispose()
    print(
        f"{kind} {db}: {done} processed in {wall:.2f} s = {done / wall:.0f}/s, "
        f"CPU {1000 * cpu / done:.1f} ms per message"
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(
        run(
            args[0] if args else "reports",
            int(args[1]) if len(args) > 1 else 500,
            args[2] if len(args) > 2 else "sqlite",
            "--profile" in sys.argv,
        )
    )
