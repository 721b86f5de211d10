"""Subscribers' mobile numbers (``subscriber_phones``) and the SMS recipients of an urgent distribution."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import AddressStatus
from save_relay.store.tables import Subscriber, SubscriberAddress, SubscriberPhone


async def sms_numbers(session: AsyncSession, network_id: int) -> dict[int, list[str]]:
    """Subscriber id -> its numbers opted in to SMS, in the order they were given."""
    rows = await session.execute(
        select(SubscriberPhone.subscriber_id, SubscriberPhone.number)
        .join(Subscriber, Subscriber.id == SubscriberPhone.subscriber_id)
        .where(Subscriber.network_id == network_id, SubscriberPhone.sms)
        .order_by(SubscriberPhone.id)
    )
    found: dict[int, list[str]] = {}
    for subscriber_id, number in rows.all():
        found.setdefault(subscriber_id, []).append(number)
    return found


async def set_sms_numbers(session: AsyncSession, subscriber_id: int, numbers: Sequence[str]) -> bool:
    """Make ``numbers`` (E.164) the subscriber's SMS numbers; returns whether anything changed."""
    have = list(
        await session.scalars(
            select(SubscriberPhone.number)
            .where(SubscriberPhone.subscriber_id == subscriber_id)
            .order_by(SubscriberPhone.id)
        )
    )
    if have == list(numbers):
        return False
    await session.execute(delete(SubscriberPhone).where(SubscriberPhone.subscriber_id == subscriber_id))
    session.add_all(SubscriberPhone(subscriber_id=subscriber_id, number=n, sms=True) for n in numbers)
    await session.flush()
    return True


def sms_query(network_id: int, addresses: Select[tuple[str]]) -> Select[str]:
    """The distinct opted-in numbers of the enabled subscribers of the network that own one of
    ``addresses`` (active): an urgent distribution's SMS go to whom its mail goes, no one else."""
    chosen = addresses.subquery()
    owners = (
        select(SubscriberAddress.subscriber_id)
        .join(Subscriber, Subscriber.id == SubscriberAddress.subscriber_id)
        .where(
            Subscriber.network_id == network_id,
            Subscriber.enabled,
            SubscriberAddress.status == AddressStatus.ACTIVE,
            func.lower(SubscriberAddress.address).in_(select(chosen.c[0])),
        )
    )
    return (
        select(SubscriberPhone.number.label("number"))
        .where(SubscriberPhone.sms, SubscriberPhone.subscriber_id.in_(owners))
        .group_by(SubscriberPhone.number)
    )
