"""Engine and sessions: the same code on SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite runs in WAL mode with ``synchronous=FULL`` so that a commit is on disk before the relay answers
250, with ``secure_delete`` so that what an erasure removes is overwritten (``checkpoint`` then clears
the WAL), and every transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the
busy timeout instead of failing when a read turns into a write.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(engine_or_url: AsyncEngine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed on disk, not left in free pages (erasure, retention).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class WriteGate:
    """In-process writers of a SQLite database queue here, in order, before their transaction.

    SQLite has one writer at a time, and a writer that finds the lock taken polls in the busy handler,
    sleeping up to 100 ms per try: a writer that commits back to back (the processor) wins again and again
    while the intake's commit, with 250s waiting on it, sleeps. An ``asyncio.Lock`` hands the lock over
    first come, first served. Writers in other processes (the CLI) still use the busy timeout. On
    PostgreSQL (``enabled=False``) it does nothing: rows are locked, not the database.
    """

    def __init__(self, *, enabled: bool) -> None:
        self._lock = asyncio.Lock() if enabled else None

    def __call__(self) -> AbstractAsyncContextManager[None]:
        return self._lock if self._lock is not None else contextlib.nullcontext()


def describe_url(url: str) -> str:
    """The URL as it may be shown and logged: its password as ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable database URL)"


def database_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: PostgreSQL, or SQLite in memory)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``; creates the SQLite file's folder when needed."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=pool_size, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


async def checkpoint(engine: AsyncEngine) -> None:
    """SQLite: copy the WAL into the database file and truncate it, so that the old page images (an
    erased address's bytes) leave the WAL too. Nothing to do on PostgreSQL."""
    if is_sqlite(engine):
        async with engine.connect() as connection:
            # On the driver's connection: outside the BEGIN IMMEDIATE every SQLAlchemy use starts with.
            driver: Any = (await connection.get_raw_connection()).driver_connection
            cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            await cursor.close()
