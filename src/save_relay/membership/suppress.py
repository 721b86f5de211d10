"""The suppression list as a service: an erased address stays out of imports and subscriptions until an
admin lifts it. Stored as keyed hashes (core/erased.py); the key comes from ``[privacy]``."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.erased import derive_key, keyed_hash
from save_relay.core.problems import Problem
from save_relay.core.settings import Settings
from save_relay.store import audit
from save_relay.store import suppressions as store


def key_of(settings: Settings) -> bytes:
    return derive_key(settings.privacy.suppression_key, settings.database.url)


def refusal(address: str) -> str:
    """Why a line naming ``address`` is refused, in English (the console translates the code)."""
    return str(Problem.of("csv_address_erased", address=address))


async def suppress(session: AsyncSession, key: bytes, address: str, *, actor: str) -> None:
    await store.add(session, keyed_hash(key, address), actor=actor)


async def suppressed(session: AsyncSession, key: bytes, addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` (lower-cased) on the list."""
    by_hash = {keyed_hash(key, a): a.strip().lower() for a in addresses}
    return {by_hash[digest] for digest in await store.present(session, by_hash)}


async def lift(session: AsyncSession, key: bytes, address: str, *, actor: str) -> bool:
    """Take ``address`` off the list (audited without the address: its hash names it)."""
    digest = keyed_hash(key, address)
    removed = await store.remove(session, digest)
    if removed:
        audit.record(session, action="suppression_lifted", actor=actor, via="cli", object_ref=digest[:64])
    return removed
