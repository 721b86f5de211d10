"""Networks and moderators: mirrored from the settings into the database at start-up."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef
from save_relay.core.settings import Settings
from save_relay.store.tables import Moderator, Network


async def sync_networks(session: AsyncSession, settings: Settings) -> dict[str, NetworkRef]:
    """Insert or update every configured network and its moderators; returns them by key."""
    refs: dict[str, NetworkRef] = {}
    for key, conf in settings.networks.items():
        network = await session.scalar(select(Network).where(Network.slug == key))
        if network is None:
            network = Network(slug=key, address=conf.address, name=conf.name)
            session.add(network)
            await session.flush()
        else:
            network.address, network.name = conf.address, conf.name
        existing = {
            m.address: m
            for m in await session.scalars(select(Moderator).where(Moderator.network_id == network.id))
        }
        for address in conf.moderators:
            if address in existing:
                existing.pop(address).active = True
            else:
                session.add(Moderator(network_id=network.id, address=address, active=True))
        if existing:
            await session.execute(
                update(Moderator)
                .where(Moderator.id.in_([m.id for m in existing.values()]))
                .values(active=False)
            )
        refs[key] = NetworkRef(key=key, id=network.id, settings=conf)
    await session.flush()
    return refs


async def is_moderator(session: AsyncSession, network_id: int, address: str) -> bool:
    found = await session.scalar(
        select(Moderator.id).where(
            Moderator.network_id == network_id, Moderator.address == address.lower(), Moderator.active
        )
    )
    return found is not None
