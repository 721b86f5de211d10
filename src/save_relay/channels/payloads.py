"""What an event's webhook JSON carries (Standard Webhooks' ``{"type", "timestamp", "data"}``).

A report event carries only what its distribution carries (invariant 7): the reference, the subject,
the text the moderator judged (the edited text, else the preview: never the raw mail), the zones and
groups, the credited company if the moderator credited it, the names of the attachments as the
preview keeps them (not their bytes, no image metadata), plus the category and the exercise mark.
A rejection carries the reference and nothing of the report's content. A canvass event carries the
police's question and area; an answer only that one came in and the count, never who answered or what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.channels.eligibility import tlp_of
from save_relay.core.clock import as_utc
from save_relay.core.context import NetworkRef
from save_relay.core.geo import ZoneIndex
from save_relay.core.states import TEST_EVENT, ChannelEvent
from save_relay.store import canvass as canvass_store
from save_relay.store import recipients, reports, zones
from save_relay.store.tables import Canvass, ChannelEventRow, Report


@dataclass(frozen=True, slots=True)
class Prepared:
    """An event ready to send: its JSON data, the zones it concerns and its TLP label (None: none)."""

    data: dict[str, Any]
    zones: list[str] = field(default_factory=list)
    tlp: str | None = None


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _network(network: NetworkRef) -> dict[str, str]:
    return {"key": network.key, "address": network.settings.address, "name": network.settings.name}


async def _report(session: AsyncSession, network: NetworkRef, event: ChannelEventRow) -> Prepared | None:
    report = await session.get(Report, event.report_id) if event.report_id is not None else None
    if report is None:
        return None
    data: dict[str, Any] = {"network": _network(network), "reference": report.reference}
    data |= {"decided_at": _iso(report.decided_at), "exercise": report.exercise}
    if event.type == ChannelEvent.REPORT_REJECTED:
        return Prepared(data, list(report.zones), tlp_of(report))
    data |= await _distributed(session, report)
    if event.type == ChannelEvent.REPORT_FOLLOWUP:
        data["followup"] = event.detail  # what the follow-up feature put in its emit(): ids, no raw mail
    return Prepared(data, list(report.zones), tlp_of(report))


async def _distributed(session: AsyncSession, report: Report) -> dict[str, Any]:
    """The distribution's content, as ``render_distribution`` sends it."""
    credited = None
    if report.credit and report.subscriber_id is not None:
        details = await recipients.sender_details(session, report.subscriber_id)
        credited = details.company if details else None
    files = await reports.attachments(session, report.id)
    return {
        "subject": report.subject,
        "text": report.edited_text if report.edited_text is not None else report.preview_text,
        "zones": list(report.zones),
        "groups": list(report.groups),
        "category": report.category,
        "credited": credited,
        "attachments": [
            {"filename": f.filename, "content_type": f.content_type} for f in files if f.data is not None
        ],
    }


async def canvass_zones(session: AsyncSession, canvass: Canvass) -> list[str]:
    """The canvass's own zones and those that cover its point."""
    found = list(canvass.zones)
    if canvass.latitude is not None and canvass.longitude is not None:
        index = ZoneIndex(await zones.shapes(session, canvass.network_id))
        found += [slug for slug in index.zones_at(canvass.latitude, canvass.longitude) if slug not in found]
    return found


async def _canvass(session: AsyncSession, network: NetworkRef, event: ChannelEventRow) -> Prepared | None:
    canvass = await session.get(Canvass, event.canvass_id) if event.canvass_id is not None else None
    if canvass is None:
        return None
    data: dict[str, Any] = {"network": _network(network), "canvass": canvass_store.ref(canvass.id)}
    data |= {"title": canvass.title, "status": canvass.status, "recipients": canvass.recipients}
    if event.type == ChannelEvent.CANVASS_SENT:
        data |= {"question": canvass.question, "place": canvass.place, "zones": list(canvass.zones)}
        data |= {"latitude": canvass.latitude, "longitude": canvass.longitude, "radius_m": canvass.radius_m}
        data |= {"sent_at": _iso(canvass.sent_at), "close_at": _iso(canvass.close_at)}
    elif event.type == ChannelEvent.CANVASS_ANSWER:
        data |= {"answers": await canvass_store.answer_count(session, canvass.id)}
    else:
        data |= {
            "closed_at": _iso(canvass.closed_at),
            "answers": await canvass_store.answer_count(session, canvass.id),
        }
    return Prepared(data, await canvass_zones(session, canvass))


async def prepare(session: AsyncSession, network: NetworkRef, event: ChannelEventRow) -> Prepared | None:
    """The event's data and zones; None when its report or canvass is gone (nothing to tell)."""
    if event.type == TEST_EVENT:  # the monthly test: the network, the month, marked an exercise
        return Prepared({"network": _network(network), "exercise": True, **event.detail})
    if event.type.startswith("report."):
        return await _report(session, network, event)
    return await _canvass(session, network, event)


def body(event: ChannelEventRow, prepared: Prepared) -> bytes:
    """The JSON body, as Standard Webhooks suggests: ``type``, ``timestamp`` (of the event), ``data``."""
    document = {"type": event.type, "timestamp": _iso(event.created_at), "data": prepared.data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
