"""The canvass benchmark (``bench/canvass.py``) at a tiny size: its own checks pass on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench import canvass, canvass_suite, intake
from bench.sink import Sink


@pytest.fixture(scope="module")
def bench_sink() -> Iterator[Sink]:
    sink = Sink(prefix="user", capture=("user", canvass.OWNER))
    yield sink
    sink.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_canvass_benchmark_checks_pass(bench_sink: Sink, kind: str) -> None:
    if kind == "postgresql" and not intake.pg_url():
        pytest.skip("SAVE_RELAY_TEST_DATABASE_URL is not set")
    run = await canvass.run_once(bench_sink, 50, 20, kind, timeout=60)
    assert run.recipients == 50 and run.answered.answers == len(run.answered.latencies) == 20
    assert 0 < run.step_seconds < run.send_seconds and run.processed_seconds >= run.answered.seconds
    assert sum(a.attached for a in run.mails) == 2 and len({a.mail_from for a in run.mails}) == 20
    base = await canvass.baseline_once(run.mails)
    summary = {
        "canvass-" + kind: canvass_suite._relay([run], [base]),
        "canvass-baseline": canvass_suite._answers([base]),
    }
    rows = canvass_suite.table(summary).splitlines()
    assert len(rows) == 3 and rows[1].startswith(f"canvass-{kind}")


def test_token_of_a_reply_address() -> None:
    assert canvass.token_of("industrie+reply-abcdefghijklmnopqrstuvwxyz@politie.lommel.be") == (
        "abcdefghijklmnopqrstuvwxyz"
    )
