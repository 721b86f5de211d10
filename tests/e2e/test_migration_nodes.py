"""Migration 0010 (the ``nodes`` table of the daemons' heartbeats) down and up again, on SQLite and
PostgreSQL, and the model it leaves."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from save_relay.store.tables import Base
from tests.e2e.test_migration_lat_cell import _migrate, _run


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_down_to_0009_and_up_again(db_url: str) -> None:
    assert "nodes" in await _run(db_url, _tables)
    await _run(db_url, _migrate("downgrade", "0009"))
    assert "nodes" not in await _run(db_url, _tables)
    await _run(db_url, _migrate("upgrade", "head"))
    assert "nodes" in await _run(db_url, _tables)


async def test_the_migration_matches_the_model(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    assert [d for d in await _run(db_url, diff) if "nodes" in repr(d)] == []
