"""Managed webhook endpoints: add, disable, enable, rotate, remove (the CLI, the CSV import, the console).

One organisation (a security firm's control room) has one or more endpoints in a network, each with its
URL, its events, its zones and a ``whsec_`` secret made here with ``secrets``. The secret is returned
once, by ``add`` and ``rotate``, for the caller to show that one time; it is stored because Standard
Webhooks signs with the raw key (docs/security.md), and nothing here logs it. The callers audit.

Rules: the name is unique in the network, across the settings' endpoints as well (a delivery names its
endpoint); the URL is https:// (http:// to loopback only where the network's ``webhook_http_loopback``
says so); the events are ``ChannelEvent`` values; the zones exist in the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import NAME_PATTERN, check_url, new_secret
from save_relay.store import webhook_endpoints
from save_relay.store import zones as zone_store
from save_relay.store.tables import WebhookEndpointRow

ALL_EVENTS = [str(e) for e in ChannelEvent]


class EndpointError(SaveRelayError):
    """The endpoint was refused; ``key`` names the reason for a translated text (the console's
    ``webhook_<key>``), ``value`` is what was wrong; the message is English (CLI, logs)."""

    def __init__(self, key: str, message: str, value: str = "") -> None:
        super().__init__(message)
        self.key, self.value = key, value


@dataclass(frozen=True, slots=True)
class Wanted:
    """An endpoint as asked for (a CLI call, a CSV row, a console form), not yet checked."""

    name: str
    url: str
    organisation: str = ""
    events: tuple[str, ...] = ()  # none: every event
    zones: tuple[str, ...] = ()  # none: every zone
    enabled: bool = True


def _events(values: Iterable[str]) -> list[str]:
    chosen = [v.strip().lower() for v in values if v.strip()]
    unknown = [v for v in chosen if v not in ALL_EVENTS]
    if unknown:
        raise EndpointError(
            "bad_event", f"unknown event {unknown[0]!r} (known: {', '.join(ALL_EVENTS)})", unknown[0]
        )
    return [e for e in ALL_EVENTS if e in chosen] or list(ALL_EVENTS)


async def checked(session: AsyncSession, network: NetworkRef, wanted: Wanted) -> Wanted:
    """``wanted`` normalised, or EndpointError with the first problem."""
    name = wanted.name.strip().lower()
    if not re.fullmatch(NAME_PATTERN, name):
        raise EndpointError(
            "bad_name", f"invalid name {wanted.name!r}: a-z, 0-9, - and _, at most 64", wanted.name
        )
    try:
        url = check_url(wanted.url.strip(), http_loopback=network.settings.webhook_http_loopback)
    except ValueError as exc:
        raise EndpointError("bad_url", f"{wanted.url!r}: {exc}", wanted.url) from None
    if len(url) > 2000:
        raise EndpointError("bad_url", "the URL is longer than 2000 characters", url[:60])
    events = _events(wanted.events)
    zones = sorted({z.strip().lower() for z in wanted.zones if z.strip()})
    known = await zone_store.zones(session, network.id)
    missing = [z for z in zones if z not in known]
    if missing:
        raise EndpointError("bad_zone", f"no zone {missing[0]!r} in {network.key}", missing[0])
    organisation = wanted.organisation.strip()[:200]
    return Wanted(name, url, organisation, tuple(events), tuple(zones), wanted.enabled)


async def add(session: AsyncSession, network: NetworkRef, wanted: Wanted) -> tuple[WebhookEndpointRow, str]:
    """A new endpoint and its secret (to be shown once); EndpointError if refused."""
    good = await checked(session, network, wanted)
    if network.settings.webhook(good.name) is not None:
        raise EndpointError("taken", f"{good.name!r} is an endpoint of the settings already", good.name)
    if await webhook_endpoints.by_name(session, network.id, good.name) is not None:
        raise EndpointError("taken", f"there is an endpoint {good.name!r} already", good.name)
    secret = new_secret()
    row = webhook_endpoints.add(
        session,
        network_id=network.id,
        name=good.name,
        url=good.url,
        secret=secret,
        events=good.events,
        zones=good.zones,
        organisation=good.organisation,
        enabled=good.enabled,
    )
    await session.flush()
    return row, secret


async def update(session: AsyncSession, network: NetworkRef, row: WebhookEndpointRow, wanted: Wanted) -> bool:
    """Give ``row`` the URL, organisation, events, zones and state of ``wanted`` (its secret stays);
    True if anything changed."""
    good = await checked(session, network, wanted)
    before = (row.url, row.organisation, list(row.events), list(row.zones), row.enabled)
    row.url, row.organisation, row.enabled = good.url, good.organisation, good.enabled
    row.events, row.zones = list(good.events), list(good.zones)
    return before != (row.url, row.organisation, list(row.events), list(row.zones), row.enabled)


async def find(session: AsyncSession, network: NetworkRef, name: str) -> WebhookEndpointRow:
    """The managed endpoint ``name`` of ``network``; EndpointError if there is none."""
    row = await webhook_endpoints.by_name(session, network.id, name.strip().lower())
    if row is None:
        hint = " (it is in the settings: change it there)" if network.settings.webhook(name) else ""
        raise EndpointError("unknown", f"no managed endpoint {name!r} in {network.key}{hint}", name)
    return row


def rotate(row: WebhookEndpointRow) -> str:
    """A new secret for ``row`` (the old one stops at once: retries are signed with the new one)."""
    secret = new_secret()
    webhook_endpoints.set_secret(row, secret)
    return secret


def describe(row: WebhookEndpointRow) -> dict[str, object]:
    """What an audit entry or a listing may say of an endpoint: everything but its secret."""
    return {
        "name": row.name,
        "organisation": row.organisation,
        "url": row.url,
        "events": list(row.events),
        "zones": list(row.zones),
        "enabled": row.enabled,
    }
