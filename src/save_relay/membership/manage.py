"""One subscriber at a time, for the CLI and the console: show, add, rename, remove, disable and enable;
all audited.

A target is an address (that address, in whichever company it is) or a company name (the whole
subscriber). The console names a subscriber by its row (``rename``, ``remove_subscriber``,
``remove_address``): one company's address, never the same address in another company.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.errors import NotFound, SaveRelayError
from save_relay.core.phones import InvalidNumber, e164
from save_relay.core.problems import Problem, ProblemsError
from save_relay.core.states import AddressStatus
from save_relay.membership.csvfile import MAX_LENGTHS, validate_row
from save_relay.membership.subscribers import SubscriberImport, apply_rows, without_suppressed
from save_relay.store import audit, events, phones
from save_relay.store import subscribers as store
from save_relay.store.tables import Subscriber


def _is_address(target: str) -> bool:
    return "@" in target


async def _subscribers(session: AsyncSession, network_id: int, target: str) -> list[Subscriber]:
    found = await store.find_subscribers(session, network_id, target)
    if not found:
        raise NotFound(f"no subscriber or address {target!r}")
    return found


async def subscriber_named(session: AsyncSession, network_id: int, company: str) -> Subscriber:
    """The company called ``company`` (any case); NotFound otherwise."""
    found = [
        s
        for s in await _subscribers(session, network_id, company)
        if s.company.casefold() == company.casefold()
    ]
    if not found:
        raise NotFound(f"no company {company!r}")
    return found[0]


async def describe(session: AsyncSession, network_id: int, target: str) -> list[dict[str, Any]]:
    """The subscribers matching ``target`` with their addresses, zones (manual, computed) and groups."""
    found = await _subscribers(session, network_id, target)
    member_of = await store.memberships(session, network_id)
    rows = await store.address_rows(session, network_id)
    numbers = await phones.sms_numbers(session, network_id)
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
                "sms": numbers.get(subscriber.id, []),
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
    region: str = "BE",
) -> SubscriberImport:
    """Add (or extend) one subscriber from CSV-like cells, with the import's validation (and its
    refusal of erased addresses, given the suppression key).

    The cells left empty are left alone, unless ``replace`` (the console's edit form, which shows every
    field): then an empty street, location, zone or group list clears it."""
    zones = await store.zone_ids(session, network_id)
    groups = await store.group_ids(session, network_id)
    row = validate_row(0, cells, zones, groups, region=region)
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
        sms=len(row.sms),
    )
    return result


async def set_sms(
    session: AsyncSession,
    network_id: int,
    company: str,
    numbers: Sequence[str],
    *,
    region: str,
    actor: str,
    via: str = "cli",
) -> list[str]:
    """Make ``numbers`` a company's SMS numbers (none: it gets no SMS); SaveRelayError for a bad one."""
    found = [s for s in await _subscribers(session, network_id, company) if not _is_address(company)]
    if len(found) != 1:
        raise NotFound(f"no single company {company!r}")
    valid: dict[str, None] = {}
    for raw in numbers:
        try:
            valid[e164(raw, region)] = None
        except InvalidNumber as exc:
            raise SaveRelayError(str(exc)) from None
    changed = await phones.set_sms_numbers(session, found[0].id, list(valid))
    audit.record(
        session,
        action="subscriber_sms",
        actor=actor,
        via=via,
        network_id=network_id,
        object_ref=found[0].company[:64],
        sms=len(valid),
    )
    shown = ", ".join(valid) or "none"
    return [f"{found[0].company}: SMS to {shown}" if changed else f"{found[0].company}: unchanged ({shown})"]


async def remove(
    session: AsyncSession, network_id: int, target: str, *, actor: str, via: str = "cli"
) -> list[str]:
    """Delete an address (a company left without addresses goes too) or a whole company."""
    found = await _subscribers(session, network_id, target)
    lines = []
    if _is_address(target):
        for row in await store.addresses_in_network(session, network_id, target):
            await session.delete(row)
        await session.flush()
        events.record(session, network_id=network_id, address=target, event="removed", via=via)
        lines.append(f"removed {target.lower()}")
        for subscriber in found:
            if not await store.remaining_addresses(session, subscriber.id):
                await session.delete(subscriber)
                lines.append(f"removed {subscriber.company} (no address left)")
    else:
        for subscriber in found:
            await session.delete(subscriber)
            lines.append(f"removed {subscriber.company} and its addresses")
    _removed(session, network_id, target, actor, via)
    return lines


def _removed(session: AsyncSession, network_id: int, target: str, actor: str, via: str) -> None:
    audit.record(
        session,
        action="subscriber_removed",
        actor=actor,
        via=via,
        network_id=network_id,
        object_ref=target[:64],
    )


async def remove_subscriber(session: AsyncSession, subscriber: Subscriber, *, actor: str, via: str) -> None:
    """Delete one company with its addresses and memberships."""
    await session.delete(subscriber)
    await session.flush()
    _removed(session, subscriber.network_id, subscriber.company, actor, via)


async def remove_address(
    session: AsyncSession, subscriber: Subscriber, address: str, *, actor: str, via: str
) -> bool:
    """Delete ``address`` of this company only; the company goes too when it has no address left
    (returned True then). NotFound if the company has no such address."""
    row = await store.address_of(session, subscriber.id, address)
    if row is None:
        raise NotFound(f"{subscriber.company} has no address {address!r}")
    await session.delete(row)
    await session.flush()
    network_id = subscriber.network_id
    events.record(session, network_id=network_id, address=row.address, event="removed", via=via)
    _removed(session, network_id, row.address, actor, via)
    if await store.remaining_addresses(session, subscriber.id):
        return False
    await remove_subscriber(session, subscriber, actor=actor, via=via)
    return True


async def rename(session: AsyncSession, subscriber: Subscriber, name: str, *, actor: str, via: str) -> None:
    """Give the company a new name (the import and the CLI find it by that name from then on).

    ``ProblemsError`` when the name is empty, too long, or another company of the network has it (any
    case): two companies of one name would be one for the import."""
    new = " ".join(name.split())
    limit = MAX_LENGTHS["company"]
    problems = [Problem.of("csv_no_company")] if not new else []
    problems += [Problem.of("csv_too_long", field="company", limit=limit)] if len(new) > limit else []
    others = [
        s for s in await store.find_subscribers(session, subscriber.network_id, new) if s.id != subscriber.id
    ]
    if new and any(s.company.casefold() == new.casefold() for s in others):
        problems.append(Problem.of("company_taken", company=new))
    if problems:
        raise ProblemsError(problems)
    old, subscriber.company = subscriber.company, new
    await session.flush()
    audit.record(
        session,
        action="subscriber_renamed",
        actor=actor,
        via=via,
        network_id=subscriber.network_id,
        object_ref=new[:64],
        old=old,
    )


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
