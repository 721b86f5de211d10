"""store.aftercommit on a real database: a callback runs after the commit, never after a rollback; one
registered in a savepoint goes with it (dropped when it is rolled back, kept when it is released)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from save_relay.store.aftercommit import after_commit
from save_relay.store.db import create_engine, session_factory


async def test_after_commit_follows_the_transaction(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    ran: list[str] = []
    try:
        async with sessions() as session, session.begin():
            await session.execute(select(1))
            after_commit(session, lambda: ran.append("outer"))
            async with session.begin_nested():
                after_commit(session, lambda: ran.append("released"))
            with pytest.raises(RuntimeError):
                async with session.begin_nested():
                    after_commit(session, lambda: ran.append("rolled back savepoint"))
                    raise RuntimeError("the handler failed")
            assert ran == []  # nothing before the commit
        assert ran == ["outer", "released"]

        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                after_commit(session, lambda: ran.append("rolled back"))
                raise RuntimeError("the batch failed")
        async with sessions() as session, session.begin():  # a new transaction starts clean
            after_commit(session, lambda: ran.append("again"))
        assert ran == ["outer", "released", "again"]
    finally:
        await engine.dispose()
