"""The hash-chained audit log: ``audit verify`` names the first changed, removed or inserted entry (and
exits 1), passes on an untouched log and after ``privacy erase``; on SQLite and PostgreSQL, through the
command an operator runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from save_relay.app import Relay
from save_relay.membership.privacy import erase
from save_relay.store import audit
from save_relay.store.db import create_engine, session_factory
from save_relay.store.tables import AuditEntry, Base
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.e2e.test_privacy import leave_traces
from tests.e2e.test_report_flow import REPORTER
from tests.helpers import Sink


def verify_cli(db_url: str, tmp_path: Path) -> tuple[int, str]:
    data = relay_config(tmp_path)
    data["database"]["url"] = db_url
    config = write_config(tmp_path / "save-relay.toml", data)
    result = run_cli(config, "audit", "verify", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout + result.stderr


async def _append(db_url: str, count: int) -> list[int]:
    engine = create_engine(db_url)
    try:
        for n in range(count):
            async with session_factory(engine)() as session, session.begin():
                audit.record(
                    session, action="test_entry", actor=f"cli:t{n}", via="cli", object_ref=f"R{n}", n=n
                )
        async with session_factory(engine)() as session:
            return list(await session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    finally:
        await engine.dispose()


async def _execute(db_url: str, statement: object) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_changed_removed_inserted_are_named(db_url: str, tmp_path: Path) -> None:
    ids = await _append(db_url, 5)
    assert len(ids) == 5
    code, out = await asyncio.to_thread(verify_cli, db_url, tmp_path)
    assert code == 0 and "audit chain intact: 5 entries" in out, out

    # changed: one entry's detail rewritten in place
    await _execute(db_url, update(AuditEntry).where(AuditEntry.id == ids[2]).values(detail={"n": 99}))
    code, out = await asyncio.to_thread(verify_cli, db_url, tmp_path)
    assert code == 1 and f"audit entry {ids[2]} was changed" in out, out
    await _execute(db_url, update(AuditEntry).where(AuditEntry.id == ids[2]).values(detail={"n": 2}))
    assert (await asyncio.to_thread(verify_cli, db_url, tmp_path))[0] == 0

    # removed: one entry deleted from the middle; the chain breaks at the next one
    await _execute(db_url, delete(AuditEntry).where(AuditEntry.id == ids[1]))
    code, out = await asyncio.to_thread(verify_cli, db_url, tmp_path)
    assert code == 1 and f"audit entry before {ids[2]} was removed" in out, out


async def test_inserted_and_removed_tail(db_url: str, tmp_path: Path) -> None:
    ids = await _append(db_url, 3)
    forged = insert(AuditEntry).values(
        id=ids[-1] + 1, actor="x", via="cli", action="report_approved", detail={}
    )
    await _execute(db_url, forged)
    code, out = await asyncio.to_thread(verify_cli, db_url, tmp_path)
    assert code == 1 and f"audit entry {ids[-1] + 1} was inserted" in out, out
    await _execute(db_url, delete(AuditEntry).where(AuditEntry.id >= ids[-1]))
    code, out = await asyncio.to_thread(verify_cli, db_url, tmp_path)
    assert code == 1 and f"audit entry before {ids[-1]} was removed" in out, out


async def test_concurrent_appenders_never_fork(db_url: str) -> None:
    """Two engines (two daemons) appending at once: one chain, intact."""
    engines = [create_engine(db_url), create_engine(db_url)]
    try:

        async def append(engine_index: int) -> None:
            for n in range(10):
                async with session_factory(engines[engine_index])() as session, session.begin():
                    audit.record(session, action="test_entry", actor=f"node{engine_index}", via="system", n=n)

        await asyncio.gather(append(0), append(1))
        async with session_factory(engines[0])() as session:
            result = await audit.verify(session)
        assert result.broken is None and result.checked == 20
    finally:
        for engine in engines:
            await engine.dispose()


async def test_chain_holds_after_erasure(relay: Relay, sink: Sink, tmp_path: Path) -> None:
    await leave_traces(relay, sink)
    async with relay.sessions() as session, session.begin():
        await erase(session, relay.settings, REPORTER, actor="cli:test")
    async with relay.sessions() as session:
        result = await audit.verify(session)
        redactions = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "audit_redacted"))
        )
    assert result.broken is None and result.redacted > 0
    assert len(redactions) == 1 and REPORTER not in str(redactions[0].detail)
    # a pseudonymised entry changed after the erasure is still caught
    changed = int(next(iter(redactions[0].detail["rewritten"])))
    async with relay.sessions() as session, session.begin():
        await session.execute(update(AuditEntry).where(AuditEntry.id == changed).values(via="web"))
    async with relay.sessions() as session:
        broken = (await audit.verify(session)).broken
    assert broken is not None and broken.line() == f"audit entry {changed} was changed"


async def test_migration_matches_the_tables(db_url: str) -> None:
    engine = create_engine(db_url)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [
            d
            for d in compare_metadata(context, Base.metadata)
            if "audit_" in repr(d) or "suppressions" in repr(d)
        ]

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
