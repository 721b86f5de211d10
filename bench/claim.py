"""claim: the processor's fair claim (``store.inbound.claim_new``) with a long queue and stale statistics.

A queue that is usually empty is what PostgreSQL's statistics remember until autovacuum analyses the table
again; a flood then fills it. The claim of wave 1's issue 16 was one statement joining the fair ranking
back to ``inbound_messages``; with "nothing queued" in the statistics the planner made it a nested loop
that ranked the whole queue again for every queued row. The claim now ranks in one statement and locks
the best ids by primary key in a second. Both are timed here in the same database, with the statistics
of an empty queue (``ANALYZE`` before the messages are stored) and after ``ANALYZE`` with them stored.

Run: ``.venv/bin/python -m bench.claim [--queued 1000,30000] [--runs 5]`` (PostgreSQL with
``SAVE_RELAY_BENCH_DATABASE_URL``; SQLite always); writes ``bench/results/<date>-claim.json``.
Each figure: the median of ``--runs`` claims of 50 (each rolled back, so each sees the same queue); each
run checks that both take the same messages in the same (fair) order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.intake import database, pg_url, relay_settings
from save_relay.core.routing import Route, resolve
from save_relay.core.states import InboundStatus
from save_relay.store import inbound
from save_relay.store.db import create_engine, session_factory
from save_relay.store.inbound import Envelope, NewMessage, store_messages
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks
from save_relay.store.tables import InboundMessage

LIMIT, PER_SENDER = 50, 5
RESULTS = Path(__file__).parent / "results"
Claim = Callable[[AsyncSession], Awaitable[list[int]]]


async def one_statement(session: AsyncSession) -> list[int]:
    """The claim before: the ranking joined back to the table, locked in the same statement."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
    order = inbound._fair_order(PER_SENDER)
    query = (
        select(InboundMessage, order.c.place)
        .join(order, order.c.id == InboundMessage.id)
        .where(InboundMessage.status == InboundStatus.NEW)
        .order_by(order.c.place, InboundMessage.id)
        .limit(LIMIT)
        .with_for_update(skip_locked=True, of=InboundMessage)
    )
    return [message.id for message, _ in (await session.execute(query)).all()]


async def two_statements(session: AsyncSession) -> list[int]:
    """The claim now."""
    return [claimed.message.id for claimed in await inbound.claim_new(session, LIMIT, PER_SENDER)]


async def _timed(sessions: Callable[[], AsyncSession], claim: Claim, runs: int) -> tuple[float, list[int]]:
    """The median time of ``runs`` claims (ms) and the ids the claim took, in its order."""
    times, taken = [], []
    for _ in range(runs):
        async with sessions() as session:
            await session.begin()
            started = time.perf_counter()
            taken = await claim(session)
            times.append(time.perf_counter() - started)
            await session.rollback()
    return statistics.median(times) * 1000, taken


async def measure(kind: str, queued: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        async with database(kind, Path(tmp)) as url:
            settings = relay_settings(url, Path(tmp), 2525)
            engine = create_engine(url)
            await upgrade(engine)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                networks = await sync_networks(session, settings)
            async with engine.connect() as conn:  # the statistics of an empty queue
                await conn.execute(text("ANALYZE"))
                await conn.commit()
            address = settings.networks["industrie"].address
            route = resolve(settings, address)
            assert isinstance(route, Route)
            raw = b"From: x@flood.example\r\nSubject: flood\r\n\r\n" + b"x" * 20_000
            new = [  # 9 in 10 from one flooding sender, the others from 500 senders
                NewMessage(
                    networks["industrie"].id,
                    "post",
                    None,
                    raw,
                    Envelope(
                        mail_from="flood@flood.example" if i % 10 else f"s{i % 500}@elders.example",
                        rcpt_to=address,
                        peer="127.0.0.1",
                    ),
                    route.network.reference_prefix,
                )
                for i in range(queued)
            ]
            async with sessions() as session, session.begin():
                await store_messages(session, new)
            figures: dict[str, object] = {"database": kind, "queued": queued}
            for stats in ("stale", "analysed"):
                if stats == "analysed":
                    async with engine.connect() as conn:
                        await conn.execute(text("ANALYZE"))
                        await conn.commit()
                before, before_ids = await _timed(sessions, one_statement, runs)
                now, now_ids = await _timed(sessions, two_statements, runs)
                if now_ids != before_ids or len(now_ids) != min(LIMIT, queued):  # the same fair order
                    raise AssertionError(f"the claims differ: {before_ids} != {now_ids}")
                figures[f"one_statement_{stats}_ms"] = round(before, 1)
                figures[f"two_statements_{stats}_ms"] = round(now, 1)
            await engine.dispose()
            return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--queued", default="1000,30000", help="queue lengths, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if pg_url() else [])
    rows = [await measure(kind, int(n), args.runs) for kind in kinds for n in args.queued.split(",")]
    print("database    queued  stats      one statement ms  two statements ms  ratio")
    for row in rows:
        for stats in ("stale", "analysed"):
            before, now = row[f"one_statement_{stats}_ms"], row[f"two_statements_{stats}_ms"]
            assert isinstance(before, float) and isinstance(now, float)
            print(
                f"{row['database']:<11} {row['queued']:>6}  {stats:<9} {before:>17.1f} {now:>18.1f}"
                f"  {before / now:>5.1f}x"
            )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{date.today().isoformat()}-claim.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    asyncio.run(main())
