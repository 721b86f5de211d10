"""Time in one place: aware UTC datetimes everywhere in the database."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: read them as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local_parts(value: datetime, zone: tzinfo) -> tuple[int, int, str, int]:
    """(weekday with Monday 0, hour, "YYYY-MM", day of the month) of ``value`` on the clock of
    ``zone``: kept with a report so that statistics by weekday and hour are right across daylight
    saving changes on any database (SQLite has no time zones), and can be kept per day."""
    local = as_utc(value).astimezone(zone)
    return local.weekday(), local.hour, f"{local.year:04d}-{local.month:02d}", local.day


def local_minute(when: datetime, timezone: str) -> str:
    """``2026-11-23 08:00``: ``when`` in the time zone ``timezone``, to the minute."""
    return as_utc(when).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
