"""``save-relay stats``: a network's incident statistics as text, CSV or JSON, or one chart as SVG/PNG.

The period is given in the network's own days (``--from 2026-01-01 --to 2026-03-31``, or whole months
``--from 2026-01 --to 2026-03``): from midnight of the first day to midnight after the last, on the
network's clock. Exercises are left out (``store/stats.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.cli.common import choose_network, fail, opened, run
from save_relay.core.context import NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.core.geo import ZoneShape
from save_relay.moderation.incident import find_category
from save_relay.stats import charts
from save_relay.stats.collect import Stats, as_text, collect
from save_relay.store import zones as zone_store
from save_relay.store.recipients import zone_slugs
from save_relay.store.stats import fill_local_times

_DAY = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime | None
    end: datetime | None


def _day(value: str, option: str, *, last: bool) -> date:
    """``YYYY-MM-DD``, or ``YYYY-MM`` (its first day; with ``last``, the day after its last)."""
    match = _DAY.match(value.strip())
    try:
        if match is None:
            raise ValueError
        year, month = int(match.group(1)), int(match.group(2))
        if match.group(3):
            day = date(year, month, int(match.group(3)))
            return day + timedelta(days=1) if last else day
        first = date(year, month, 1)
    except ValueError:
        raise SaveRelayError(f"{option}: {value!r} is not a date (YYYY-MM-DD or YYYY-MM)") from None
    return (first + timedelta(days=32)).replace(day=1) if last else first


def period(start: str | None, end: str | None, timezone: str) -> Period:
    """[first day 00:00, the day after the last 00:00) on the network's clock; either end open."""
    zone = ZoneInfo(timezone)
    begin = _day(start, "--from", last=False) if start else None
    until = _day(end, "--to", last=True) if end else None
    if begin and until and until <= begin:
        raise SaveRelayError(f"--to {end} is before --from {start}")
    return Period(
        datetime.combine(begin, time(), tzinfo=zone) if begin else None,
        datetime.combine(until, time(), tzinfo=zone) if until else None,
    )


async def _zone(session: AsyncSession, network: NetworkRef, value: str) -> str:
    known = await zone_slugs(session, network.id)
    wanted = value.strip().casefold()
    for slug, name in known.items():
        if wanted in (slug.casefold(), name.casefold()):
            return slug
    raise SaveRelayError(f"--zone: no zone {value!r} (there are: {', '.join(known) or 'none'})")


def stats(
    network_key: Annotated[str | None, typer.Option("--network", help="the network (if several)")] = None,
    start: Annotated[str | None, typer.Option("--from", help="first day: YYYY-MM-DD or YYYY-MM")] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="last day (included): YYYY-MM-DD or YYYY-MM")
    ] = None,
    zone: Annotated[str | None, typer.Option(help="only reports sent to this zone (slug or name)")] = None,
    category: Annotated[str | None, typer.Option(help="only this category (slug or name)")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="dimension,key,count rows")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="every figure as JSON")] = False,
    chart: Annotated[
        str | None, typer.Option(help="draw one chart instead: heatmap, months or zones (needs -o)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="the chart's file: .svg or .png")
    ] = None,
) -> None:
    """Counts of the network's reports by category, zone, weekday x hour, month, company; decision
    times, distributions, canvass answers. Exercises are left out."""
    if as_csv and as_json:
        raise fail("give --csv or --json, not both")
    if chart is not None and chart not in charts.KINDS:
        raise fail(f"--chart: {chart!r} is not one of {', '.join(charts.KINDS)}")
    if chart is not None and (output is None or output.suffix.lower() not in (".svg", ".png")):
        raise fail("--chart needs -o FILE.svg or -o FILE.png")

    async def go() -> tuple[Stats, NetworkRef, list[ZoneShape]]:
        async with opened() as (ctx, sessions), sessions() as session:
            network = choose_network(ctx, network_key)
            conf = network.settings
            found = find_category(conf.categories, category) if category else None
            if category and found is None:
                slugs = ", ".join(c.slug for c in conf.categories)
                raise SaveRelayError(f"--category: no category {category!r} (there are: {slugs})")
            when = period(start, end, conf.timezone)
            async with session.begin():
                await fill_local_times(session, network.id, conf.timezone)
                slug = await _zone(session, network, zone) if zone else None
                result = await collect(
                    session,
                    network,
                    start=when.start,
                    end=when.end,
                    zone=slug,
                    category=found.slug if found else None,
                )
                shapes = await zone_store.shapes(session, network.id) if chart == "zones" else []
            return result, network, shapes

    result, network, shapes = run(go)
    conf = network.settings
    names = {c.slug: c.name(conf.language) for c in conf.categories}
    if chart is not None and output is not None:
        kind = next(k for k in charts.KINDS if k == chart)
        fmt: charts.Format = "png" if output.suffix.lower() == ".png" else "svg"
        data = charts.render(charts.draw(kind, result, shapes, names, conf.language), fmt)
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc.strerror}") from None
        typer.echo(f"{output}: {chart} of {result.total} report(s), {len(data)} bytes")
    elif as_json:
        typer.echo(result.to_json())
    elif as_csv:
        typer.echo(result.to_csv(), nl=False)
    else:
        typer.echo("\n".join(as_text(result, names, conf.language)))
