"""The charts of the statistics: a weekday × hour heat map, categories per month, incidents per zone.

Drawn with matplotlib's object API (``Figure``, no pyplot: no global state, safe in the daemon) as SVG
for the web console and PNG for mail; each chart has its numbers as a table beside it in the callers
(``collect.as_text``, the CSV). SVG output is made reproducible (no date, a fixed hash salt).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

import matplotlib as mpl
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Polygon as PolygonPatch
from shapely.geometry import MultiPolygon, Polygon

from save_relay.core.geo import ZoneShape
from save_relay.mail.i18n import chart_title
from save_relay.stats.collect import WEEKDAYS, Stats

mpl.rcParams["svg.hashsalt"] = "save-relay"  # stable ids in SVG output
Format = Literal["svg", "png"]
_CMAP = "YlOrRd"


def render(figure: Figure, fmt: Format) -> bytes:
    out = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": "save-relay"}
    figure.savefig(out, format=fmt, dpi=110, bbox_inches="tight", metadata=metadata)
    return out.getvalue()


def heatmap(weekday_hour: Sequence[Sequence[int]], language: str, title: str) -> Figure:
    """Reports by weekday (rows, Monday first) and hour of the day (columns) on the network's clock."""
    figure = Figure(figsize=(9, 3.4))
    axes = figure.subplots()
    image = axes.imshow([list(row) for row in weekday_hour], cmap=_CMAP, aspect="auto")
    axes.set_yticks(range(7), WEEKDAYS.get(language, WEEKDAYS["en"]))
    axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    axes.set_title(title)
    peak = max((max(row) for row in weekday_hour), default=0)
    for day, row in enumerate(weekday_hour):
        for hour, count in enumerate(row):
            if count:
                colour = "white" if peak and count > peak * 0.6 else "black"
                axes.text(hour, day, str(count), ha="center", va="center", fontsize=6, color=colour)
    figure.colorbar(image, ax=axes, fraction=0.025)
    return figure


def months(rows: Sequence[tuple[str, str, int]], names: dict[str, str], title: str) -> Figure:
    """Stacked bars: reports per month, split by category."""
    month_keys = sorted({month for month, _, _ in rows})
    categories = sorted({category for _, category, _ in rows})
    counts = {(month, category): n for month, category, n in rows}
    figure = Figure(figsize=(9, 3.6))
    axes = figure.subplots()
    bottom = [0] * len(month_keys)
    for category in categories:
        heights = [counts.get((month, category), 0) for month in month_keys]
        axes.bar(month_keys, heights, bottom=bottom, label=names.get(category, category))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=45)
    if categories:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def zones(shapes: Sequence[ZoneShape], counts: dict[str, int], title: str) -> Figure:
    """Every zone's outline, filled by its number of reports (nested zones: the smaller on top)."""
    figure = Figure(figsize=(6.5, 6))
    axes = figure.subplots()
    norm = Normalize(vmin=0, vmax=max(counts.values(), default=0) or 1)
    cmap = mpl.colormaps[_CMAP]
    for zone in sorted(shapes, key=lambda z: -z.geometry.area):
        polygons = zone.geometry.geoms if isinstance(zone.geometry, MultiPolygon) else [zone.geometry]
        count = counts.get(zone.slug, 0)
        for polygon in polygons:
            if isinstance(polygon, Polygon):
                patch = PolygonPatch(
                    list(polygon.exterior.coords), facecolor=cmap(norm(count)), edgecolor="#333", alpha=0.85
                )
                axes.add_patch(patch)
        point = zone.geometry.representative_point()
        axes.annotate(f"{zone.name}\n{count}", (point.x, point.y), ha="center", fontsize=6)
    axes.autoscale_view()
    axes.set_aspect(1.6)  # about 1 / cos(51°): Lommel's degrees of longitude are shorter
    axes.set_axis_off()
    axes.set_title(title)
    return figure


Kind = Literal["heatmap", "months", "zones"]
KINDS: tuple[Kind, ...] = ("heatmap", "months", "zones")


def draw(
    kind: Kind, result: Stats, shapes: Sequence[ZoneShape], names: dict[str, str], language: str
) -> Figure:
    """One chart of ``result`` with its title in ``language`` (``names``: category slug -> name)."""
    title = chart_title(kind, language)
    if kind == "heatmap":
        return heatmap(result.weekday_hour, language, title)
    if kind == "months":
        return months(result.months, names, title)
    return zones(shapes, dict(result.zones), title)
