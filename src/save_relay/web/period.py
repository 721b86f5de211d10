"""Periods in days on the network's clock (its ``timezone``): "from 3 to 5 December" means what a
moderator in Lommel means by it. Shared by the queue and the audit page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams


@dataclass(frozen=True, slots=True)
class Period:
    """[since, until) in the network's clock, and the days as the form shows them ("" when open)."""

    since: datetime | None
    until: datetime | None
    shown_from: str
    shown_to: str


def day(value: str | None) -> date | None:
    """An ISO date, or None (a hand-made URL with a bad date: the filter is left out, as the form shows)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def period(params: QueryParams, timezone: str) -> Period:
    """The ``from`` and ``to`` days of the query string (both included) as a half-open period."""
    first, last = day(params.get("from")), day(params.get("to"))
    clock = ZoneInfo(timezone)
    return Period(
        # in UTC: SQLite compares the stored (UTC, offset-less) text; a local time would be off
        since=datetime.combine(first, time(), clock).astimezone(UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), clock).astimezone(UTC) if last else None,
        shown_from=first.isoformat() if first else "",
        shown_to=last.isoformat() if last else "",
    )
