"""Migration 0003 creates exactly what the membership models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from save_relay.store.db import create_engine
from save_relay.store.tables import Base

MINE = {"subscription_requests", "membership_events", "bounce_events", "evidence_holds", "unmatched_bounces"}
ADDED = {
    ("subscriber_addresses", "bounce_updated_at"),
    ("tokens", "request_id"),
    ("inbound_messages", "purged_at"),
}


def _about_mine(diff: Any) -> bool:
    """Whether one autogenerate difference concerns a table or column of migration 0003."""
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item[1:]:
            name = getattr(part, "name", None)
            table = getattr(getattr(part, "table", None), "name", None)
            if name in MINE or table in MINE or (table, name) in ADDED:
                return True
        if len(item) > 3 and (item[2], item[3]) in ADDED:
            return True
    return False


async def test_the_migration_matches_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    finally:
        await engine.dispose()
    assert tables >= MINE
    assert [d for d in diff if _about_mine(d)] == []
