"""Console accounts and sessions in the store (SQLite and PostgreSQL): migration 0015 down and up,
argon2id and TOTP at login, throttling, session timeouts and revocation, with real short timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from save_relay.core.clock import utcnow
from save_relay.core.passwords import hash_password, new_token, new_totp_secret, token_digest
from save_relay.core.states import AccountRole
from save_relay.store import accounts
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Base, ConsoleSession
from tests.conftest import make_settings
from tests.e2e.test_migration_lat_cell import _migrate, _run

# The lockout must outlast the next attempt even on a loaded machine (argon2 and commits take time).
THROTTLE = accounts.Throttle(failures=3, lockout=timedelta(seconds=3))
PASSWORD = "correct horse battery"


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_down_to_0010_and_up_again(db_url: str) -> None:
    assert {"accounts", "console_sessions"} <= await _run(db_url, _tables)
    await _run(db_url, _migrate("downgrade", "0010"))
    assert not {"accounts", "console_sessions"} & await _run(db_url, _tables)
    await _run(db_url, _migrate("upgrade", "head"))
    assert {"accounts", "console_sessions"} <= await _run(db_url, _tables)


async def test_the_migration_matches_the_model(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    ours = [d for d in await _run(db_url, diff) if "accounts" in repr(d) or "console_sessions" in repr(d)]
    assert ours == []


@pytest.fixture
async def store(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[SessionFactory, int, str]]:
    """(sessions, network id, TOTP secret of the moderator account ``mod@politie.lommel.be``)."""
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    secret = new_totp_secret()
    async with sessions() as session, session.begin():
        refs = await sync_networks(session, make_settings(db_url, 25, tmp_path))
        network_id = refs["industrie"].id
        await accounts.add(
            session,
            network_id=network_id,
            login="mod@politie.lommel.be",
            name="Mod",
            role=AccountRole.MODERATOR,
            language="nl",
            password_hash=hash_password(PASSWORD),
            totp_secret=secret,
        )
    yield sessions, network_id, secret
    await engine.dispose()


async def _login(sessions: SessionFactory, password: str, code: str | None) -> accounts.AccountRow | None:
    async with sessions() as session, session.begin():
        return await accounts.authenticate(
            session,
            "mod@politie.lommel.be",
            password,
            code,
            totp_required=True,
            throttle=THROTTLE,
            now=utcnow(),
        )


async def test_password_and_totp_both_needed(store: tuple[SessionFactory, int, str]) -> None:
    sessions, network_id, secret = store
    code = pyotp.TOTP(secret).now()
    assert await _login(sessions, PASSWORD, None) is None
    assert await _login(sessions, "wrong password", code) is None
    row = await _login(sessions, PASSWORD, code)
    assert row is not None and row.role is AccountRole.MODERATOR and row.network_id == network_id
    assert row.last_login_at is not None
    async with sessions() as session, session.begin():  # the hash is argon2id, never the password
        listed = await accounts.listed(session)
        assert [r.login for r in listed] == ["mod@politie.lommel.be"] and listed[0].has_totp


async def test_throttling_locks_then_lets_in_again(store: tuple[SessionFactory, int, str]) -> None:
    sessions, _, secret = store
    for _ in range(THROTTLE.failures):
        assert await _login(sessions, "guess", pyotp.TOTP(secret).now()) is None
    # locked: even the right password and code fail now
    assert await _login(sessions, PASSWORD, pyotp.TOTP(secret).now()) is None
    await asyncio.sleep(THROTTLE.lockout.total_seconds() + 0.2)
    assert await _login(sessions, PASSWORD, pyotp.TOTP(secret).now()) is not None


async def test_sessions_idle_absolute_revoked(store: tuple[SessionFactory, int, str]) -> None:
    sessions, _, _ = store
    async with sessions() as session, session.begin():
        account = await accounts.by_login(session, "mod@politie.lommel.be")
        assert account is not None
        tokens = [new_token() for _ in range(3)]
        for token in tokens:
            await accounts.start_session(session, account.id, token, "127.0.0.1", utcnow())
        stored = set(
            await session.scalars(
                ConsoleSession.__table__.select().with_only_columns(ConsoleSession.token_hash)
            )
        )
        assert stored == {token_digest(t) for t in tokens}  # only hashes are kept

    async def who(token: str, idle: float, absolute: float) -> accounts.AccountRow | None:
        timeouts = accounts.Timeouts(idle=timedelta(seconds=idle), absolute=timedelta(seconds=absolute))
        async with sessions() as session, session.begin():
            return await accounts.session_account(session, token, timeouts, utcnow())

    assert await who(tokens[0], 60, 60) is not None
    assert await who("not-a-token", 60, 60) is None
    async with sessions() as session, session.begin():
        await accounts.end_session(session, tokens[0], utcnow())
    assert await who(tokens[0], 60, 60) is None  # logged out
    await asyncio.sleep(0.5)
    assert await who(tokens[1], 0.3, 60) is None  # idle too long
    assert await who(tokens[2], 60, 0.3) is None  # too old, though just used
    assert await who(tokens[2], 60, 60) is not None
    async with sessions() as session, session.begin():
        await accounts.set_active(session, "mod@politie.lommel.be", False, utcnow())
    assert await who(tokens[2], 60, 60) is None  # disabling ends every session
