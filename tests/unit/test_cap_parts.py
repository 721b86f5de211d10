"""CAP's pure parts: the area's coordinate order both ways, the times, the BE-Alert text's length."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from save_relay.channels.alerttext import LIMIT, short_text
from save_relay.channels.area import cap_circle, cap_polygon, cap_polygons, geojson_ring
from save_relay.channels.cap import cap_time

RING = [[5.28, 51.23], [5.30, 51.23], [5.30, 51.25], [5.28, 51.23]]
lon = st.floats(min_value=-180, max_value=180, allow_nan=False)
lat = st.floats(min_value=-90, max_value=90, allow_nan=False)


def test_cap_writes_lat_first_and_closes_the_ring() -> None:
    assert cap_polygon(RING) == "51.23,5.28 51.23,5.3 51.25,5.3 51.23,5.28"
    assert cap_polygon(RING[:-1]) == cap_polygon(RING)  # an open ring is closed
    assert cap_circle(51.24, 5.29, 500) == "51.24,5.29 0.5"


@given(st.lists(st.tuples(lon, lat), min_size=3, max_size=30))
def test_a_ring_comes_back_the_same(points: list[tuple[float, float]]) -> None:
    ring = [[x, y] for x, y in points] + [[points[0][0], points[0][1]]]
    assert geojson_ring(cap_polygon(ring)) == ring


def test_multipolygons_give_one_polygon_per_part_and_holes_are_left_out() -> None:
    hole = [[5.29, 51.235], [5.295, 51.235], [5.295, 51.24], [5.29, 51.235]]
    polygon = {"type": "Polygon", "coordinates": [RING, hole]}
    assert cap_polygons(polygon) == [cap_polygon(RING)]
    multi = {"type": "MultiPolygon", "coordinates": [[RING], [hole]]}
    assert cap_polygons({"type": "Feature", "geometry": multi}) == [cap_polygon(RING), cap_polygon(hole)]
    assert cap_polygons({"type": "Point", "coordinates": [5.2, 51.2]}) == []


def test_cap_times_carry_an_offset_never_z() -> None:
    moment = datetime(2026, 12, 5, 20, 30, 15, 123456, tzinfo=UTC)
    assert cap_time(moment) == "2026-12-05T20:30:15+00:00"
    assert cap_time(moment.astimezone(ZoneInfo("Europe/Brussels"))) == "2026-12-05T21:30:15+01:00"
    with pytest.raises(ValueError):
        cap_time(datetime(2026, 12, 5, 20, 30))


@pytest.mark.parametrize("language", ["nl", "fr", "en", "de"])
@pytest.mark.parametrize("kind", ["Alert", "Update", "Cancel"])
def test_the_operator_text_fits_160_characters(language: str, kind: str) -> None:
    long = "Een witte bestelwagen   reed\n drie keer langs de poort " * 20
    short = short_text(
        language=language,
        network="SaVE Lommel",
        text=long,
        reference="SAVE-2026-000123",
        exercise=True,
        kind=kind,
    )
    assert len(short) <= LIMIT and "(SAVE-2026-000123)" in short and "112" in short
    assert "…" in short and "  " not in short and "\n" not in short
    assert short.startswith(("[OEFENING] ", "[EXERCICE] ", "[EXERCISE] ", "[ÜBUNG] "))
    brief = short_text(
        language="nl",
        network="SaVE Lommel",
        text="Poort open.",
        reference="SAVE-2026-000123",
        exercise=False,
        kind="Alert",
    )
    assert brief == "SaVE Lommel: Poort open. (SAVE-2026-000123) Nood: 112"
