"""Migration 0006 (``subscribers.lat_cell`` and its index) down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from save_relay.store.db import create_engine
from save_relay.store.latcell import lat_cell
from save_relay.store.migrate import alembic_config
from save_relay.store.tables import Base

# on a band edge, a float step either side of it, a pole, the equator from below, no location
LATITUDES = [51.24, math.nextafter(51.24, 0.0), math.nextafter(51.24, 90.0), -90.0, 90.0, -1e-9, None]


async def _run(url: str, step: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(step)
    finally:
        await engine.dispose()


def _migrate(direction: str, revision: str) -> Any:
    def step(connection: Connection) -> None:
        config = alembic_config(str(connection.engine.url))
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)

    return step


def _schema(connection: Connection) -> tuple[set[str], set[str]]:
    inspector = inspect(connection)
    columns = {c["name"] for c in inspector.get_columns("subscribers")}
    return columns, {i["name"] for i in inspector.get_indexes("subscribers") if i["name"]}


def _cells(connection: Connection) -> list[tuple[float | None, int | None]]:
    rows = connection.execute(text("SELECT latitude, lat_cell FROM subscribers ORDER BY id"))
    return [(lat, cell) for lat, cell in rows]


def _add_subscribers(connection: Connection) -> None:
    network = connection.execute(
        text("INSERT INTO networks (slug, address, name) VALUES ('n', 'n@example.org', 'N') RETURNING id")
    ).scalar_one()
    for k, lat in enumerate(LATITUDES):
        connection.execute(
            text(
                "INSERT INTO subscribers (network_id, company, contact, street, latitude, longitude,"
                " enabled, created_at) VALUES (:n, :c, '', '', :lat, :lon, TRUE, CURRENT_TIMESTAMP)"
            ),
            {"n": network, "c": f"S{k}", "lat": lat, "lon": None if lat is None else 5.3},
        )


def _about_lat_cell(diff: Any) -> bool:
    names = {"lat_cell", "ix_subscribers_lat_cell", "ix_subscribers_location"}
    items = diff if isinstance(diff, list) else [diff]
    parts = [part for item in items for part in item[1:]]
    return any(
        getattr(part, "name", None) in names or (isinstance(part, str) and part in names) for part in parts
    )


def _schema_has_cells(schema: tuple[set[str], set[str]]) -> bool:
    columns, indexes = schema
    cells = "lat_cell" in columns and "ix_subscribers_lat_cell" in indexes
    return cells and "ix_subscribers_location" not in indexes


async def test_down_to_0005_and_up_again_keeps_the_subscribers(db_url: str) -> None:
    assert _schema_has_cells(await _run(db_url, _schema))
    await _run(db_url, _migrate("downgrade", "0005"))
    columns, indexes = await _run(db_url, _schema)
    assert "lat_cell" not in columns and "latitude" in columns
    assert "ix_subscribers_location" in indexes and "ix_subscribers_lat_cell" not in indexes
    await _run(db_url, _add_subscribers)  # rows from before the migration get their band on the way up
    await _run(db_url, _migrate("upgrade", "head"))
    assert _schema_has_cells(await _run(db_url, _schema))
    cells = await _run(db_url, _cells)
    assert cells == [(lat, None if lat is None else lat_cell(lat)) for lat in LATITUDES]


async def test_the_migration_matches_the_model(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    assert [d for d in await _run(db_url, diff) if _about_lat_cell(d)] == []
