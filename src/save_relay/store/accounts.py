"""Console accounts and sessions: create, list, disable, reset; log in (with throttling); sessions.

Login throttling is per account and kept in the row (so it holds across processes sharing the
database): after ``login_failures`` wrong passwords or codes in a row, the account waits
``lockout_seconds`` and every attempt meanwhile fails without checking the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.errors import SaveRelayError
from save_relay.core.passwords import check_password, check_totp, token_digest
from save_relay.core.states import AccountRole
from save_relay.store.tables import Account, ConsoleSession, Network


class AccountError(SaveRelayError):
    """The account cannot be changed so."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    network_id: int
    network: str
    login: str
    name: str
    role: AccountRole
    language: str
    active: bool
    has_totp: bool
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Throttle:
    """How many failures in a row lock an account, and for how long."""

    failures: int
    lockout: timedelta


@dataclass(frozen=True, slots=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def _row(account: Account, network: str) -> AccountRow:
    return AccountRow(
        id=account.id,
        network_id=account.network_id,
        network=network,
        login=account.login,
        name=account.name,
        role=AccountRole(account.role),
        language=account.language,
        active=account.active,
        has_totp=account.totp_secret is not None,
        last_login_at=as_utc(account.last_login_at) if account.last_login_at else None,
    )


async def add(
    session: AsyncSession,
    *,
    network_id: int,
    login: str,
    name: str,
    role: AccountRole,
    language: str,
    password_hash: str,
    totp_secret: str | None,
) -> int:
    if await session.scalar(select(Account.id).where(Account.login == login)) is not None:
        raise AccountError(f"an account {login!r} exists already")
    account = Account(
        network_id=network_id,
        login=login,
        name=name,
        role=role.value,
        language=language,
        password_hash=password_hash,
        totp_secret=totp_secret,
        active=True,
        failures=0,
    )
    session.add(account)
    await session.flush()
    return account.id


async def listed(session: AsyncSession, network_id: int | None = None) -> list[AccountRow]:
    query = select(Account, Network.slug).join(Network, Network.id == Account.network_id)
    if network_id is not None:
        query = query.where(Account.network_id == network_id)
    rows = await session.execute(query.order_by(Network.slug, Account.login))
    return [_row(account, slug) for account, slug in rows]


async def _one(session: AsyncSession, condition: ColumnElement[bool]) -> AccountRow | None:
    rows = await session.execute(
        select(Account, Network.slug).join(Network, Network.id == Account.network_id).where(condition)
    )
    found = rows.first()
    return _row(*found) if found else None


async def by_login(session: AsyncSession, login: str) -> AccountRow | None:
    return await _one(session, Account.login == login)


async def by_id(session: AsyncSession, account_id: int) -> AccountRow | None:
    return await _one(session, Account.id == account_id)


async def _must(session: AsyncSession, login: str) -> Account:
    account = await session.scalar(select(Account).where(Account.login == login))
    if account is None:
        raise AccountError(f"no account {login!r}")
    return account


async def set_active(session: AsyncSession, login: str, active: bool, now: datetime) -> None:
    """Disable (every session of it ends now) or enable an account."""
    account = await _must(session, login)
    account.active = active
    if not active:
        await revoke_all(session, account.id, now)


async def reset(
    session: AsyncSession, login: str, *, password_hash: str, totp_secret: str | None, now: datetime
) -> None:
    """New password and TOTP secret; the lock and every session end."""
    account = await _must(session, login)
    account.password_hash = password_hash
    account.totp_secret = totp_secret
    account.failures = 0
    account.locked_until = None
    await revoke_all(session, account.id, now)


async def authenticate(
    session: AsyncSession,
    login: str,
    password: str,
    code: str | None,
    *,
    totp_required: bool,
    throttle: Throttle,
    now: datetime,
) -> AccountRow | None:
    """The account if the password (and the TOTP code, when it has a secret or its role needs one)
    are right and it is active and not locked; else None, counting the failure. The caller commits
    either way (a failure's count must stick)."""
    account = await session.scalar(select(Account).where(Account.login == login).with_for_update())
    if account is None or not account.active:
        return None
    if account.locked_until is not None and as_utc(account.locked_until) > now:
        return None
    ok = check_password(account.password_hash, password)
    if ok and (account.totp_secret is not None or totp_required):
        ok = account.totp_secret is not None and check_totp(account.totp_secret, code or "")
    if not ok:
        account.failures += 1
        if account.failures >= throttle.failures:
            account.locked_until = now + throttle.lockout
            account.failures = 0
        return None
    account.failures = 0
    account.locked_until = None
    account.last_login_at = now
    return await by_id(session, account.id)


async def start_session(
    session: AsyncSession, account_id: int, token: str, client: str, now: datetime
) -> None:
    session.add(
        ConsoleSession(
            token_hash=token_digest(token),
            account_id=account_id,
            client=client[:64],
            created_at=now,
            last_seen_at=now,
        )
    )


async def session_account(
    session: AsyncSession, token: str, timeouts: Timeouts, now: datetime
) -> AccountRow | None:
    """The active account of a live session (its last use set to now), or None: unknown, revoked,
    idle too long, too old, or the account disabled."""
    rows = await session.execute(
        select(ConsoleSession, Account)
        .join(Account, Account.id == ConsoleSession.account_id)
        .where(ConsoleSession.token_hash == token_digest(token))
    )
    found = rows.first()
    if found is None:
        return None
    live, account = found
    if (
        live.revoked_at is not None
        or not account.active
        or as_utc(live.last_seen_at) + timeouts.idle < now
        or as_utc(live.created_at) + timeouts.absolute < now
    ):
        return None
    live.last_seen_at = now
    return await by_id(session, account.id)


async def end_session(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == token_digest(token), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all(session: AsyncSession, account_id: int, now: datetime) -> int:
    """End every session of an account; how many were live."""
    result = await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.account_id == account_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
