"""One subscriber at a time, for the CLI: show, add, remove, disable and enable; all audited.

A target is an address (that address, in whichever company it is) or a company name (the whole
subscriber).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.errors import NotFound
from save_relay.core.problems import ProblemsError
from save_relay.core.states import AddressStatus
from save_relay.membership.csvfile import validate_row
from save_relay.membership.subscribers import SubscriberImport, apply_rows, without_suppressed
from save_relay.store import audit, events
from save_relay.store import subscribers as store
from save_relay.store.tables import Subscriber


def _is_address(target: str) -> bool:
    return "@" in target


async def _subscribers(session: AsyncSession, network_id: int, target: str) -> list[Subscriber]:
    found = await store.find_subscribers(session, network_id, target)
    if not found:
        raise NotFound(f"no subscriber or address {target!r}")
    return found


async def describe(session: AsyncSession, network_id: int, target: str) -> list[dict[str, Any]]:
    """The subscribers matching ``target`` with their addresses, zones (manual, computed) and groups."""
    found = await _subscribers(session, network_id, target)
    member_of = await store.memberships(session, network_id)
    rows = await store.address_rows(session, network_id)
    out = []
    for subscriber in found:
        manual, computed, groups = member_of.get(subscriber.id, ([], [], []))
        location = (
            f"{subscriber.latitude:.6f}, {subscriber.longitude:.6f}"
            if subscriber.latitude is not None and subscriber.longitude is not None
            else ""
        )
        out.append(
            {
                "company": subscriber.company,
                "contact": subscriber.contact,
                "street": subscriber.street,
                "location": location,
                "enabled": subscriber.enabled,
                "addresses": [
                    f"{r.address} ({r.status}, bounce score {r.bounce_score:.2f})"
                    for r in rows
                    if r.subscriber_id == subscriber.id
                ],
                "zones": computed,
                "manual zones": manual,
                "groups": groups,
            }
        )
    return out


async def add(
    session: AsyncSession,
    network_id: int,
    cells: dict[str, str],
    *,
    actor: str,
    suppression_key: bytes | None = None,
    via: str = "cli",
    replace: bool = False,
) -> SubscriberImport:
    """Add (or extend) one subscriber from CSV-like cells, with the import's validation (and its
    refusal of erased addresses, given the suppression key).

    The cells left empty are left alone, unless ``replace`` (the console's edit form, which shows every
    field): then an empty street, location, zone or group list clears it."""
    zones = await store.zone_ids(session, network_id)
    groups = await store.group_ids(session, network_id)
    row = validate_row(0, cells, zones, groups)
    if isinstance(row, list):
        raise ProblemsError(row)
    _, refused = await without_suppressed(session, suppression_key, [row])
    if refused:
        raise ProblemsError(refused[0].problems)
    columns = set(cells) if replace else {name for name, value in cells.items() if value}
    result = await apply_rows(session, network_id, [row], columns=columns | {"company", "addresses"})
    audit.record(
        session,
        action="subscriber_added",
        actor=actor,
        via=via,
        network_id=network_id,
        object_ref=row.company[:64],
        addresses=list(row.addresses),
    )
    return result


async def remove(session: AsyncSession, network_id: int, target: str, *, actor: str) -> list[str]:
    """Delete an address (a company left without addresses goes too) or a whole company."""
    found = await _subscribers(session, network_id, target)
    lines = []
    if _is_address(target):
        for row in await store.addresses_in_network(session, network_id, target):
            await session.delete(row)
        await session.flush()
        events.record(session, network_id=network_id, address=target, event="removed", via="cli")
        lines.append(f"removed {target.lower()}")
        for subscriber in found:
            if not await store.remaining_addresses(session, subscriber.id):
                await session.delete(subscriber)
                lines.append(f"removed {subscriber.company} (no address left)")
    else:
        for subscriber in found:
            await session.delete(subscriber)
            lines.append(f"removed {subscriber.company} and its addresses")
    audit.record(
        session,
        action="subscriber_removed",
        actor=actor,
        via="cli",
        network_id=network_id,
        object_ref=target[:64],
    )
    return lines


async def set_enabled(
    session: AsyncSession, network_id: int, target: str, enabled: bool, *, actor: str, via: str = "cli"
) -> list[str]:
    """Disable or enable an address (enabling clears its bounce score) or a whole company.

    An address its owner unsubscribed is not enabled here: only a new subscription (by mail, confirmed
    by the owner) brings it back.
    """
    found = await _subscribers(session, network_id, target)
    word = "enabled" if enabled else "disabled"
    if _is_address(target):
        status, only_from = (
            (AddressStatus.ACTIVE, (AddressStatus.DISABLED,))
            if enabled
            else (AddressStatus.DISABLED, (AddressStatus.ACTIVE,))
        )
        changed = await store.set_address_status(session, network_id, target, status, only_from=only_from)
        if changed:
            events.record(session, network_id=network_id, address=target, event=word, via=via)
            lines = [f"{target.lower()}: {word}"]
        else:
            statuses = {row.status for row in await store.addresses_in_network(session, network_id, target)}
            lines = [f"{target.lower()}: not changed, it is {', '.join(sorted(statuses))}"]
    else:
        lines = []
        for subscriber in found:
            subscriber.enabled = enabled
            lines.append(f"{subscriber.company}: {word}")
    audit.record(
        session,
        action=f"subscriber_{word}",
        actor=actor,
        via=via,
        network_id=network_id,
        object_ref=target[:64],
    )
    return lines
