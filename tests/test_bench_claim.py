"""The claim benchmark at a small size: the claim in two statements takes the same messages in the same
fair order as the one-statement claim it replaced (the benchmark's own check), on SQLite and, with
SAVE_RELAY_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import os

import pytest
from bench import claim


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_both_claims_take_the_same_messages_in_the_same_order(kind: str) -> None:
    if kind == "postgresql" and not os.environ.get("SAVE_RELAY_TEST_DATABASE_URL"):
        pytest.skip("SAVE_RELAY_TEST_DATABASE_URL is not set")  # bench.intake.pg_url reads it too
    figures = await claim.measure(kind, 400, runs=1)  # raises if the two claims differ
    assert figures["queued"] == 400
    assert all(
        figures[f"{name}_{stats}_ms"]
        for name in ("one_statement", "two_statements")
        for stats in ("stale", "analysed")
    )
