"""Subscribers, their addresses and memberships: the queries behind import, export and the CLI.

``store.members`` answers moderation's lookups; this module changes membership. Zone memberships have a
``source``: ``computed`` rows come from the polygons and are rewritten when a subscriber moves or a zone
changes; ``manual`` rows come from the CSV (or the CLI) and are never touched by a recomputation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.states import AddressStatus
from save_relay.store.tables import (
    Group,
    GroupMembership,
    Subscriber,
    SubscriberAddress,
    Zone,
    ZoneMembership,
)

COMPUTED, MANUAL = "computed", "manual"
_IN_CHUNK = 10_000  # values per IN list: SQLite and asyncpg allow at most 32,766 parameters a statement


@dataclass(slots=True)
class Members:
    """A network's subscribers as loaded for an import: objects to compare with and update."""

    by_company: dict[str, Subscriber]
    addresses: dict[int, dict[str, SubscriberAddress]]
    manual_zones: dict[int, set[int]]
    computed_zones: dict[int, set[int]]
    groups: dict[int, set[int]]


@dataclass(frozen=True, slots=True)
class AddressRow:
    """One address with its subscriber, for listings and exports."""

    subscriber_id: int
    company: str
    contact: str
    street: str
    latitude: float | None
    longitude: float | None
    enabled: bool
    address: str
    status: str
    bounce_score: float


def company_key(company: str) -> str:
    return " ".join(company.split()).casefold()


async def zone_ids(session: AsyncSession, network_id: int) -> dict[str, int]:
    rows = await session.execute(select(Zone.slug, Zone.id).where(Zone.network_id == network_id))
    return {slug: zone_id for slug, zone_id in rows.all()}


async def group_ids(session: AsyncSession, network_id: int) -> dict[str, int]:
    rows = await session.execute(select(Group.slug, Group.id).where(Group.network_id == network_id))
    return {slug: group_id for slug, group_id in rows.all()}


async def ensure_groups(session: AsyncSession, network_id: int, slugs: Iterable[str]) -> dict[str, int]:
    """Create the groups of ``slugs`` that do not exist yet; returns every group's id by slug."""
    known = await group_ids(session, network_id)
    for slug in dict.fromkeys(slugs):
        if slug not in known:
            group = Group(network_id=network_id, slug=slug, name=slug.replace("-", " ").capitalize())
            session.add(group)
            await session.flush()
            known[slug] = group.id
    return known


async def load_members(session: AsyncSession, network_id: int) -> Members:
    """Every subscriber of the network with its addresses and memberships (four queries)."""
    subscribers = list(await session.scalars(select(Subscriber).where(Subscriber.network_id == network_id)))
    ids = select(Subscriber.id).where(Subscriber.network_id == network_id)
    addresses: dict[int, dict[str, SubscriberAddress]] = defaultdict(dict)
    for row in await session.scalars(
        select(SubscriberAddress).where(SubscriberAddress.subscriber_id.in_(ids))
    ):
        addresses[row.subscriber_id][row.address.lower()] = row
    manual: dict[int, set[int]] = defaultdict(set)
    computed: dict[int, set[int]] = defaultdict(set)
    zone_rows = await session.execute(
        select(ZoneMembership.subscriber_id, ZoneMembership.zone_id, ZoneMembership.source).where(
            ZoneMembership.subscriber_id.in_(ids)
        )
    )
    for subscriber_id, zone_id, source in zone_rows.all():
        (manual if source == MANUAL else computed)[subscriber_id].add(zone_id)
    groups: dict[int, set[int]] = defaultdict(set)
    group_rows = await session.execute(
        select(GroupMembership.subscriber_id, GroupMembership.group_id).where(
            GroupMembership.subscriber_id.in_(ids)
        )
    )
    for subscriber_id, group_id in group_rows.all():
        groups[subscriber_id].add(group_id)
    return Members(
        by_company={company_key(s.company): s for s in subscribers},
        addresses=addresses,
        manual_zones=manual,
        computed_zones=computed,
        groups=groups,
    )


async def set_zones(
    session: AsyncSession, subscriber_id: int, source: str, old: Collection[int], new: Collection[int]
) -> None:
    """Make the subscriber's ``source`` zone memberships ``new`` (given that they are ``old``)."""
    gone, added = set(old) - set(new), set(new) - set(old)
    if gone:
        await session.execute(
            delete(ZoneMembership).where(
                ZoneMembership.subscriber_id == subscriber_id,
                ZoneMembership.source == source,
                ZoneMembership.zone_id.in_(gone),
            )
        )
    if added:
        await session.execute(
            insert(ZoneMembership),
            [{"subscriber_id": subscriber_id, "zone_id": z, "source": source} for z in sorted(added)],
        )


async def set_groups(
    session: AsyncSession, subscriber_id: int, old: Collection[int], new: Collection[int]
) -> None:
    gone, added = set(old) - set(new), set(new) - set(old)
    if gone:
        await session.execute(
            delete(GroupMembership).where(
                GroupMembership.subscriber_id == subscriber_id, GroupMembership.group_id.in_(gone)
            )
        )
    if added:
        await session.execute(
            insert(GroupMembership),
            [{"subscriber_id": subscriber_id, "group_id": g} for g in sorted(added)],
        )


async def add_addresses(session: AsyncSession, subscriber_id: int, addresses: Sequence[str]) -> None:
    if addresses:
        now = utcnow()
        await session.execute(
            insert(SubscriberAddress),
            [
                {
                    "subscriber_id": subscriber_id,
                    "address": a,
                    "status": AddressStatus.ACTIVE,
                    "changed_at": now,
                }
                for a in addresses
            ],
        )


async def located(session: AsyncSession, network_id: int) -> list[tuple[int, float, float]]:
    """(id, latitude, longitude) of every subscriber with a location."""
    await session.flush()
    # Core, not ORM loading: a third less time per row, for up to a million rows.
    connection = await session.connection()
    rows = await connection.execute(
        select(Subscriber.id, Subscriber.latitude, Subscriber.longitude).where(
            Subscriber.network_id == network_id,
            Subscriber.latitude.is_not(None),
            Subscriber.longitude.is_not(None),
        )
    )
    return [(i, lat, lon) for i, lat, lon in rows if lat is not None and lon is not None]


async def set_computed_members(session: AsyncSession, members: Mapping[int, Collection[int]]) -> None:
    """The computed members of each zone in ``members`` become exactly its subscribers (manual rows
    untouched). Only the difference is written: a reshaped zone keeps most of its members."""
    await session.flush()
    connection = await session.connection()  # Core below: up to a million rows, no ORM objects
    old: dict[int, set[int]] = defaultdict(set)
    for zone_id, subscriber_id in await connection.execute(
        select(ZoneMembership.zone_id, ZoneMembership.subscriber_id).where(
            ZoneMembership.source == COMPUTED, ZoneMembership.zone_id.in_(list(members))
        )
    ):
        old[zone_id].add(subscriber_id)
    added: list[tuple[int, int, str]] = []
    for zone_id, subscriber_ids in members.items():
        new = set(subscriber_ids)
        gone = sorted(old[zone_id] - new)
        for start in range(0, len(gone), _IN_CHUNK):
            await connection.execute(
                delete(ZoneMembership).where(
                    ZoneMembership.zone_id == zone_id,
                    ZoneMembership.source == COMPUTED,
                    ZoneMembership.subscriber_id.in_(gone[start : start + _IN_CHUNK]),
                )
            )
        added += ((s, zone_id, COMPUTED) for s in new - old[zone_id])
    if added:
        # Straight to the driver's executemany, in primary key order: SQLAlchemy's handling of each
        # row's parameters took six times as long as the inserts (200,000 rows and more for 200 zones).
        columns = ["subscriber_id", "zone_id", "source"]
        statement = insert(ZoneMembership).compile(dialect=connection.dialect, column_keys=columns)
        assert list(statement.positiontup or ()) == columns  # the driver takes the values by position
        await connection.exec_driver_sql(str(statement), sorted(added))


async def address_rows(
    session: AsyncSession,
    network_id: int,
    *,
    zone: str | None = None,
    group: str | None = None,
    statuses: Collection[str] | None = None,
) -> list[AddressRow]:
    """Addresses with their subscriber, by company then address; optionally of one zone or group."""
    query = (
        select(
            Subscriber.id,
            Subscriber.company,
            Subscriber.contact,
            Subscriber.street,
            Subscriber.latitude,
            Subscriber.longitude,
            Subscriber.enabled,
            SubscriberAddress.address,
            SubscriberAddress.status,
            SubscriberAddress.bounce_score,
        )
        .join(SubscriberAddress, SubscriberAddress.subscriber_id == Subscriber.id)
        .where(Subscriber.network_id == network_id)
        .order_by(Subscriber.company, SubscriberAddress.address)
    )
    if zone is not None:
        query = query.where(
            Subscriber.id.in_(
                select(ZoneMembership.subscriber_id)
                .join(Zone, Zone.id == ZoneMembership.zone_id)
                .where(Zone.network_id == network_id, Zone.slug == zone)
            )
        )
    if group is not None:
        query = query.where(
            Subscriber.id.in_(
                select(GroupMembership.subscriber_id)
                .join(Group, Group.id == GroupMembership.group_id)
                .where(Group.network_id == network_id, Group.slug == group)
            )
        )
    if statuses is not None:
        query = query.where(SubscriberAddress.status.in_(list(statuses)))
    return [AddressRow(*tuple(row)) for row in (await session.execute(query)).all()]


async def memberships(
    session: AsyncSession, network_id: int
) -> dict[int, tuple[list[str], list[str], list[str]]]:
    """Subscriber id -> (manual zone slugs, computed zone slugs, group slugs), sorted."""
    out: dict[int, tuple[list[str], list[str], list[str]]] = defaultdict(lambda: ([], [], []))
    zone_rows = await session.execute(
        select(ZoneMembership.subscriber_id, Zone.slug, ZoneMembership.source)
        .join(Zone, Zone.id == ZoneMembership.zone_id)
        .where(Zone.network_id == network_id)
        .order_by(Zone.slug)
    )
    for subscriber_id, slug, source in zone_rows.all():
        out[subscriber_id][0 if source == MANUAL else 1].append(slug)
    group_rows = await session.execute(
        select(GroupMembership.subscriber_id, Group.slug)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(Group.network_id == network_id)
        .order_by(Group.slug)
    )
    for subscriber_id, slug in group_rows.all():
        out[subscriber_id][2].append(slug)
    return dict(out)


async def find_subscribers(session: AsyncSession, network_id: int, target: str) -> list[Subscriber]:
    """Subscribers whose company is ``target`` (any case) or that have the address ``target``."""
    key = target.strip().lower()
    with_address = select(SubscriberAddress.subscriber_id).where(func.lower(SubscriberAddress.address) == key)
    return list(
        await session.scalars(
            select(Subscriber)
            .where(
                Subscriber.network_id == network_id,
                (func.lower(Subscriber.company) == key) | Subscriber.id.in_(with_address),
            )
            .order_by(Subscriber.company)
        )
    )


async def addresses_in_network(
    session: AsyncSession, network_id: int, address: str
) -> list[SubscriberAddress]:
    """Every row of ``address`` (any case) in the network (one address may serve several companies)."""
    return list(
        await session.scalars(
            select(SubscriberAddress)
            .join(Subscriber, Subscriber.id == SubscriberAddress.subscriber_id)
            .where(
                Subscriber.network_id == network_id, func.lower(SubscriberAddress.address) == address.lower()
            )
            .with_for_update()
        )
    )


async def set_address_status(
    session: AsyncSession,
    network_id: int,
    address: str,
    status: str,
    *,
    only_from: Collection[str] | None = None,
) -> int:
    """Set the status of ``address`` in the network; returns how many rows changed."""
    subscriber_ids = select(Subscriber.id).where(Subscriber.network_id == network_id)
    query = update(SubscriberAddress).where(
        func.lower(SubscriberAddress.address) == address.lower(),
        SubscriberAddress.subscriber_id.in_(subscriber_ids),
        SubscriberAddress.status != status,
    )
    if only_from is not None:
        query = query.where(SubscriberAddress.status.in_(list(only_from)))
    values: dict[str, object] = {"status": status, "changed_at": utcnow()}
    if status == AddressStatus.ACTIVE:
        values |= {"bounce_score": 0.0, "bounce_updated_at": None}
    result = await session.execute(query.values(**values))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def address_of(session: AsyncSession, subscriber_id: int, address: str) -> SubscriberAddress | None:
    """The subscriber's row of ``address`` (any case), locked."""
    return await session.scalar(
        select(SubscriberAddress)
        .where(
            SubscriberAddress.subscriber_id == subscriber_id,
            func.lower(SubscriberAddress.address) == address.strip().lower(),
        )
        .with_for_update()
    )


async def remaining_addresses(session: AsyncSession, subscriber_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(SubscriberAddress)
            .where(SubscriberAddress.subscriber_id == subscriber_id)
        )
        or 0
    )


async def zone_counts(session: AsyncSession, network_id: int) -> list[tuple[Zone, int, int]]:
    """Each zone with its number of subscribers and of active addresses."""
    members = select(ZoneMembership.zone_id, ZoneMembership.subscriber_id).distinct().subquery()
    active = (
        select(SubscriberAddress.subscriber_id, func.count().label("n"))
        .where(SubscriberAddress.status == AddressStatus.ACTIVE)
        .group_by(SubscriberAddress.subscriber_id)
        .subquery()
    )
    rows = await session.execute(
        select(Zone, func.count(members.c.subscriber_id), func.coalesce(func.sum(active.c.n), 0))
        .outerjoin(members, members.c.zone_id == Zone.id)
        .outerjoin(active, active.c.subscriber_id == members.c.subscriber_id)
        .where(Zone.network_id == network_id)
        .group_by(Zone.id)
        .order_by(Zone.slug)
    )
    return [(zone, int(count), int(addresses)) for zone, count, addresses in rows.all()]


async def unsubscribe_address(session: AsyncSession, network_id: int, address: str, now: datetime) -> int:
    """Mark the network's active rows of ``address`` unsubscribed; returns how many changed."""
    subscriber_ids = select(Subscriber.id).where(Subscriber.network_id == network_id)
    result = await session.execute(
        update(SubscriberAddress)
        .where(
            SubscriberAddress.address == address,
            SubscriberAddress.subscriber_id.in_(subscriber_ids),
            SubscriberAddress.status == AddressStatus.ACTIVE,
        )
        .values(status=AddressStatus.UNSUBSCRIBED, changed_at=now)
    )
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


async def named(session: AsyncSession, network_id: int, name: str, limit: int = 6) -> list[Subscriber]:
    """Subscribers called ``name`` (any case); else those whose name contains it (at most ``limit``)."""
    base = select(Subscriber).where(Subscriber.network_id == network_id)
    found = list(await session.scalars(base.where(func.lower(Subscriber.company) == name.lower())))
    if not found:
        pattern = "%" + name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = base.where(func.lower(Subscriber.company).like(pattern, escape="\\"))
        found = list(await session.scalars(query.order_by(Subscriber.company).limit(limit)))
    return found


async def clear_network(session: AsyncSession, network_id: int) -> None:
    """Delete the network's subscribers, zones and groups (with their memberships): the demo reload."""
    await session.execute(delete(Subscriber).where(Subscriber.network_id == network_id))
    await session.execute(delete(Zone).where(Zone.network_id == network_id))
    await session.execute(delete(Group).where(Group.network_id == network_id))


async def has_subscribers(session: AsyncSession, network_id: int) -> bool:
    found = await session.scalar(select(Subscriber.id).where(Subscriber.network_id == network_id).limit(1))
    return found is not None
