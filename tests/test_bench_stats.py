"""The statistics benchmark at a tiny size: cold, warm and after one change, ``collect`` gives the same
counts as the naive aggregation (its own check), on SQLite and, with SAVE_RELAY_TEST_DATABASE_URL, on
PostgreSQL."""

from __future__ import annotations

import os

import pytest
from bench import stats


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_stats_benchmark_checks_pass_at_a_tiny_size(kind: str) -> None:
    url = os.environ.get("SAVE_RELAY_TEST_DATABASE_URL") if kind == "postgresql" else None
    if kind == "postgresql" and not url:
        pytest.skip("SAVE_RELAY_TEST_DATABASE_URL is not set")
    suite = stats.StatsBench(3000, url)
    try:
        await suite.setup()
        times = await suite.run_once()  # raises if any of the three results differs from the naive counts
    finally:
        await suite.close()
    assert set(times) == {"cold", "warm", "changed", "naive"}
