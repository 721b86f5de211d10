"""Tests for save_relay.core.geo: distances, radius searches, zone loading and point-in-zone lookups."""

from __future__ import annotations

import copy
import csv
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from save_relay.core.geo import (
    EARTH_RADIUS_M,
    ZoneError,
    ZoneIndex,
    ZoneShape,
    bounding_box,
    haversine_m,
    load_zones,
    within_radius,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
ZONES_PATH = CONFIG / "zones.geojson"
SUBSCRIBERS_PATH = CONFIG / "subscribers.csv"

# Length of one degree of arc on the sphere: R * pi / 180 = 6_371_008.8 * 0.0174532925... m
M_PER_DEG = 111_195.080_233_5
LOMMEL = (51.2306, 5.3133)
MOL = (51.1911, 5.1166)


def destination(lat: float, lon: float, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    """The point ``dist_m`` from (lat, lon) along the initial bearing, on the sphere.

    Computed with unit vectors (centre, local north, local east) and atan2, which stays accurate
    next to the poles where the usual asin formula loses half its digits.
    """
    phi, lmb, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    delta = dist_m / EARTH_RADIUS_M
    centre = (math.cos(phi) * math.cos(lmb), math.cos(phi) * math.sin(lmb), math.sin(phi))
    north = (-math.sin(phi) * math.cos(lmb), -math.sin(phi) * math.sin(lmb), math.cos(phi))
    east = (-math.sin(lmb), math.cos(lmb), 0.0)
    x, y, z = (
        math.cos(delta) * c + math.sin(delta) * (math.cos(theta) * n + math.sin(theta) * e)
        for c, n, e in zip(centre, north, east, strict=True)
    )
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


# --- haversine -------------------------------------------------------------------------------------


def test_one_degree_of_latitude() -> None:
    assert EARTH_RADIUS_M * math.pi / 180 == pytest.approx(M_PER_DEG, abs=1e-6)
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(51.0, 5.0, 52.0, 5.0) == pytest.approx(111_195.08, abs=0.01)
    # On the equator a degree of longitude is the same great-circle arc.
    assert haversine_m(0.0, 10.0, 0.0, 11.0) == pytest.approx(111_195.08, abs=0.01)


def test_haversine_basic_properties() -> None:
    assert haversine_m(*LOMMEL, *LOMMEL) == 0.0
    assert haversine_m(*LOMMEL, *MOL) == haversine_m(*MOL, *LOMMEL)
    # Antipodes: half the circumference.
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(90.0, 0.0, -90.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_lommel_to_mol() -> None:
    # By hand (equirectangular, accurate to millimetres at this distance):
    #   dlat = 51.2306 - 51.1911 = 0.0395 deg  -> dy = 0.0395 * 111_195.08          =  4_392.21 m
    #   mean lat = 51.21085 deg, cos = 0.626456
    #   dlon = 5.3133 - 5.1166 = 0.1967 deg    -> dx = 0.1967 * 111_195.08 * 0.626456 = 13_701.90 m
    #   d = sqrt(4_392.21^2 + 13_701.90^2)                                        = 14_388.66 m
    assert haversine_m(*LOMMEL, *MOL) == pytest.approx(14_388.66, abs=0.5)


# --- radius search -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dist_m, inside", [(1_495.0, True), (1_505.0, False)])
def test_point_along_meridian_inside_or_outside_radius(dist_m: float, inside: bool) -> None:
    # Along a meridian the distance is just R * dphi, so the offset is dist / M_PER_DEG degrees:
    # 1_495 m -> 0.0134448 deg, 1_505 m -> 0.0135348 deg (north and south of the centre).
    dlat = dist_m / M_PER_DEG
    north = (LOMMEL[0] + dlat, LOMMEL[1])
    south = (LOMMEL[0] - dlat, LOMMEL[1])
    assert haversine_m(*LOMMEL, *north) == pytest.approx(dist_m, abs=1e-6)
    assert haversine_m(*LOMMEL, *south) == pytest.approx(dist_m, abs=1e-6)
    expected = [0, 1] if inside else []
    assert within_radius([north, south], *LOMMEL, 1_500.0) == expected


@pytest.mark.parametrize("dist_m, inside", [(1_495.0, True), (1_505.0, False)])
def test_point_along_parallel_inside_or_outside_radius(dist_m: float, inside: bool) -> None:
    # Same latitude: haversine gives sin(d / 2R) = cos(phi) * sin(dlon / 2).
    dlon = math.degrees(
        2 * math.asin(math.sin(dist_m / (2 * EARTH_RADIUS_M)) / math.cos(math.radians(LOMMEL[0])))
    )
    east = (LOMMEL[0], LOMMEL[1] + dlon)
    west = (LOMMEL[0], LOMMEL[1] - dlon)
    assert haversine_m(*LOMMEL, *east) == pytest.approx(dist_m, abs=1e-6)
    assert within_radius([east, west], *LOMMEL, 1_500.0) == ([0, 1] if inside else [])


def test_within_radius_matches_brute_force() -> None:
    rng = random.Random(1234)
    points = [
        (LOMMEL[0] + rng.uniform(-0.1, 0.1), LOMMEL[1] + rng.uniform(-0.15, 0.15)) for _ in range(5_000)
    ]
    for radius in (0.0, 250.0, 1_500.0, 5_000.0, 12_000.0):
        expected = [i for i, p in enumerate(points) if haversine_m(*LOMMEL, *p) <= radius]
        assert within_radius(points, *LOMMEL, radius) == expected
    assert within_radius([], *LOMMEL, 1_000.0) == []
    assert within_radius([LOMMEL], *LOMMEL, 0.0) == [0]


def test_within_radius_rejects_malformed_points() -> None:
    with pytest.raises(ValueError, match="pairs"):
        within_radius([(1.0, 2.0, 3.0)], *LOMMEL, 100.0)  # type: ignore[list-item]


# --- bounding box -------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, database=None)
@given(
    lat=st.floats(-90.0, 90.0),
    lon=st.floats(-180.0, 180.0),
    radius=st.one_of(st.floats(0.0, 50_000.0), st.floats(0.0, 25_000_000.0)),
    bearings=st.lists(st.floats(0.0, 360.0), min_size=1, max_size=16),
)
def test_bounding_box_contains_circle(lat: float, lon: float, radius: float, bearings: list[float]) -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
    assert -90.0 <= min_lat <= lat <= max_lat <= 90.0
    assert -180.0 <= min_lon <= max_lon <= 180.0
    assert min_lon <= lon <= max_lon
    # The extreme bearings (east/west tangents) are where a too-narrow box would show first.
    for bearing in [*bearings, 0.0, 90.0, 180.0, 270.0]:
        plat, plon = destination(lat, lon, bearing, radius)
        assert min_lat <= plat <= max_lat
        assert min_lon <= plon <= max_lon


def test_bounding_box_is_tight_in_lommel() -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(*LOMMEL, 1_500.0)
    # Half-height 1_500 / 111_195.08 = 0.013490 deg; half-width about that / cos(51.23 deg) = 0.021534.
    assert (max_lat - min_lat) / 2 == pytest.approx(0.013490, abs=1e-5)
    assert (max_lon - min_lon) / 2 == pytest.approx(0.021534, abs=1e-5)


def test_bounding_box_near_poles_and_antimeridian() -> None:
    # A circle around (89.99, 0) of 5 km contains the North Pole: every longitude is in range.
    min_lat, max_lat, min_lon, max_lon = bounding_box(89.99, 0.0, 5_000.0)
    assert min_lat == pytest.approx(89.99 - 5_000 / M_PER_DEG)
    assert (max_lat, min_lon, max_lon) == (90.0, -180.0, 180.0)
    assert bounding_box(-90.0, 0.0, 0.0)[2:] == (-180.0, 180.0)
    # Crossing the antimeridian never produces a wrapped (min > max) range.
    assert bounding_box(0.0, 179.99, 5_000.0)[2:] == (-180.0, 180.0)
    # Half the circumference covers the whole globe.
    assert bounding_box(10.0, 20.0, math.pi * EARTH_RADIUS_M) == (-90.0, 90.0, -180.0, 180.0)


@pytest.mark.parametrize(
    "args", [(51.0, 5.0, -1.0), (91.0, 5.0, 10.0), (math.nan, 5.0, 10.0), (51.0, 5.0, math.inf)]
)
def test_bounding_box_rejects_bad_input(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        bounding_box(*args)


# --- load_zones ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_zones() -> list[ZoneShape]:
    return load_zones(ZONES_PATH.read_text(encoding="utf-8"))


def test_demo_zones_are_valid(demo_zones: list[ZoneShape]) -> None:
    slugs = [z.slug for z in demo_zones]
    assert 6 <= len(slugs) <= 7
    assert len(set(slugs)) == len(slugs)
    by_slug = {z.slug: z for z in demo_zones}
    kinds = {z.kind for z in demo_zones}
    assert {"industrial-park", "police-sector"} <= kinds
    for zone in demo_zones:
        assert zone.geometry.is_valid
        assert zone.geojson["type"] in ("Polygon", "MultiPolygon")
        if zone.parent is not None:
            parent = by_slug[zone.parent]
            assert parent.geometry.covers(zone.geometry), f"{zone.slug} sticks out of {parent.slug}"
    # Every park lies in a police sector.
    for zone in demo_zones:
        if zone.kind == "industrial-park":
            assert zone.parent is not None
            assert by_slug[zone.parent].kind == "police-sector"
    # Lommel centre lies in the municipality and in exactly one police sector.
    index = ZoneIndex(demo_zones)
    at_centre = index.zones_at(*LOMMEL)
    assert "lommel" in at_centre
    assert sum(by_slug[s].kind == "police-sector" for s in at_centre) == 1


def test_load_zones_accepts_str_bytes_and_dict(demo_zones: list[ZoneShape]) -> None:
    raw = ZONES_PATH.read_bytes()
    assert load_zones(raw) == demo_zones
    assert load_zones(json.loads(raw)) == demo_zones


def _feature(slug: Any, parent: Any = None, coordinates: Any = None, **extra: Any) -> dict[str, Any]:
    if coordinates is None:
        coordinates = [[[5.30, 51.20], [5.32, 51.20], [5.32, 51.22], [5.30, 51.22], [5.30, 51.20]]]
    props = {"slug": slug, "name": f"Zone {slug}", "kind": "industrial-park", "parent": parent}
    geometry = {"type": extra.pop("geometry_type", "Polygon"), "coordinates": coordinates}
    props.update(extra)
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    base = _feature("sector", kind="police-sector")
    base["geometry"]["coordinates"] = [[[5.2, 51.1], [5.4, 51.1], [5.4, 51.3], [5.2, 51.3], [5.2, 51.1]]]
    return {"type": "FeatureCollection", "features": [base, *features]}


BOWTIE = [[[5.30, 51.20], [5.32, 51.22], [5.32, 51.20], [5.30, 51.22], [5.30, 51.20]]]

BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("bowtie", _collection(_feature("bowtie", coordinates=BOWTIE)), r"#1 \('bowtie'\).*Self-intersection"),
    (
        "unknown parent",
        _collection(_feature("park", parent="nowhere")),
        r"#1 \('park'\).*unknown parent 'nowhere'",
    ),
    (
        "parent cycle",
        _collection(_feature("a", parent="b"), _feature("b", parent="c"), _feature("c", parent="a")),
        r"parent cycle a -> b -> c -> a",
    ),
    ("own parent", _collection(_feature("park", parent="park")), r"#1 \('park'\).*its own parent"),
    (
        "duplicate slug",
        _collection(_feature("park"), _feature("park")),
        r"#2 \('park'\).*duplicate slug 'park'",
    ),
    ("bad slug", _collection(_feature("Kolonel Dusart")), r"#1 \('Kolonel Dusart'\).*invalid slug"),
    ("missing slug", _collection(_feature(None)), r"#1: invalid slug"),
    ("slug too long", _collection(_feature("x" * 64)), r"invalid slug"),
    ("empty name", _collection(_feature("park", name="  ")), r"#1 \('park'\).*empty name"),
    ("unknown kind", _collection(_feature("park", kind="shopping-mall")), r"unknown kind 'shopping-mall'"),
    (
        "point geometry",
        _collection(_feature("park", geometry_type="Point", coordinates=[5.3, 51.2])),
        r"#1 \('park'\).*'Point' is not Polygon or MultiPolygon",
    ),
    (
        "linestring geometry",
        _collection(_feature("park", geometry_type="LineString", coordinates=[[5.3, 51.2], [5.4, 51.2]])),
        r"'LineString' is not Polygon or MultiPolygon",
    ),
    (
        "latitude out of range",
        _collection(_feature("park", coordinates=[[[5.3, 51.2], [5.4, 95.0], [5.4, 51.2], [5.3, 51.2]]])),
        r"#1 \('park'\).*out of range",
    ),
    (
        "lat/lon swapped far east",
        _collection(_feature("park", coordinates=[[[51.2, 5.3], [181.0, 5.3], [51.3, 5.4], [51.2, 5.3]]])),
        r"out of range",
    ),
    (
        "unclosed ring",
        _collection(_feature("park", coordinates=[[[5.3, 51.2], [5.4, 51.2], [5.4, 51.3], [5.3, 51.3]]])),
        r"not closed",
    ),
    (
        "too few positions",
        _collection(_feature("park", coordinates=[[[5.3, 51.2], [5.3, 51.2]]])),
        r"at least 4",
    ),
    ("non-numeric position", _collection(_feature("park", coordinates=[[["5.3", 51.2]] * 4])), r"malformed"),
]


@pytest.mark.parametrize("data, pattern", [pytest.param(d, p, id=i) for i, d, p in BAD_INPUTS])
def test_load_zones_rejects(data: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ZoneError, match=pattern) as info:
        load_zones(copy.deepcopy(data))
    assert info.value.problems
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "data, pattern",
    [
        ("{not json", "not valid JSON"),
        (b'{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection"}, "no 'features' list"),
        ({"type": "FeatureCollection", "features": [42]}, r"feature #0: not a GeoJSON Feature"),
    ],
)
def test_load_zones_rejects_bad_documents(data: Any, pattern: str) -> None:
    with pytest.raises(ZoneError, match=pattern):
        load_zones(data)


def test_load_zones_reports_all_problems_at_once() -> None:
    data = _collection(
        _feature("bowtie", coordinates=BOWTIE),
        _feature("Bad Slug"),
        _feature("orphan", parent="nowhere"),
        _feature("x", parent="y"),
        _feature("y", parent="x"),
    )
    with pytest.raises(ZoneError) as info:
        load_zones(data)
    problems = info.value.problems
    assert len(problems) == 4, problems
    text = str(info.value)
    assert text.startswith("4 problems in zone file")
    for needle in (
        "Self-intersection",
        "invalid slug 'Bad Slug'",
        "unknown parent 'nowhere'",
        "parent cycle x -> y",
    ):
        assert needle in text


def test_load_zones_accepts_multipolygon_and_holes() -> None:
    outer = [[5.30, 51.20], [5.40, 51.20], [5.40, 51.30], [5.30, 51.30], [5.30, 51.20]]
    hole = [[5.33, 51.23], [5.33, 51.27], [5.37, 51.27], [5.37, 51.23], [5.33, 51.23]]
    far = [[5.50, 51.20], [5.52, 51.20], [5.52, 51.22], [5.50, 51.22], [5.50, 51.20]]
    data = _collection(
        _feature("ring-park", parent="sector", coordinates=[outer, hole]),
        _feature("two-parts", coordinates=[[outer], [far]], geometry_type="MultiPolygon"),
    )
    zones = load_zones(data)
    assert [z.slug for z in zones] == ["sector", "ring-park", "two-parts"]
    index = ZoneIndex(zones)
    assert index.zones_at(51.25, 5.35) == ["sector", "two-parts"]  # in the hole of ring-park
    assert index.zones_at(51.21, 5.31) == ["sector", "ring-park", "two-parts"]
    assert index.zones_at(51.21, 5.51) == ["two-parts"]


# --- ZoneIndex ----------------------------------------------------------------------------------------


def _subscribers() -> list[dict[str, str]]:
    with SUBSCRIBERS_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_zone_index_places_demo_subscribers(demo_zones: list[ZoneShape]) -> None:
    index = ZoneIndex(demo_zones)
    kinds = {z.slug: z.kind for z in demo_zones}
    companies = [r for r in _subscribers() if "politie-ploegen" not in r["groups"].split(";")]
    placed = {r["company"]: index.zones_at(float(r["latitude"]), float(r["longitude"])) for r in companies}
    in_one = [c for c, zs in placed.items() if zs]
    in_two = [c for c, zs in placed.items() if len(zs) >= 2]
    in_park = [c for c, zs in placed.items() if any(kinds[z] == "industrial-park" for z in zs)]
    assert len(in_one) >= 30
    assert len(in_two) >= 3
    assert len(in_park) >= 30
    assert len(in_park) < len(companies), "some companies should lie outside every park"
    for zone in demo_zones:
        if zone.kind == "industrial-park":
            assert sum(zone.slug in zs for zs in placed.values()) >= 5, zone.slug
    for row in companies:
        zones = placed[row["company"]]
        # Parks never overlap; a company in a park is also in the park's sector.
        parks = [z for z in zones if kinds[z] == "industrial-park"]
        assert len(parks) <= 1, (row["company"], zones)
        for park in parks:
            assert next(z.parent for z in demo_zones if z.slug == park) in zones
        # Everyone outside the zones was given a manual zone membership.
        assert zones or row["zones"], row["company"]


def test_zone_index_boundaries(demo_zones: list[ZoneShape]) -> None:
    index = ZoneIndex(demo_zones)
    park = next(z for z in demo_zones if z.kind == "industrial-park")
    lon, lat = park.geojson["coordinates"][0][0]
    assert park.slug in index.zones_at(lat, lon)  # a vertex is on the boundary: included
    # A point on the line between the two police sectors is in both.
    noord = next(z for z in demo_zones if z.slug == "sector-lommel-noord")
    zuid = next(z for z in demo_zones if z.slug == "sector-lommel-zuid")
    shared = noord.geometry.intersection(zuid.geometry)
    assert shared.geom_type == "LineString"
    mid = shared.interpolate(0.5, normalized=True)
    assert {"sector-lommel-noord", "sector-lommel-zuid"} <= set(index.zones_at(mid.y, mid.x))
    assert index.zones_at(0.0, 0.0) == []
    assert ZoneIndex([]).zones_at(*LOMMEL) == []
    assert ZoneIndex([]).memberships([LOMMEL]) == [[]]


def test_memberships_equals_zones_at(demo_zones: list[ZoneShape]) -> None:
    index = ZoneIndex(demo_zones)
    rng = random.Random(42)
    points = [(rng.uniform(51.15, 51.31), rng.uniform(5.19, 5.44)) for _ in range(3_000)]
    # Vertices of every zone (boundary cases) and the demo subscribers.
    for zone in demo_zones:
        points += [(lat, lon) for lon, lat in zone.geojson["coordinates"][0]]
    points += [(float(r["latitude"]), float(r["longitude"])) for r in _subscribers()]
    bulk = index.memberships(points)
    assert len(bulk) == len(points)
    assert bulk == [index.zones_at(lat, lon) for lat, lon in points]
    assert sum(1 for zs in bulk if zs) > 1_000
    assert index.memberships([]) == []
    members = index.members(points)
    assert members == [[p for p, zs in enumerate(bulk) if slug in zs] for slug in index.slugs]
    assert index.members([]) == [[] for _ in index.slugs]
