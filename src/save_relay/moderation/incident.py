"""The incident behind a report as data: its category, its time and its place (statistics, issue 19).

Decided when the report is announced (a suggestion from the text, the reporter's location) and set by
the moderator afterwards (reply lines ``categorie:``, ``tijdstip:``, ``plaats:``, or the CLI). Each
field keeps who said so (``*_source``), and the incident time keeps its weekday, hour and month on the
network's clock (``core.clock.local_parts``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.categories import Category
from save_relay.core.clock import as_utc, local_parts
from save_relay.core.context import NetworkRef
from save_relay.core.errors import CommandRefused
from save_relay.core.geo import parse_location
from save_relay.core.settings import NetworkSettings
from save_relay.mail.commands import IncidentChange
from save_relay.mail.i18n import Reason, Refusal, reason_text
from save_relay.mail.incident import parse_moderator_time, read_incident_time, suggest_category
from save_relay.mail.parse import ParsedMessage
from save_relay.processing.gate import Actor
from save_relay.store import audit, subscribers
from save_relay.store import zones as zone_store
from save_relay.store.recipients import SenderInfo
from save_relay.store.tables import Report

MODERATOR = "moderator"  # the *_source of what a moderator set


def describe_incident(
    report: Report, parsed: ParsedMessage, sender: SenderInfo | None, conf: NetworkSettings
) -> None:
    """Fill a new report's category (suggested), incident time (read from the text, else the time it
    was received) and place (the reporting company's location, when known)."""
    report.category = suggest_category(parsed.subject, parsed.text, conf.categories)
    report.category_source = "suggested"
    zone = ZoneInfo(conf.timezone)
    found = read_incident_time(parsed.text, as_utc(report.received_at), zone)
    if found is not None:
        set_incident_time(report, found.at, "text", conf)
    else:
        set_incident_time(report, as_utc(report.received_at), "received", conf)
    if sender is not None and sender.latitude is not None and sender.longitude is not None:
        set_place(report, sender.latitude, sender.longitude, sender.company, "reporter")


def set_incident_time(report: Report, at: datetime, source: str, conf: NetworkSettings) -> None:
    """Store the time in UTC (SQLite keeps no offset: a local time would be read back as UTC)."""
    report.incident_at = as_utc(at).astimezone(UTC)
    report.incident_source = source
    weekday, hour, month, day = local_parts(at, ZoneInfo(conf.timezone))
    report.incident_weekday, report.incident_hour, report.incident_month = weekday, hour, month
    report.incident_day = day


def set_place(report: Report, latitude: float, longitude: float, label: str, source: str) -> None:
    report.place_lat, report.place_lon = latitude, longitude
    report.place_label, report.place_source = label[:300], source


def incident_context(report: Report, conf: NetworkSettings) -> dict[str, object]:
    """What the notification shows of the incident, in the network's language."""
    category = conf.category(report.category)
    local = as_utc(report.incident_at or report.received_at).astimezone(ZoneInfo(conf.timezone))
    return {
        "category": category.name(conf.language) if category else report.category,
        "category_slug": report.category,
        "categories": [c.slug for c in conf.categories],
        "incident_time": local.strftime("%Y-%m-%d %H:%M"),
        "incident_from_text": report.incident_source == "text",
        "incident_place": report.place_label
        or (f"{report.place_lat:.5f}, {report.place_lon:.5f}" if report.place_lat is not None else ""),
    }


@dataclass(frozen=True, slots=True)
class Place:
    latitude: float
    longitude: float
    label: str


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace("-", " ").split())


def find_category(categories: list[Category], value: str) -> Category | None:
    """The category named ``value``: its slug or its name in any language, any case or accents."""
    wanted = _folded(value)
    for category in categories:
        if wanted in {_folded(category.slug), *(_folded(name) for name in category.names.values())}:
            return category
    return None


def _refused(code: Reason, english: dict[str, str] | None = None, **params: str) -> CommandRefused:
    """English for the CLI and the logs (``english``: other parameters there); the code for a reply in
    the network's language."""
    refusal = Refusal.of(code, **params)
    return CommandRefused(reason_text(Refusal.of(code, **(params | (english or {}))), "en"), refusal)


async def resolve_place(session: AsyncSession, network_id: int, value: str) -> Place:
    """``51.24, 5.31``; else a subscriber (its company, any case; or the only one whose name holds
    ``value``) with a location; else a zone (slug or name) at a point inside it."""
    found = parse_location(value)
    if found is not None:
        return Place(found[0], found[1], "")
    named = await subscribers.named(session, network_id, value)
    chosen = [s for s in named if s.company.casefold() == value.casefold()]
    if not chosen:
        wanted = _folded(value)
        for zone in await zone_store.shapes(session, network_id):
            if wanted in (_folded(zone.slug), _folded(zone.name)):
                point = zone.geometry.representative_point()  # inside the zone, unlike a centroid
                return Place(point.y, point.x, zone.name)
        chosen = named
    if len(chosen) > 1:
        raise _refused(Reason.AMBIGUOUS_PLACE, value=value, names=", ".join(s.company for s in chosen))
    if not chosen or chosen[0].latitude is None or chosen[0].longitude is None:
        raise _refused(Reason.UNKNOWN_PLACE, value=value)
    return Place(chosen[0].latitude, chosen[0].longitude, chosen[0].company)


async def apply_change(
    session: AsyncSession, network: NetworkRef, report: Report, change: IncidentChange, actor: Actor
) -> dict[str, object]:
    """Set what ``change`` names on ``report`` (all or nothing: every value is checked first) and audit
    it; returns what was set as the confirmation shows it. Raises CommandRefused for an unknown
    category, time or place."""
    conf = network.settings
    category = time = place = None
    if change.category is not None:
        category = find_category(conf.categories, change.category)
        if category is None:
            known = ", ".join(c.name(conf.language) for c in conf.categories)
            slugs = {"known": ", ".join(c.slug for c in conf.categories)}  # the CLI's words
            raise _refused(Reason.UNKNOWN_CATEGORY, slugs, value=change.category, known=known)
    if change.time is not None:
        time = parse_moderator_time(change.time, as_utc(report.received_at), ZoneInfo(conf.timezone))
        if time is None:
            raise _refused(Reason.INVALID_TIME, value=change.time)
    if change.place is not None:
        place = await resolve_place(session, network.id, change.place)
    shown: dict[str, object] = {}
    if category is not None:
        report.category, report.category_source = category.slug, MODERATOR
        shown["category"] = category.name(conf.language)
    if time is not None:
        set_incident_time(report, time, MODERATOR, conf)
        shown["time"] = time.astimezone(ZoneInfo(conf.timezone)).strftime("%Y-%m-%d %H:%M")
    if place is not None:
        set_place(report, place.latitude, place.longitude, place.label, MODERATOR)
        coordinates = f"{place.latitude:.5f}, {place.longitude:.5f}"
        shown["place"] = f"{place.label} ({coordinates})" if place.label else coordinates
    if change.exercise is not None:
        report.exercise = change.exercise
        shown["exercise"] = change.exercise
    audit.record(
        session,
        action="report_incident_set",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=actor.message_id,
        category=report.category if category else None,
        incident_at=as_utc(report.incident_at).isoformat() if time and report.incident_at else None,
        place=[report.place_lat, report.place_lon, report.place_label] if place else None,
        exercise=change.exercise,
    )
    return shown
