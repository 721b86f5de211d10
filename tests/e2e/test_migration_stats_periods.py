"""Migration 0018 (stats_periods, reports.changed_at): it matches the model, and goes down and up again
with the reports kept (their changed_at set from the received time)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from save_relay.store.tables import Base
from tests.e2e.test_migration_lat_cell import _migrate, _run


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _report_columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("reports")}


async def test_the_migration_matches_the_model(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    found = await _run(db_url, diff)
    assert [d for d in found if "stats_periods" in repr(d) or "changed_at" in repr(d)] == []


async def test_down_and_up_again(db_url: str) -> None:
    assert "stats_periods" in await _run(db_url, _tables)
    await _run(db_url, _migrate("downgrade", "0017"))
    assert "stats_periods" not in await _run(db_url, _tables)
    assert "changed_at" not in await _run(db_url, _report_columns)
    await _run(db_url, _migrate("upgrade", "head"))
    assert "changed_at" in await _run(db_url, _report_columns)
    count = await _run(db_url, lambda c: c.execute(text("SELECT count(*) FROM stats_periods")).scalar())
    assert count == 0
