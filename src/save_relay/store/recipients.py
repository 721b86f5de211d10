"""Subscribers, zones and groups: lookups for moderation and the recipient selection of a distribution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, String, func, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import AddressStatus
from save_relay.store.tables import (
    Group,
    GroupMembership,
    Subscriber,
    SubscriberAddress,
    Zone,
    ZoneMembership,
)


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """The subscriber behind a sender address, with its zones."""

    subscriber_id: int
    company: str
    zones: tuple[str, ...]
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class ZoneTable:
    """A network's zones: slug -> display name, and slug -> parent slug."""

    names: dict[str, str]
    parents: dict[str, str | None]


async def zone_table(session: AsyncSession, network_id: int) -> ZoneTable:
    rows = (
        await session.execute(
            select(Zone.slug, Zone.name, Zone.parent_slug)
            .where(Zone.network_id == network_id)
            .order_by(Zone.slug)
        )
    ).all()
    return ZoneTable({slug: name for slug, name, _ in rows}, {slug: parent for slug, _, parent in rows})


async def sender_info(
    session: AsyncSession, network_id: int, address: str, zones: ZoneTable | None = None
) -> SenderInfo | None:
    """The subscriber behind ``address`` and its most specific zones; ``zones``: the caller's table."""
    row = (
        await session.execute(
            select(Subscriber.id, Subscriber.company, Subscriber.latitude, Subscriber.longitude)
            .join(SubscriberAddress, SubscriberAddress.subscriber_id == Subscriber.id)
            .where(
                Subscriber.network_id == network_id, func.lower(SubscriberAddress.address) == address.lower()
            )
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    member_of = set(
        await session.scalars(
            select(Zone.slug)
            .join(ZoneMembership, ZoneMembership.zone_id == Zone.id)
            .where(ZoneMembership.subscriber_id == row.id)
        )
    )
    parents = (zones or await zone_table(session, network_id)).parents
    most_specific = sorted(member_of - _ancestors(member_of, parents))
    return SenderInfo(
        subscriber_id=row.id,
        company=row.company,
        zones=tuple(most_specific),
        latitude=row.latitude,
        longitude=row.longitude,
    )


def _ancestors(slugs: set[str], parents: dict[str, str | None]) -> set[str]:
    """The zones that contain one of ``slugs`` (a park's sector, the sector's municipality)."""
    found: set[str] = set()
    for slug in slugs:
        parent = parents.get(slug)
        while parent is not None and parent not in found:
            found.add(parent)
            parent = parents.get(parent)
    return found


async def zone_slugs(session: AsyncSession, network_id: int) -> dict[str, str]:
    """Zone slug -> display name."""
    rows = await session.execute(
        select(Zone.slug, Zone.name).where(Zone.network_id == network_id).order_by(Zone.slug)
    )
    return {slug: name for slug, name in rows.all()}


async def group_slugs(session: AsyncSession, network_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(Group.slug, Group.name).where(Group.network_id == network_id).order_by(Group.slug)
    )
    return {slug: name for slug, name in rows.all()}


def recipients_query(network_id: int, zones: Sequence[str], groups: Sequence[str]) -> Select[tuple[str]]:
    """Distinct active addresses of enabled subscribers in any of ``zones`` or ``groups``."""
    in_zones = (
        select(ZoneMembership.subscriber_id)
        .join(Zone, Zone.id == ZoneMembership.zone_id)
        .where(Zone.network_id == network_id, Zone.slug.in_(list(zones) or [""]))
    )
    in_groups = (
        select(GroupMembership.subscriber_id)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(Group.network_id == network_id, Group.slug.in_(list(groups) or [""]))
    )
    members = union(in_zones, in_groups).subquery()
    address = func.lower(SubscriberAddress.address)
    return (
        select(address)
        .join(Subscriber, Subscriber.id == SubscriberAddress.subscriber_id)
        .where(
            Subscriber.network_id == network_id,
            Subscriber.enabled,
            SubscriberAddress.status == AddressStatus.ACTIVE,
            SubscriberAddress.subscriber_id.in_(select(members.c[0])),
        )
        .group_by(address)
    )


def named_query(addresses: Sequence[str]) -> Select[tuple[str]]:
    """The addresses a moderator named (TLP:RED), lower-cased and distinct, as a query like
    :func:`recipients_query` (so one fan-out serves both)."""
    unique = sorted({address.strip().lower() for address in addresses if address.strip()})
    each = [select(literal(address, String).label("address")) for address in unique or [""]]
    rows = (union(*each) if len(each) > 1 else each[0]).subquery()
    return select(rows.c[0]).where(rows.c[0] != "")


async def recipient_count(
    session: AsyncSession, network_id: int, zones: Sequence[str], groups: Sequence[str]
) -> int:
    """How many addresses a distribution to ``zones`` and ``groups`` would reach (the console's count)."""
    chosen = recipients_query(network_id, zones, groups).subquery()
    return int(await session.scalar(select(func.count()).select_from(chosen)) or 0)


@dataclass(frozen=True, slots=True)
class SenderDetails:
    """What the network holds about a reporting subscriber: what the preview must not pass on."""

    company: str
    contact: str
    street: str
    addresses: tuple[str, ...]


async def sender_details(session: AsyncSession, subscriber_id: int) -> SenderDetails | None:
    subscriber = await session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    addresses = await session.scalars(
        select(SubscriberAddress.address).where(SubscriberAddress.subscriber_id == subscriber_id)
    )
    return SenderDetails(subscriber.company, subscriber.contact, subscriber.street, tuple(addresses))
