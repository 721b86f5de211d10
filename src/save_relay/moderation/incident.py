"""The incident behind a report as data: its category, its time and its place (statistics, issue 19).

Decided when the report is announced (a suggestion from the text, the reporter's location) and set by
the moderator afterwards (reply lines ``categorie:``, ``tijdstip:``, ``plaats:``, or the CLI). Each
field keeps who said so (``*_source``), and the incident time keeps its weekday, hour and month on the
network's clock (``core.clock.local_parts``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from save_relay.core.clock import as_utc, local_parts
from save_relay.core.settings import NetworkSettings
from save_relay.mail.incident import read_incident_time, suggest_category
from save_relay.mail.parse import ParsedMessage
from save_relay.store.recipients import SenderInfo
from save_relay.store.tables import Report


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
    report.incident_at = as_utc(at)
    report.incident_source = source
    weekday, hour, month = local_parts(at, ZoneInfo(conf.timezone))
    report.incident_weekday, report.incident_hour, report.incident_month = weekday, hour, month


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
