"""The figures of a set of reports, per category: what every statistics breakdown is summed from.

Five GROUP BYs (incident time cells, zone lists, reporting subscribers, hours to decision,
distributions), each also by category, so that figures can be added up (months kept in
``stats_months``, see ``stats_cache``) and narrowed to one category afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import ReportStatus
from save_relay.store.stats import StatsFilter, where
from save_relay.store.tables import Distribution, Report, Subscriber

DECIDED = (ReportStatus.APPROVED, ReportStatus.REJECTED)
_SEP = "|"
K = TypeVar("K")


def _add(into: dict[K, int], key: K, count: int) -> None:
    into[key] = into.get(key, 0) + count


@dataclass(slots=True)
class Figures:
    """Counts keyed by category first; JSON keys are ``|``-joined (category slugs and months have none)."""

    #: (category, month, weekday, hour) -> reports
    cells: dict[tuple[str, str, int, int], int] = field(default_factory=dict)
    #: (category, zone slug) -> reports
    zones: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (category, subscriber id) -> reports (names are looked up when shown: a company may be renamed)
    subscribers: dict[tuple[str, int], int] = field(default_factory=dict)
    #: (category, whole hours from received to decided) -> decided reports
    decisions: dict[tuple[str, int], int] = field(default_factory=dict)
    #: category -> (distributions, recipients)
    distributions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for key, n in other.cells.items():
            _add(self.cells, key, n)
        for zone_key, n in other.zones.items():
            _add(self.zones, zone_key, n)
        for sub_key, n in other.subscribers.items():
            _add(self.subscribers, sub_key, n)
        for hours_key, n in other.decisions.items():
            _add(self.decisions, hours_key, n)
        for category, (count, recipients) in other.distributions.items():
            had = self.distributions.get(category, (0, 0))
            self.distributions[category] = (had[0] + count, had[1] + recipients)

    def only(self, category: str | None) -> Figures:
        """These figures narrowed to one category (None: all of them)."""
        if category is None:
            return self
        return Figures(
            {k: n for k, n in self.cells.items() if k[0] == category},
            {k: n for k, n in self.zones.items() if k[0] == category},
            {k: n for k, n in self.subscribers.items() if k[0] == category},
            {k: n for k, n in self.decisions.items() if k[0] == category},
            {k: v for k, v in self.distributions.items() if k == category},
        )

    def to_json(self) -> str:
        def keyed(items: Iterable[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
            return {_SEP.join(str(part) for part in key): value for key, value in items}

        return json.dumps(
            {
                "cells": keyed(self.cells.items()),
                "zones": keyed(self.zones.items()),
                "subscribers": keyed(self.subscribers.items()),
                "decisions": keyed(self.decisions.items()),
                "distributions": {k: list(v) for k, v in self.distributions.items()},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Figures:
        data = json.loads(text)
        figures = cls()
        for key, n in data["cells"].items():
            category, month, weekday, hour = key.split(_SEP)
            figures.cells[(category, month, int(weekday), int(hour))] = int(n)
        for key, n in data["zones"].items():
            category, zone = key.split(_SEP, 1)
            figures.zones[(category, zone)] = int(n)
        for key, n in data["subscribers"].items():
            category, subscriber = key.split(_SEP)
            figures.subscribers[(category, int(subscriber))] = int(n)
        for key, n in data["decisions"].items():
            category, hours = key.split(_SEP)
            figures.decisions[(category, int(hours))] = int(n)
        for category, (count, recipients) in data["distributions"].items():
            figures.distributions[category] = (int(count), int(recipients))
        return figures


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def figures(session: AsyncSession, filt: StatsFilter, *extra: ColumnElement[bool]) -> Figures:
    """The figures of the reports ``filt`` (and the ``extra`` conditions) select."""
    return (await _grouped(session, None, filt, *extra)).get(0, Figures())


async def figures_by_day(
    session: AsyncSession, filt: StatsFilter, *extra: ColumnElement[bool]
) -> dict[int, Figures]:
    """The figures of the reports selected, per day of the month (``incident_day``): meant for one
    month, whose every day's figures one pass gives."""
    return await _grouped(session, Report.incident_day, filt, *extra)


async def _grouped(
    session: AsyncSession, by: Any, filt: StatsFilter, *extra: ColumnElement[bool]
) -> dict[int, Figures]:
    """The five GROUP BYs, each also by ``by`` when given (else everything under key 0)."""
    dialect = _dialect(session)
    counted = [*where(filt, dialect), *extra]
    first: tuple[Any, ...] = (by,) if by is not None else ()
    out: dict[int, Figures] = {}

    async def rows(query: Select[Any], *group: Any) -> list[tuple[int, Any]]:
        result = await session.execute(query.group_by(*first, *group))
        return [(int(row[0] or 0), row[1:]) if first else (0, tuple(row)) for row in result.all()]

    def at(key: int) -> Figures:
        return out.setdefault(key, Figures())

    keys = (Report.category, Report.incident_month, Report.incident_weekday, Report.incident_hour)
    cells = select(*first, *keys, func.count()).where(
        *counted, Report.incident_weekday.is_not(None), Report.incident_month.is_not(None)
    )
    for key, (category, month, weekday, hour, n) in await rows(cells, *keys):
        at(key).cells[(str(category), str(month), int(weekday or 0), int(hour or 0))] = int(n)
    # grouped by the zone list as text, split here: a few thousand distinct lists instead of a JSON
    # table function on every row (3x faster on SQLite)
    zones_text = cast(Report.zones, Text)
    zone_lists = select(*first, Report.category, zones_text, func.count()).where(*counted)
    for key, (category, text, n) in await rows(zone_lists, Report.category, zones_text):
        for slug in json.loads(text or "[]"):
            _add(at(key).zones, (str(category), str(slug)), int(n))
    reporters = select(*first, Report.category, Report.subscriber_id, func.count()).where(
        *counted, Report.subscriber_id.is_not(None)
    )
    for key, (category, subscriber, n) in await rows(reporters, Report.category, Report.subscriber_id):
        at(key).subscribers[(str(category), int(subscriber or 0))] = int(n)
    hours: ColumnElement[Any]
    if dialect == "postgresql":
        hours = func.floor(func.extract("epoch", Report.decided_at - Report.received_at) / 3600)
    else:
        hours = (func.julianday(Report.decided_at) - func.julianday(Report.received_at)) * 24
    bucket = cast(hours, Integer)
    decided = select(*first, Report.category, bucket, func.count()).where(
        *where(filt, dialect, DECIDED), *extra, Report.decided_at.is_not(None)
    )
    for key, (category, h, n) in await rows(decided, Report.category, bucket):
        at(key).decisions[(str(category), int(h or 0))] = int(n)
    sent = (
        select(
            *first,
            Report.category,
            func.count(Distribution.id),
            func.coalesce(func.sum(Distribution.recipients), 0),
        )
        .join(Report, Report.id == Distribution.report_id)
        .where(*counted)
    )
    for key, (category, count, recipients) in await rows(sent, Report.category):
        at(key).distributions[str(category)] = (int(count), int(recipients))
    return out


async def company_names(session: AsyncSession, ids: list[int], chunk: int = 5000) -> dict[int, str]:
    """Subscriber id -> company name, for the ids that still exist (an erased subscriber is gone)."""
    names: dict[int, str] = {}
    for i in range(0, len(ids), chunk):
        query = select(Subscriber.id, Subscriber.company).where(Subscriber.id.in_(ids[i : i + chunk]))
        names.update((int(sid), str(company)) for sid, company in (await session.execute(query)).all())
    return names
