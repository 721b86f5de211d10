"""Migration 0024 (approval_requests about a canvass or an erasure): it goes down and up again, keeping
the approvals about reports and dropping those it cannot hold (no report); the model match is checked in
``test_four_eyes.py``."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from tests.e2e.test_migration_lat_cell import _migrate, _run


def _columns(connection: Connection) -> dict[str, bool]:
    return {c["name"]: bool(c["nullable"]) for c in inspect(connection).get_columns("approval_requests")}


def _insert_erasure(connection: Connection) -> None:
    connection.execute(text("INSERT INTO networks (slug, address, name) VALUES ('n', 'n@example.org', 'N')"))
    network = connection.execute(text("SELECT id FROM networks WHERE slug = 'n'")).scalar()
    connection.execute(
        text(
            "INSERT INTO approval_requests (network_id, kind, status, first_by, first_via, decision, "
            "reasons, recipients, created_at, expires_at, subject) VALUES (:n, 'erasure', 'waiting', "
            "'a@example.org', 'cli', '{}', '[]', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :s)"
        ),
        {"n": network, "s": "0" * 64},
    )


async def test_down_and_up_again(db_url: str) -> None:
    columns = await _run(db_url, _columns)
    assert columns["report_id"] and "canvass_id" in columns and "subject" in columns
    await _run(db_url, _insert_erasure)
    await _run(db_url, _migrate("downgrade", "0023"))
    columns = await _run(db_url, _columns)
    assert not columns["report_id"] and "canvass_id" not in columns and "subject" not in columns
    assert (
        await _run(db_url, lambda c: c.execute(text("SELECT count(*) FROM approval_requests")).scalar()) == 0
    )
    await _run(db_url, _migrate("upgrade", "head"))
    assert (await _run(db_url, _columns))["report_id"]
