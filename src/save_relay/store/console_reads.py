"""Reads behind the console's coordinator pages: a page of the audit log, subscriber search and one
subscriber's memberships, a network's canvasses. Changes go through the services the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.store.subscribers import MANUAL
from save_relay.store.tables import (
    AuditEntry,
    Canvass,
    Group,
    GroupMembership,
    Subscriber,
    SubscriberAddress,
    SubscriberPhone,
    Zone,
    ZoneMembership,
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit page narrows to: an object (a report's reference, ``canvass-7``), a person (an
    address found anywhere in the entry), an account (the actor), a period [since, until)."""

    object_ref: str | None = None
    person: str | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def audit_page(
    session: AsyncSession, network_id: int, narrow: AuditFilter, *, offset: int, limit: int
) -> list[AuditEntry]:
    """The network's entries that match ``narrow``, newest first, ``limit`` of them from ``offset``."""
    query = select(AuditEntry).where(AuditEntry.network_id == network_id)
    if narrow.object_ref:
        query = query.where(AuditEntry.object_ref == narrow.object_ref)
    if narrow.account:
        query = query.where(func.lower(AuditEntry.actor) == narrow.account.lower())
    if narrow.person:
        pattern = _like(narrow.person)
        query = query.where(
            func.lower(AuditEntry.actor).like(pattern, escape="\\")
            | func.lower(AuditEntry.object_ref).like(pattern, escape="\\")
            | func.lower(cast(AuditEntry.detail, Text)).like(pattern, escape="\\")
        )
    if narrow.since:
        query = query.where(AuditEntry.at >= narrow.since)
    if narrow.until:
        query = query.where(AuditEntry.at < narrow.until)
    rows = await session.scalars(query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit))
    return list(rows)


async def search_subscribers(
    session: AsyncSession, network_id: int, text: str, *, limit: int
) -> list[tuple[Subscriber, int]]:
    """Subscribers whose company, contact, street or an address contains ``text`` (all when empty), by
    company, each with its number of addresses."""
    query = select(Subscriber).where(Subscriber.network_id == network_id)
    if text.strip():
        pattern = _like(text.strip())
        with_address = select(SubscriberAddress.subscriber_id).where(
            func.lower(SubscriberAddress.address).like(pattern, escape="\\")
        )
        query = query.where(
            func.lower(Subscriber.company).like(pattern, escape="\\")
            | func.lower(Subscriber.contact).like(pattern, escape="\\")
            | func.lower(Subscriber.street).like(pattern, escape="\\")
            | Subscriber.id.in_(with_address)
        )
    found = list(await session.scalars(query.order_by(Subscriber.company).limit(limit)))
    rows = await session.execute(
        select(SubscriberAddress.subscriber_id, func.count())
        .where(SubscriberAddress.subscriber_id.in_([s.id for s in found]))
        .group_by(SubscriberAddress.subscriber_id)
    )
    counts = {subscriber_id: number for subscriber_id, number in rows.all()}
    return [(subscriber, int(counts.get(subscriber.id, 0))) for subscriber in found]


async def subscriber(session: AsyncSession, subscriber_id: int) -> Subscriber | None:
    return await session.get(Subscriber, subscriber_id)


async def sms_numbers_of(session: AsyncSession, subscriber_id: int) -> list[str]:
    """A subscriber's numbers opted in to SMS (the edit form shows them)."""
    rows = await session.scalars(
        select(SubscriberPhone.number)
        .where(SubscriberPhone.subscriber_id == subscriber_id, SubscriberPhone.sms)
        .order_by(SubscriberPhone.id)
    )
    return list(rows)


async def addresses_of(session: AsyncSession, subscriber_id: int) -> list[SubscriberAddress]:
    rows = await session.scalars(
        select(SubscriberAddress)
        .where(SubscriberAddress.subscriber_id == subscriber_id)
        .order_by(SubscriberAddress.address)
    )
    return list(rows)


async def memberships_of(session: AsyncSession, subscriber_id: int) -> tuple[list[str], list[str], list[str]]:
    """One subscriber's (manual zone slugs, computed zone slugs, group slugs), sorted."""
    manual: list[str] = []
    computed: list[str] = []
    rows = await session.execute(
        select(Zone.slug, ZoneMembership.source)
        .join(Zone, Zone.id == ZoneMembership.zone_id)
        .where(ZoneMembership.subscriber_id == subscriber_id)
        .order_by(Zone.slug)
    )
    for slug, source in rows.all():
        (manual if source == MANUAL else computed).append(slug)
    groups = await session.scalars(
        select(Group.slug)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.subscriber_id == subscriber_id)
        .order_by(Group.slug)
    )
    return manual, computed, list(groups)


async def canvasses_of(session: AsyncSession, network_id: int, *, limit: int) -> list[Canvass]:
    """The network's canvasses, newest first."""
    rows = await session.scalars(
        select(Canvass).where(Canvass.network_id == network_id).order_by(Canvass.id.desc()).limit(limit)
    )
    return list(rows)
