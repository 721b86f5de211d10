"""Tests for save_relay.store.latcell: the latitude bands behind the radius search's index."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import column
from sqlalchemy.dialects import postgresql, sqlite

from save_relay.store.latcell import CELLS_PER_DEGREE, MAX_CELLS, lat_cell, lat_cell_of, lat_cells

LATITUDES = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)


def test_bands_are_a_hundredth_of_a_degree() -> None:
    assert CELLS_PER_DEGREE == 100
    assert lat_cell(-90.0) == 0
    assert lat_cell(90.0) == 18_000
    assert lat_cell(51.2345) == 14_123
    assert lat_cell(-0.005) == 8_999  # a floor, not a truncation towards zero


def test_a_latitude_on_a_band_edge_and_its_neighbours() -> None:
    for edge in (51.24, 51.25, 0.0, -33.87):
        below, above = math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)
        assert lat_cell(below) <= lat_cell(edge) <= lat_cell(above)
        assert lat_cell(above) - lat_cell(below) <= 1
        for lat in (below, edge, above):
            assert lat_cell(lat) in (lat_cells(lat, lat) or [])


@given(LATITUDES, LATITUDES, LATITUDES)
def test_every_latitude_of_a_range_has_its_band_listed(a: float, b: float, c: float) -> None:
    low, mid, high = sorted((a, b, c))
    cells = lat_cells(low, high)
    if cells is None:
        assert lat_cell(high) - lat_cell(low) >= MAX_CELLS
    else:
        assert cells == sorted(set(cells)) and lat_cell(mid) in cells


def test_too_many_bands_means_no_band_condition() -> None:
    assert lat_cells(0.0, 19.98) is not None
    assert lat_cells(0.0, 20.0) is None


def test_the_sql_is_a_floor_on_both_databases() -> None:
    expr = lat_cell_of(column("latitude"))
    assert str(expr.compile(dialect=sqlite.dialect())) == "CAST((latitude + 90.0) * 100 AS INTEGER)"
    assert (
        str(expr.compile(dialect=postgresql.dialect())) == "CAST(floor((latitude + 90.0) * 100) AS INTEGER)"
    )
