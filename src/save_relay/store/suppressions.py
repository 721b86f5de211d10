"""The suppression list: keyed hashes of erased addresses (core/erased.py)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.store.tables import Suppression


async def add(session: AsyncSession, digest: str, *, actor: str) -> None:
    if await session.get(Suppression, digest) is None:
        session.add(Suppression(hash=digest, created_by=actor))


async def remove(session: AsyncSession, digest: str) -> bool:
    result = await session.execute(delete(Suppression).where(Suppression.hash == digest))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def present(session: AsyncSession, digests: Collection[str]) -> set[str]:
    """Those of ``digests`` on the list."""
    if not digests:
        return set()
    return set(await session.scalars(select(Suppression.hash).where(Suppression.hash.in_(list(digests)))))
