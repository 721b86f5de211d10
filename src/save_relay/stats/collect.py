"""A network's incident statistics for a period: every breakdown the police plan patrols with.

``collect`` sums every breakdown from the period's figures (``store.stats_cache``: whole months kept,
the rest counted directly) and returns plain values that the CLI prints as text, CSV or JSON, the
charts draw, and the monthly mail sends.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef
from save_relay.store import stats, stats_cache, stats_figures
from save_relay.store.stats import StatsFilter
from save_relay.store.stats_figures import Figures

WEEKDAYS = {
    "nl": ("ma", "di", "wo", "do", "vr", "za", "zo"),
    "fr": ("lu", "ma", "me", "je", "ve", "sa", "di"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
}


@dataclass(frozen=True, slots=True)
class CanvassRate:
    canvass_id: int
    title: str
    recipients: int
    answered: int

    @property
    def rate(self) -> float:
        return self.answered / self.recipients if self.recipients else 0.0


@dataclass(slots=True)
class Stats:
    """Counts of the reports a filter selects (exercises and non-incidents left out)."""

    network: str
    start: str | None
    end: str | None
    zone: str | None
    category: str | None
    total: int = 0
    categories: list[tuple[str, int]] = field(default_factory=list)
    zones: list[tuple[str, int]] = field(default_factory=list)
    weekday_hour: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    months: list[tuple[str, str, int]] = field(default_factory=list)
    companies: list[tuple[str, int]] = field(default_factory=list)
    decision_hours_p50: float | None = None
    decision_hours_p90: float | None = None
    decided: int = 0
    distributions: int = 0
    recipients: int = 0
    canvasses: list[CanvassRate] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["canvasses"] = [{**asdict(c), "rate": round(c.rate, 3)} for c in self.canvasses]
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def to_csv(self) -> str:
        """One row per figure: ``dimension,key,count`` (weekday_hour keys are ``weekday-hour``, Monday 0)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["dimension", "key", "count"])
        writer.writerow(["total", "", self.total])
        writer.writerows(["category", key, n] for key, n in self.categories)
        writer.writerows(["zone", key, n] for key, n in self.zones)
        for day, hours in enumerate(self.weekday_hour):
            writer.writerows(["weekday_hour", f"{day}-{hour:02d}", n] for hour, n in enumerate(hours))
        writer.writerows(["month", f"{month} {category}", n] for month, category, n in self.months)
        writer.writerows(["company", key, n] for key, n in self.companies)
        writer.writerow(["distributions", "", self.distributions])
        writer.writerow(["recipients", "", self.recipients])
        writer.writerows(["canvass_answered", f"{c.canvass_id}", c.answered] for c in self.canvasses)
        return out.getvalue()


def _percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """The ``fraction`` percentile of whole-hour buckets (the bucket's upper edge: "within N hours")."""
    count = sum(histogram.values())
    if not count:
        return None
    target, seen = fraction * count, 0
    for hours in sorted(histogram):
        seen += histogram[hours]
        if seen >= target:
            return float(hours + 1)
    return float(max(histogram) + 1)


async def _companies(session: AsyncSession, found: Figures, limit: int = 50) -> list[tuple[str, int]]:
    """Reports per reporting company (per site), most first: subscribers summed by their company's
    name as it is now."""
    per_subscriber: dict[int, int] = {}
    for (_, subscriber), count in found.subscribers.items():
        per_subscriber[subscriber] = per_subscriber.get(subscriber, 0) + count
    names = await stats_figures.company_names(session, list(per_subscriber))
    counts: dict[str, int] = {}
    for subscriber, count in per_subscriber.items():
        if subscriber in names:
            counts[names[subscriber]] = counts.get(names[subscriber], 0) + count
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


async def collect(
    session: AsyncSession,
    network: NetworkRef,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    zone: str | None = None,
    category: str | None = None,
    companies: bool = True,
) -> Stats:
    """Every breakdown for the network and period (``companies``: False leaves out who reported)."""
    filt = StatsFilter(network.id, start, end, zone, category)
    result = Stats(
        network=network.key,
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        zone=zone,
        category=category,
    )
    found = await stats_cache.period_figures(session, filt, network.settings.timezone)
    categories: dict[str, int] = {}
    months: dict[tuple[str, str], int] = {}
    for (slug, month, day, hour), count in found.cells.items():
        result.total += count
        categories[slug] = categories.get(slug, 0) + count
        months[(month, slug)] = months.get((month, slug), 0) + count
        result.weekday_hour[day][hour] += count
    result.categories = sorted(categories.items(), key=lambda item: (-item[1], item[0]))
    result.months = [(month, slug, n) for (month, slug), n in sorted(months.items())]
    zones: dict[str, int] = {}
    for (_, slug), count in found.zones.items():
        zones[slug] = zones.get(slug, 0) + count
    result.zones = sorted(zones.items(), key=lambda item: (-item[1], item[0]))
    if companies:
        result.companies = await _companies(session, found)
    histogram: dict[int, int] = {}
    for (_, hours), count in found.decisions.items():
        histogram[hours] = histogram.get(hours, 0) + count
    result.decided = sum(histogram.values())
    result.decision_hours_p50 = _percentile(histogram, 0.5)
    result.decision_hours_p90 = _percentile(histogram, 0.9)
    result.distributions = sum(count for count, _ in found.distributions.values())
    result.recipients = sum(recipients for _, recipients in found.distributions.values())
    result.canvasses = [
        CanvassRate(*row) for row in await stats.canvass_responses(session, network.id, start, end)
    ]
    return result


def as_text(result: Stats, names: dict[str, str], language: str) -> list[str]:
    """The figures as lines for a terminal or a mail body (``names``: category slug -> display name)."""
    lines = [f"reports: {result.total}"]
    if result.categories:
        lines.append("by category:")
        lines += [f"  {names.get(slug, slug):<28} {n:>7}" for slug, n in result.categories]
    if result.zones:
        lines.append("by zone:")
        lines += [f"  {slug:<28} {n:>7}" for slug, n in result.zones]
    lines.append("by weekday and hour (" + ", ".join(f"{h:02d}" for h in (0, 6, 12, 18)) + " ...):")
    days = WEEKDAYS.get(language, WEEKDAYS["en"])
    for day, hours in enumerate(result.weekday_hour):
        lines.append(f"  {days[day]:<4}" + " ".join(f"{n:>3}" for n in hours))
    if result.months:
        lines.append("by month:")
        totals: dict[str, int] = {}
        for month, _, n in result.months:
            totals[month] = totals.get(month, 0) + n
        lines += [f"  {month}  {n:>7}" for month, n in totals.items()]
    if result.companies:
        lines.append("by reporting company:")
        lines += [f"  {company:<40.40} {n:>7}" for company, n in result.companies]
    if result.decided:
        lines.append(
            f"decided: {result.decided}, half within {result.decision_hours_p50:.0f} h, "
            f"90% within {result.decision_hours_p90:.0f} h"
        )
    lines.append(f"distributions: {result.distributions} to {result.recipients} recipients")
    for rate in result.canvasses:
        lines.append(
            f"canvass {rate.canvass_id} {rate.title[:40]}: {rate.answered}/{rate.recipients} answered "
            f"({rate.rate:.0%})"
        )
    return lines
