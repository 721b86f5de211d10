"""References per network (issue 15): each prefix its own counter, atomic under concurrent intake, and
references made before migration 0016 stay valid; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from save_relay.core.clock import utcnow
from save_relay.store.db import create_engine, session_factory
from save_relay.store.inbound import Envelope, NewMessage, store_messages
from save_relay.store.references import take_numbers
from save_relay.store.tables import Base, InboundMessage
from tests.e2e.test_migration_lat_cell import _migrate, _run


def _add_networks(connection: Connection) -> list[int]:
    return [
        connection.execute(
            text("INSERT INTO networks (slug, address, name) VALUES (:s, :a, :s) RETURNING id"),
            {"s": slug, "a": f"{slug}@example.org"},
        ).scalar_one()
        for slug in ("save", "mol")
    ]


def _post(network_id: int, prefix: str) -> NewMessage:
    raw = f"Subject: {prefix}\r\n\r\nreport\r\n".encode()
    return NewMessage(network_id, "post", None, raw, Envelope("a@example.com", "x@example.org"), prefix)


async def test_two_networks_count_apart(db_url: str) -> None:
    save, mol = await _run(db_url, _add_networks)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    year = utcnow().year
    try:
        async with sessions.begin() as session:
            lot = [_post(save, "SAVE"), _post(mol, "MOL"), _post(save, "SAVE")]
            first = await store_messages(session, lot)
        async with sessions.begin() as session:
            second = await store_messages(session, [_post(mol, "MOL")])
    finally:
        await engine.dispose()
    assert [ref for _, ref in first + second] == [
        f"SAVE-{year}-000001",
        f"MOL-{year}-000001",
        f"SAVE-{year}-000002",
        f"MOL-{year}-000002",
    ]


async def test_concurrent_transactions_never_share_a_number(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)

    async def take(count: int) -> list[int]:
        async with sessions.begin() as session:
            numbers = list(await take_numbers(session, "SAVE", 2026, count))
            await asyncio.sleep(0.01)  # hold the transaction open while the others try
            return numbers

    try:
        results = await asyncio.gather(*(take(1 + k % 3) for k in range(12)))
    finally:
        await engine.dispose()
    taken = sorted(n for numbers in results for n in numbers)
    assert taken == list(range(1, sum(1 + k % 3 for k in range(12)) + 1))
    assert all(numbers == list(range(numbers[0], numbers[-1] + 1)) for numbers in results)


#: ``reports`` as migration 0010 left it, as far as this test writes it: not the model of today, whose
#: later columns (and their defaults) the old schema does not have
REPORTS_AT_0010 = sa.table(
    "reports",
    *(sa.column(name) for name in ("id", "network_id", "inbound_id", "reference", "status", "sender_name")),
    *(sa.column(name) for name in ("subject", "category", "category_source", "incident_source")),
    *(sa.column(name) for name in ("place_label", "place_source")),
    sa.column("zones", sa.JSON),
    sa.column("groups", sa.JSON),
    sa.column("preview_removed", sa.JSON),
    sa.column("credit", sa.Boolean),
    sa.column("exercise", sa.Boolean),
    sa.column("received_at", sa.DateTime(timezone=True)),
)
REPORT_DEFAULTS_AT_0010 = {
    "status": "pending",
    "sender_name": "",
    "subject": "",
    "category": "other",
    "category_source": "suggested",
    "incident_source": "received",
    "place_label": "",
    "place_source": "none",
    "zones": [],
    "groups": [],
    "preview_removed": [],
    "credit": False,
    "exercise": False,
}


def _old_reports(connection: Connection) -> None:
    save, mol = _add_networks(connection)
    for report_id, (network, reference) in enumerate(
        [(save, "SAVE-2026-000026"), (mol, "MOL-2026-000027"), (save, "SAVE-2026-000028")], start=1
    ):
        inbound = connection.execute(
            insert(InboundMessage).returning(InboundMessage.id),
            {
                "network_id": network,
                "purpose": "post",
                "raw": b"x",
                "sha256": "x",
                "size": 1,
                "mail_from": "",
                "rcpt_to": "",
                "status": "done",
            },
        ).scalar_one()
        connection.execute(
            insert(REPORTS_AT_0010),
            {
                **REPORT_DEFAULTS_AT_0010,
                "id": report_id + 100,
                "network_id": network,
                "inbound_id": inbound,
                "reference": reference,
                "received_at": utcnow(),
            },
        )


def _counters(connection: Connection) -> set[tuple[str, int, int]]:
    rows = connection.execute(text("SELECT prefix, year, last_value FROM reference_counters"))
    return {(p, y, v) for p, y, v in rows}


async def test_old_references_stay_valid_and_are_never_repeated(db_url: str) -> None:
    await _run(db_url, _migrate("downgrade", "0010"))
    await _run(db_url, _old_reports)
    await _run(db_url, _migrate("upgrade", "head"))
    assert await _run(db_url, _counters) == {("SAVE", 2026, 28), ("MOL", 2026, 27)}
    engine = create_engine(db_url)
    try:
        async with session_factory(engine).begin() as session:
            assert list(await take_numbers(session, "MOL", 2026, 1)) == [28]
            assert list(await take_numbers(session, "SAVE", 2026, 2)) == [29, 30]
            refs = (await session.execute(text("SELECT reference FROM reports ORDER BY id"))).scalars()
            assert all(re.fullmatch(r"(SAVE|MOL)-2026-0000\d\d", r) for r in refs)
    finally:
        await engine.dispose()


async def test_the_migration_matches_the_model(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    assert [d for d in await _run(db_url, diff) if "reference_counters" in repr(d)] == []
