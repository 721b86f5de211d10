"""The monthly report: last month's figures and charts by mail (a scheduled job, ``routes.JOBS``).

To every moderator: the whole network (with the reporting companies), its charts as PNG. Where the
network's ``monthly_report = "subscribers"``: also to every active subscriber address, with only the
figures of its own zones and never who reported (no companies). Once per network and month across all
daemons: the month is claimed in ``scheduler_jobs`` (``store.scheduler.claim_once``) in the same
transaction as the mails, so a crash sends it again rather than never, and two daemons never both.
A month without reports sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from matplotlib.figure import Figure
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import Context, NetworkRef
from save_relay.core.states import AddressStatus
from save_relay.delivery.notices import base_context, with_attachments
from save_relay.mail.compose import render
from save_relay.mail.i18n import chart_title
from save_relay.stats import charts
from save_relay.stats.collect import WEEKDAYS, Stats, collect
from save_relay.store import audit, deliveries
from save_relay.store import stats as stats_store
from save_relay.store import subscribers as subscriber_store
from save_relay.store import zones as zone_store
from save_relay.store.recipients import zone_slugs
from save_relay.store.scheduler import claim_once

log = logging.getLogger(__name__)

KIND = "monthly"
TREND_MONTHS = 12  # the months chart shows the year up to the reported month


@dataclass(frozen=True, slots=True)
class Month:
    first: date  # its first day
    start: datetime  # its first midnight on the network's clock
    end: datetime  # the next month's

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"


def previous_month(now: datetime, timezone: str) -> Month:
    """The last whole month on the network's clock before ``now``."""
    zone = ZoneInfo(timezone)
    this = now.astimezone(zone).date().replace(day=1)
    first = (this - timedelta(days=1)).replace(day=1)
    return Month(first, datetime.combine(first, time(), zone), datetime.combine(this, time(), zone))


def _months_back(first: date, count: int) -> date:
    year, month = divmod(first.year * 12 + first.month - 1 - count, 12)
    return date(year, month + 1, 1)


def section(
    result: Stats, title: str, names: dict[str, str], zone_names: dict[str, str], language: str
) -> dict[str, object]:
    """One block of the mail: the figures of ``result`` as rows (the table beside the charts)."""
    days = WEEKDAYS.get(language, WEEKDAYS["en"])
    return {
        "title": title,
        "total": result.total,
        "categories": [(names.get(slug, slug), n) for slug, n in result.categories],
        "zones": [(zone_names.get(slug, slug), n) for slug, n in result.zones],
        "weekdays": [
            (days[d], " ".join(f"{n:>2}" for n in hours)) for d, hours in enumerate(result.weekday_hour)
        ],
        "hours": " ".join(f"{h:02d}" for h in range(24)),
        "companies": result.companies,
        "decided": result.decided,
        "p50": f"{result.decision_hours_p50:.0f}" if result.decision_hours_p50 is not None else "",
        "p90": f"{result.decision_hours_p90:.0f}" if result.decision_hours_p90 is not None else "",
        "distributions": result.distributions,
        "recipients": result.recipients,
    }


async def send_monthly_reports(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Queue last month's report of every network not yet sent; returns the mails queued."""
    queued = 0
    for network in ctx.networks.values():
        conf = network.settings
        if conf.monthly_report == "off":
            continue
        month = previous_month(now, conf.timezone)
        if not await claim_once(
            session, f"monthly-report:{network.id}:{month.key}", now, ctx.settings.node_name
        ):
            continue
        await stats_store.fill_local_times(session, network.id, conf.timezone)
        whole = await collect(session, network, start=month.start, end=month.end)
        if whole.total == 0:
            continue
        queued += await _to_moderators(session, network, month, whole)
        if conf.monthly_report == "subscribers":
            queued += await _to_subscribers(session, network, month)
        audit.record(
            session,
            action="monthly_report_sent",
            actor="system",
            via="scheduler",
            network_id=network.id,
            month=month.key,
            reports=whole.total,
        )
    if queued:
        log.info("monthly report: %d mail(s)", queued, extra={"action": "monthly_report"})
    return queued


def _png(figure: Figure) -> bytes:
    return charts.render(figure, "png")


async def _to_moderators(session: AsyncSession, network: NetworkRef, month: Month, whole: Stats) -> int:
    conf = network.settings
    names = {c.slug: c.name(conf.language) for c in conf.categories}
    zone_names = await zone_slugs(session, network.id)
    trend = await stats_store.by_month(
        session,
        stats_store.StatsFilter(
            network.id,
            datetime.combine(_months_back(month.first, TREND_MONTHS - 1), time(), month.start.tzinfo),
            month.end,
        ),
    )
    shapes = await zone_store.shapes(session, network.id)
    files = [
        (f"{kind}-{month.key}.png", "image/png", _png(figure))
        for kind, figure in (
            (
                "heatmap",
                charts.heatmap(whole.weekday_hour, conf.language, chart_title("heatmap", conf.language)),
            ),
            ("months", charts.months(trend, names, chart_title("months", conf.language))),
            ("zones", charts.zones(shapes, dict(whole.zones), chart_title("zones", conf.language))),
        )
    ]
    context = {
        **base_context(conf),
        "month": month.key,
        "sections": [section(whole, conf.name, names, zone_names, conf.language)],
        "moderators": True,
        "charts": [name for name, _, _ in files],
    }
    rendered = render(conf.language, "monthly_report", context)
    messages = [
        (to, with_attachments(network, kind=KIND, rendered=rendered, to=to, attachments=files))
        for to in conf.moderators
    ]
    await deliveries.enqueue_many(session, network_id=network.id, kind=KIND, messages=messages)
    return len(messages)


async def _to_subscribers(session: AsyncSession, network: NetworkRef, month: Month) -> int:
    """Each active address: the figures of its subscriber's zones only, no companies, a heat map each."""
    conf = network.settings
    names = {c.slug: c.name(conf.language) for c in conf.categories}
    zone_names = await zone_slugs(session, network.id)
    members = await subscriber_store.memberships(session, network.id)
    rows = await subscriber_store.address_rows(session, network.id, statuses=[AddressStatus.ACTIVE])
    per_zone: dict[str, tuple[dict[str, object], tuple[str, str, bytes]]] = {}
    messages = []
    for row in rows:
        manual, computed, _ = members.get(row.subscriber_id, ([], [], []))
        slugs = sorted(set(manual) | set(computed))
        if not row.enabled or not slugs:
            continue
        for slug in slugs:
            if slug not in per_zone:
                result = await collect(
                    session, network, start=month.start, end=month.end, zone=slug, companies=False
                )
                title = f"{zone_names.get(slug, slug)}: {chart_title('heatmap', conf.language)}"
                chart = (
                    f"heatmap-{slug}-{month.key}.png",
                    "image/png",
                    _png(charts.heatmap(result.weekday_hour, conf.language, title)),
                )
                per_zone[slug] = (
                    section(result, zone_names.get(slug, slug), names, {}, conf.language),
                    chart,
                )
        context = {
            **base_context(conf),
            "month": month.key,
            "sections": [per_zone[slug][0] for slug in slugs],
            "moderators": False,
            "charts": [per_zone[slug][1][0] for slug in slugs],
        }
        rendered = render(conf.language, "monthly_report", context)
        files = [per_zone[slug][1] for slug in slugs]
        messages.append(
            (
                row.address,
                with_attachments(network, kind=KIND, rendered=rendered, to=row.address, attachments=files),
            )
        )
    if messages:
        await deliveries.enqueue_many(session, network_id=network.id, kind=KIND, messages=messages)
    return len(messages)
