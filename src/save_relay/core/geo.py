"""Geography for zones and canvasses: distances, radius searches and zone polygons.

Pure functions and in-memory indexes only (no database). Points are always given as
``(lat, lon)`` in decimal degrees (WGS 84); GeoJSON and shapely use ``(lon, lat)``, and the
conversion happens here and nowhere else.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from save_relay.core.errors import SaveRelayError
from save_relay.core.problems import Problem, at_feature

__all__ = [
    "EARTH_RADIUS_M",
    "SLUG_RE",
    "ZONE_KINDS",
    "Points",
    "ZoneError",
    "ZoneIndex",
    "ZoneShape",
    "bounding_box",
    "haversine_m",
    "load_zones",
    "parse_location",
    "within_radius",
]

_NUMBER = r"[-+]?\d{1,3}(?:[.,]\d+)?"
_LOCATION = re.compile(rf"^\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})\s*$")

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG R1) in metres."""

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ZONE_KINDS = frozenset({"industrial-park", "police-sector", "municipality"})

# Extra angular radius added to bounding boxes so that rounding can never put a point of the
# circle outside its box (1e-9 rad is about 6 mm on the ground).
_BOX_MARGIN_RAD = 1e-9

Points = Sequence[tuple[float, float]] | NDArray[np.floating[Any]]
"""``(lat, lon)`` pairs: a sequence of tuples or an ``(n, 2)`` float array."""


def parse_location(value: str) -> tuple[float, float] | None:
    """``"51.23988, 5.28620"`` (or with ``;``, a space, or decimal commas between spaces) -> (lat, lon)."""
    match = _LOCATION.match(value)
    if match is None:
        return None
    lat, lon = (float(group.replace(",", ".")) for group in match.groups())
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """Return ``(min_lat, max_lat, min_lon, max_lon)`` of a box containing the circle.

    Meant for an indexed ``BETWEEN`` pre-filter, so the box never wraps: when the circle
    contains a pole or crosses the antimeridian the longitude range is the whole
    ``[-180, 180]`` (and the latitude range is clamped to ``[-90, 90]``).
    """
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
        raise ValueError(f"invalid centre ({lat!r}, {lon!r})")
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"invalid radius {radius_m!r}")
    delta = radius_m / EARTH_RADIUS_M + _BOX_MARGIN_RAD
    phi = math.radians(lat)
    min_lat = max(-90.0, math.degrees(phi - delta))
    max_lat = min(90.0, math.degrees(phi + delta))
    if abs(phi) + delta >= math.pi / 2:
        return min_lat, max_lat, -180.0, 180.0  # a pole lies inside the circle
    # Widest longitude extent of a small circle (the meridians tangent to it).
    dlon = math.degrees(math.asin(min(1.0, math.sin(delta) / math.cos(phi))))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon <= -180 or max_lon >= 180:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, min_lon, max_lon


def _as_latlon_array(points: Points) -> NDArray[np.float64]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must be a sequence of (lat, lon) pairs, got shape {arr.shape}")
    return arr


def within_radius(
    points: Points,
    lat: float,
    lon: float,
    radius_m: float,
) -> list[int]:
    """Indices (ascending) of the ``(lat, lon)`` points at most ``radius_m`` from the centre."""
    arr = _as_latlon_array(points)
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_m)
    plat, plon = arr[:, 0], arr[:, 1]
    candidates = np.flatnonzero((plat >= min_lat) & (plat <= max_lat) & (plon >= min_lon) & (plon <= max_lon))
    if candidates.size == 0:
        return []
    phi1 = math.radians(lat)
    phi2 = np.radians(plat[candidates])
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * np.cos(phi2) * np.sin(np.radians(plon[candidates] - lon) / 2) ** 2
    )
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return [int(i) for i in candidates[dist <= radius_m]]


@dataclass(frozen=True)
class ZoneShape:
    """One validated zone: identity, hierarchy and its polygon (lon/lat)."""

    slug: str
    name: str
    kind: str
    parent: str | None
    geometry: BaseGeometry  # shapely Polygon or MultiPolygon
    geojson: dict[str, Any] = field(compare=False, repr=False)  # the GeoJSON geometry object


class ZoneError(SaveRelayError, ValueError):
    """A zone file is invalid; ``problems`` lists every problem found, one per entry."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        lines = "\n  ".join(map(str, self.problems))
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in zone file:\n  " + lines)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ring_problems(ring: object) -> list[Problem]:
    if not isinstance(ring, list) or len(ring) < 4:
        return [Problem.of("geo_ring_short")]
    problems: list[Problem] = []
    for pos in ring:
        if not (isinstance(pos, list) and len(pos) in (2, 3) and all(_is_number(c) for c in pos)):
            return [Problem.of("geo_bad_position", value=json.dumps(pos)[:80])]
        lon, lat = pos[0], pos[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            problems.append(Problem.of("geo_out_of_range", lon=lon, lat=lat))
            break
    if not problems and ring[0][:2] != ring[-1][:2]:
        problems.append(Problem.of("geo_ring_open"))
    return problems


def _geometry_problems(geom: object) -> list[Problem]:
    if not isinstance(geom, dict):
        return [Problem.of("geo_no_geometry")]
    gtype = geom.get("type")
    coords = geom.get("coordinates")
    if gtype not in ("Polygon", "MultiPolygon"):
        return [Problem.of("geo_bad_type", value=str(gtype))]
    polygons = [coords] if gtype == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        return [Problem.of("geo_bad_coordinates")]
    problems: list[Problem] = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return [Problem.of("geo_bad_polygon")]
        for ring in polygon:
            problems += _ring_problems(ring)
    if problems:
        return problems
    shp = shape(geom)
    if shp.is_empty:
        return [Problem.of("geo_empty")]
    if not shapely.is_valid(shp):
        return [Problem.of("geo_invalid", detail=shapely.is_valid_reason(shp))]
    return []


def _cycle_problems(parents: Mapping[str, str | None], where: Mapping[str, int]) -> list[Problem]:
    """One problem per parent cycle, naming its members in order."""
    problems: list[Problem] = []
    settled: set[str] = set()
    for start in parents:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in settled and node not in path:
            path.append(node)
            node = parents.get(node)
        if node is not None and node in path:
            cycle = path[path.index(node) :]
            chain = " -> ".join([*cycle, node])
            problems.append(Problem.of("geo_cycle", feature=where[cycle[0]], slug=cycle[0], chain=chain))
        settled.update(path)
    return problems


def _property_problems(
    slug: object, name: object, kind: object, parent: object, seen: Mapping[str, int]
) -> list[Problem]:
    errs: list[Problem] = []
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        errs.append(Problem.of("geo_bad_slug", value=str(slug), pattern=SLUG_RE.pattern))
    elif slug in seen:
        errs.append(Problem.of("geo_duplicate_slug", value=slug, other=seen[slug]))
    if not isinstance(name, str) or not name.strip():
        errs.append(Problem.of("geo_no_name"))
    if kind not in ZONE_KINDS:
        errs.append(Problem.of("geo_bad_kind", value=str(kind), kinds=", ".join(sorted(ZONE_KINDS))))
    if parent is not None and not isinstance(parent, str):
        errs.append(Problem.of("geo_bad_parent", value=str(parent)))
    elif parent is not None and parent == slug:
        errs.append(Problem.of("geo_own_parent"))
    return errs


def _parse(data: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ZoneError([Problem.of("geo_not_json", detail=str(exc))]) from exc
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise ZoneError([Problem.of("geo_not_collection")])
    if not isinstance(data.get("features"), list):
        raise ZoneError([Problem.of("geo_no_features")])
    return data


def load_zones(data: Mapping[str, Any] | str | bytes) -> list[ZoneShape]:
    """Parse and validate a GeoJSON FeatureCollection of zones.

    Every feature needs ``properties`` ``slug`` (unique, ``SLUG_RE``), ``name``, ``kind``
    (one of ``ZONE_KINDS``) and ``parent`` (an existing slug or null, without cycles), and a
    valid Polygon/MultiPolygon geometry in lon/lat. All problems are collected and raised
    together as one :class:`ZoneError`.
    """
    features = _parse(data)["features"]
    problems: list[Problem] = []
    zones: list[ZoneShape] = []
    where: dict[str, int] = {}  # slug -> the index of the first feature with it
    parents: dict[str, str | None] = {}
    for i, feat in enumerate(features):
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(props, dict) or feat.get("type") != "Feature":
            problems.append(Problem.of("geo_not_feature", feature=i))
            continue
        slug, name, kind, parent = (props.get(k) for k in ("slug", "name", "kind", "parent"))
        errs = _property_problems(slug, name, kind, parent, where)
        errs += _geometry_problems(feat.get("geometry"))
        problems += [at_feature(e, i, slug) for e in errs]
        if isinstance(slug, str) and slug not in where:
            where[slug] = i
            parents[slug] = parent if isinstance(parent, str) and parent != slug else None
        if not errs:
            geom = feat["geometry"]
            zones.append(
                ZoneShape(props["slug"], props["name"].strip(), props["kind"], parent, shape(geom), geom)
            )
    for child, parent_slug in parents.items():
        if parent_slug is not None and parent_slug not in parents:
            problems.append(
                Problem.of("geo_unknown_parent", feature=where[child], slug=child, value=parent_slug)
            )
    problems += _cycle_problems(parents, where)
    if problems:
        raise ZoneError(problems)
    return zones


class ZoneIndex:
    """Point-in-zone lookups over a fixed set of zones (an STRtree of their polygons).

    A point on a zone's boundary belongs to the zone. Results list slugs in zone order.
    """

    def __init__(self, zones: Iterable[ZoneShape]) -> None:
        self.zones: tuple[ZoneShape, ...] = tuple(zones)
        self.slugs: tuple[str, ...] = tuple(z.slug for z in self.zones)
        self._geoms = np.array([z.geometry for z in self.zones], dtype=object)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self.zones)

    def zones_at(self, lat: float, lon: float) -> list[str]:
        """Slugs of the zones covering the point."""
        point = shapely.Point(lon, lat)
        candidates = np.sort(self._tree.query(point))
        hits = candidates[shapely.covers(self._geoms[candidates], point)]
        return [self.slugs[i] for i in hits.tolist()]

    def members(self, points: Points) -> list[list[int]]:
        """For each zone (in zone order), the indices (ascending) of the ``(lat, lon)`` points it covers.

        No geometry is made per point: the points are sorted by latitude once, each zone takes the
        slice within its bounding box (``searchsorted``, then a longitude mask) and tests only those
        with ``intersects_xy`` (a point on the boundary belongs to the zone, as in ``zones_at``).
        """
        arr = _as_latlon_array(points)
        by_lat = np.argsort(arr[:, 0])
        lats, lons = arr[by_lat, 0], arr[by_lat, 1]
        out: list[list[int]] = []
        for geom in self._geoms:
            min_lon, min_lat, max_lon, max_lat = shapely.bounds(geom)
            band = slice(np.searchsorted(lats, min_lat, "left"), np.searchsorted(lats, max_lat, "right"))
            box = np.flatnonzero((lons[band] >= min_lon) & (lons[band] <= max_lon)) + band.start
            hits = by_lat[box[shapely.intersects_xy(geom, lons[box], lats[box])]]
            out.append(np.sort(hits).tolist())
        return out

    def memberships(self, points: Points) -> list[list[str]]:
        """``zones_at`` for many ``(lat, lon)`` points at once (built from ``members``)."""
        arr = _as_latlon_array(points)
        result: list[list[str]] = [[] for _ in range(len(arr))]
        for slug, hits in zip(self.slugs, self.members(arr), strict=True):
            for p in hits:
                result[p].append(slug)
        return result
