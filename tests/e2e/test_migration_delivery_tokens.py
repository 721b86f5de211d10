"""Migration 0007 (no indexes on the delivery token hashes; ``unmatched_bounces.delivery_id``) down and up
again on SQLite and PostgreSQL, and the model it leaves."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from save_relay.store.tables import Base
from tests.e2e.test_migration_lat_cell import _migrate, _run

HASH_INDEXES = {"ix_deliveries_bounce", "ix_deliveries_unsubscribe"}


def _schema(connection: Connection) -> tuple[set[str], set[str]]:
    inspector = inspect(connection)
    indexes = {i["name"] for i in inspector.get_indexes("deliveries") if i["name"]}
    return indexes, {c["name"] for c in inspector.get_columns("unmatched_bounces")}


async def test_down_to_0006_and_up_again(db_url: str) -> None:
    indexes, columns = await _run(db_url, _schema)
    assert not indexes & HASH_INDEXES and "delivery_id" in columns
    await _run(db_url, _migrate("downgrade", "0006"))
    indexes, columns = await _run(db_url, _schema)
    assert indexes >= HASH_INDEXES and "delivery_id" not in columns
    await _run(db_url, _migrate("upgrade", "head"))
    indexes, columns = await _run(db_url, _schema)
    assert not indexes & HASH_INDEXES and "delivery_id" in columns


async def test_the_migration_matches_the_model(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    found = await _run(db_url, diff)
    about = [d for d in found if "deliveries" in repr(d) or "unmatched_bounces" in repr(d)]
    assert about == []
