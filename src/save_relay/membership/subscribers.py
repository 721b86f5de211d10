"""Subscribers from the CSV: an idempotent upsert keyed on the company and its addresses.

A line names a company; its contact, street and location are updated, its addresses are added when new
(an address the file no longer lists is kept: removing one is ``subscribers remove``; an unsubscribed or
disabled address is never re-activated by an import), and its manual zones and its groups become the
line's (when the file has those columns). A subscriber that moved gets its computed zones anew; nobody
else's are touched. The caller's transaction holds it all: roll it back for a dry run.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.geo import ZoneIndex
from save_relay.core.problems import Problem
from save_relay.core.states import AddressStatus
from save_relay.membership.csvfile import LineError, SubscriberRow, parse_subscribers, write_subscribers
from save_relay.membership.suppress import suppressed
from save_relay.store import phones
from save_relay.store import subscribers as store
from save_relay.store import zones as zone_store
from save_relay.store.tables import Subscriber


@dataclass(slots=True)
class SubscriberImport:
    """What an import did: counts, one line per change, and the refused lines."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    addresses_added: int = 0
    changes: list[str] = field(default_factory=list)
    errors: tuple[LineError, ...] = ()

    def summary(self) -> str:
        return (
            f"{self.created} new, {self.updated} changed, {self.unchanged} unchanged subscriber(s); "
            f"{self.addresses_added} address(es) added; {len(self.errors)} line(s) refused"
        )


@dataclass(frozen=True, slots=True)
class _Context:
    network_id: int
    zone_ids: dict[str, int]
    group_ids: dict[str, int]
    index: ZoneIndex
    columns: frozenset[str]


def _names(ids: Collection[int], by_id: dict[int, str]) -> str:
    return ", ".join(sorted(by_id[i] for i in ids)) or "-"


def _computed(ctx: _Context, row: SubscriberRow) -> set[int]:
    if row.latitude is None or row.longitude is None:
        return set()
    return {ctx.zone_ids[slug] for slug in ctx.index.zones_at(row.latitude, row.longitude)}


async def _create(session: AsyncSession, ctx: _Context, row: SubscriberRow, out: SubscriberImport) -> None:
    subscriber = Subscriber(
        network_id=ctx.network_id,
        company=row.company,
        contact=row.contact,
        street=row.street,
        latitude=row.latitude,
        longitude=row.longitude,
        enabled=True,
    )
    session.add(subscriber)
    await session.flush()
    await store.add_addresses(session, subscriber.id, row.addresses)
    await store.set_zones(session, subscriber.id, store.COMPUTED, (), _computed(ctx, row))
    await store.set_zones(session, subscriber.id, store.MANUAL, (), {ctx.zone_ids[z] for z in row.zones})
    await store.set_groups(session, subscriber.id, (), {ctx.group_ids[g] for g in row.groups})
    await phones.set_sms_numbers(session, subscriber.id, row.sms)
    out.created += 1
    out.addresses_added += len(row.addresses)
    out.changes.append(f"line {row.line}: new subscriber {row.company} ({', '.join(row.addresses)})")


async def _update(
    session: AsyncSession,
    ctx: _Context,
    row: SubscriberRow,
    subscriber: Subscriber,
    members: store.Members,
    out: SubscriberImport,
) -> None:
    changed: list[str] = []
    for name in ("contact", "street"):
        if name in ctx.columns and getattr(subscriber, name) != getattr(row, name):
            setattr(subscriber, name, getattr(row, name))
            changed.append(name)
    if "latitude" in ctx.columns and (subscriber.latitude, subscriber.longitude) != (
        row.latitude,
        row.longitude,
    ):
        subscriber.latitude, subscriber.longitude = row.latitude, row.longitude
        old, new = members.computed_zones.get(subscriber.id, set()), _computed(ctx, row)
        await store.set_zones(session, subscriber.id, store.COMPUTED, old, new)
        changed.append(
            "location" + (f" (zones now {_names(new, _by_id(ctx.zone_ids))})" if old != new else "")
        )
    have = members.addresses.get(subscriber.id, {})
    new_addresses = [a for a in row.addresses if a not in have]
    if new_addresses:
        await store.add_addresses(session, subscriber.id, new_addresses)
        out.addresses_added += len(new_addresses)
        changed.append(f"+ {', '.join(new_addresses)}")
    if "zones" in ctx.columns:
        old, new = members.manual_zones.get(subscriber.id, set()), {ctx.zone_ids[z] for z in row.zones}
        if old != new:
            await store.set_zones(session, subscriber.id, store.MANUAL, old, new)
            changed.append(f"manual zones {_names(new, _by_id(ctx.zone_ids))}")
    if "groups" in ctx.columns:
        old, new = members.groups.get(subscriber.id, set()), {ctx.group_ids[g] for g in row.groups}
        if old != new:
            await store.set_groups(session, subscriber.id, old, new)
            changed.append(f"groups {_names(new, _by_id(ctx.group_ids))}")
    if "sms" in ctx.columns and await phones.set_sms_numbers(session, subscriber.id, row.sms):
        changed.append(f"sms {', '.join(row.sms) or '-'}")
    if changed:
        out.updated += 1
        out.changes.append(f"line {row.line}: {subscriber.company}: {'; '.join(changed)}")
    else:
        out.unchanged += 1


def _by_id(ids: dict[str, int]) -> dict[int, str]:
    return {value: key for key, value in ids.items()}


async def apply_rows(
    session: AsyncSession,
    network_id: int,
    rows: Sequence[SubscriberRow],
    *,
    columns: Collection[str],
    out: SubscriberImport | None = None,
) -> SubscriberImport:
    """Upsert validated rows (their zones and groups must exist) in the caller's transaction."""
    out = out or SubscriberImport()
    ctx = _Context(
        network_id=network_id,
        zone_ids=await store.zone_ids(session, network_id),
        group_ids=await store.group_ids(session, network_id),
        index=ZoneIndex(await zone_store.shapes(session, network_id)),
        columns=frozenset(columns),
    )
    members = await store.load_members(session, network_id)
    for row in rows:
        subscriber = members.by_company.get(store.company_key(row.company))
        if subscriber is None:
            await _create(session, ctx, row, out)
        else:
            await _update(session, ctx, row, subscriber, members, out)
    await session.flush()
    return out


async def import_csv(
    session: AsyncSession,
    network_id: int,
    text: str,
    *,
    create_groups: Collection[str] | bool = (),
    test_environment: bool = False,
    suppression_key: bytes | None = None,
    region: str = "BE",
) -> SubscriberImport:
    """Parse, validate and apply a subscribers CSV; bad lines are reported and skipped whole.

    ``create_groups``: True creates any group a line names; a collection creates those (the network's
    default groups) and refuses other unknown ones. ``suppression_key``: refuse lines that name an
    erased address (the suppression list). ``region``: the country of numbers written nationally.
    """
    zones = await store.zone_ids(session, network_id)
    if isinstance(create_groups, bool):
        groups = None if create_groups else await store.group_ids(session, network_id)
    else:
        groups = await store.ensure_groups(session, network_id, create_groups)
    parsed = parse_subscribers(
        text, zones=zones, groups=groups, test_environment=test_environment, region=region
    )
    if groups is None:
        await store.ensure_groups(session, network_id, (g for row in parsed.rows for g in row.groups))
    rows, refused = await without_suppressed(session, suppression_key, parsed.rows)
    out = SubscriberImport(errors=tuple(sorted((*parsed.errors, *refused), key=lambda e: e.line)))
    return await apply_rows(session, network_id, rows, columns=parsed.columns, out=out)


async def without_suppressed(
    session: AsyncSession, key: bytes | None, rows: Sequence[SubscriberRow]
) -> tuple[list[SubscriberRow], list[LineError]]:
    """``rows`` without those naming an erased address, and a refusal for each of those."""
    if key is None:
        return list(rows), []
    erased = await suppressed(session, key, [a for row in rows for a in row.addresses])
    kept, refused = [], []
    for row in rows:
        hits = [a for a in row.addresses if a in erased]
        if hits:
            refused.append(
                LineError(row.line, tuple(Problem.of("csv_address_erased", address=a) for a in hits))
            )
        else:
            kept.append(row)
    return kept, refused


async def export_csv(session: AsyncSession, network_id: int, *, every_status: bool = False) -> str:
    """The network's subscribers in the import format; only active addresses unless ``every_status``."""
    statuses = None if every_status else (AddressStatus.ACTIVE,)
    rows = await store.address_rows(session, network_id, statuses=statuses)
    member_of = await store.memberships(session, network_id)
    numbers = await phones.sms_numbers(session, network_id)
    grouped: dict[int, list[store.AddressRow]] = {}
    for row in rows:
        grouped.setdefault(row.subscriber_id, []).append(row)
    out: list[SubscriberRow] = []
    for subscriber_id, addresses in grouped.items():
        first = addresses[0]
        manual, _, groups = member_of.get(subscriber_id, ([], [], []))
        out.append(
            SubscriberRow(
                line=0,
                company=first.company,
                contact=first.contact,
                addresses=tuple(a.address for a in addresses),
                street=first.street,
                latitude=first.latitude,
                longitude=first.longitude,
                zones=tuple(manual),
                groups=tuple(groups),
                sms=tuple(numbers.get(subscriber_id, ())),
            )
        )
    return write_subscribers(out)
