"""Report references: ``PREFIX-YEAR-NNNNNN``, numbered per prefix and year (table ``reference_counters``)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.store.tables import ReferenceCounter


def reference_for(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:06d}"


async def take_numbers(session: AsyncSession, prefix: str, year: int, count: int) -> range:
    """Reserve ``count`` consecutive numbers of ``prefix`` in ``year``; returns them.

    One upsert that adds ``count`` and returns the new last value: PostgreSQL locks the counter's row until
    the transaction ends, SQLite holds its one write lock, so concurrent transactions never get the same
    number. A rolled-back transaction gives its numbers back (the counter change is undone with it).
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    upsert = (
        insert(ReferenceCounter)
        .values(prefix=prefix, year=year, last_value=count)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.prefix, ReferenceCounter.year],
            set_={"last_value": ReferenceCounter.last_value + count},
        )
        .returning(ReferenceCounter.last_value)
    )
    last = int((await session.execute(upsert)).scalar_one())
    return range(last - count + 1, last + 1)
