"""A CAP area from zones: GeoJSON says ``[lon, lat]``, CAP says ``"lat,lon lat,lon ..."``.

Only a polygon's outer ring goes into CAP (CAP has no holes); a MultiPolygon gives one ``<polygon>``
per part. The numbers are written as stored (``repr``), so ``geojson_ring(cap_polygon(ring))``
returns the very ring; a radius is a ``<circle>`` ``"lat,lon km"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Ring = Sequence[Sequence[float]]  # GeoJSON positions: [lon, lat] (an optional altitude is dropped)


def cap_polygon(ring: Ring) -> str:
    """One GeoJSON ring as a CAP polygon (closed, as both formats require)."""
    points = [(float(p[1]), float(p[0])) for p in ring]
    if points and points[0] != points[-1]:
        points.append(points[0])
    return " ".join(f"{lat!r},{lon!r}" for lat, lon in points)


def geojson_ring(polygon: str) -> list[list[float]]:
    """A CAP polygon back as a GeoJSON ring of ``[lon, lat]`` positions."""
    ring = []
    for pair in polygon.split():
        lat, _, lon = pair.partition(",")
        ring.append([float(lon), float(lat)])
    return ring


def cap_polygons(geometry: dict[str, Any]) -> list[str]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon (a Feature's geometry), as CAP polygons."""
    if geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return [cap_polygon(coordinates[0])] if coordinates else []
    if kind == "MultiPolygon":
        return [cap_polygon(part[0]) for part in coordinates if part]
    return []


def cap_circle(lat: float, lon: float, radius_m: float) -> str:
    """A CAP circle: the centre ``lat,lon`` and the radius in kilometres."""
    return f"{lat!r},{lon!r} {radius_m / 1000:g}"
