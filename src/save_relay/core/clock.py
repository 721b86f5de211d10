"""Time in one place: aware UTC datetimes everywhere in the database."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: read them as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
