"""Load the demo network's zones (GeoJSON) and subscribers (CSV) from ``config/``; idempotent.

A thin wrapper around the real importers (``membership.zones``, ``membership.subscribers``): it empties
the network first, so that a newcomer gets exactly the demo data, and creates the groups the CSV names.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.membership.subscribers import import_csv
from save_relay.membership.zones import import_zones
from save_relay.moderation.incident import set_incident_time
from save_relay.store import subscribers as subscriber_store
from save_relay.store.subscribers import group_ids
from save_relay.store.tables import InboundMessage, Report


@dataclass(frozen=True, slots=True)
class DemoCounts:
    zones: int
    subscribers: int
    addresses: int
    groups: int


async def load_demo(
    session: AsyncSession, network_id: int, zones_file: Path, subscribers_file: Path
) -> DemoCounts:
    """Replace the network's zones, groups and subscribers with the demo data."""
    geojson = await asyncio.to_thread(zones_file.read_text, encoding="utf-8")
    csv_text = await asyncio.to_thread(subscribers_file.read_text, encoding="utf-8")
    await subscriber_store.clear_network(session, network_id)
    zones = await import_zones(session, network_id, geojson)
    imported = await import_csv(session, network_id, csv_text, create_groups=True)
    if imported.errors:
        raise SaveRelayError(f"{subscribers_file}: " + "; ".join(map(str, imported.errors[:5])))
    return DemoCounts(
        zones=len(zones.added),
        subscribers=imported.created,
        addresses=imported.addresses_added,
        groups=len(await group_ids(session, network_id)),
    )


async def has_subscribers(session: AsyncSession, network_id: int) -> bool:
    return await subscriber_store.has_subscribers(session, network_id)


async def add_incident(
    session: AsyncSession, network: NetworkRef, n: int, at: datetime, **fields: Any
) -> Report:
    """A stored report (and its inbound message) with its incident at ``at``, without the mail flow:
    demo statistics and tests. ``fields``: Report columns (status, category, zones, exercise, ...)."""
    raw = f"Subject: melding {n}\r\n\r\ntekst {n}\r\n".encode()
    inbound = InboundMessage(
        network_id=network.id,
        purpose="post",
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        mail_from="security@metaalwerken-vos.example",
        rcpt_to=network.settings.address,
        status="done",
    )
    session.add(inbound)
    await session.flush()
    report = Report(
        network_id=network.id,
        inbound_id=inbound.id,
        reference=f"DEMO-{n + 1:06d}",
        received_at=at,
        **fields,
    )
    set_incident_time(report, at, "text", network.settings)
    session.add(report)
    return report
