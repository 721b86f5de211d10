"""The scale benchmarks at a tiny size: their own checks pass (every recipient exactly once at the
sink, every delivery sent once) and their summaries are complete. PostgreSQL parts skip without
SAVE_RELAY_TEST_DATABASE_URL. The sink is the one ``make bench`` uses: Postfix's smtp-sink where it is
installed, else the aiosmtpd one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench import fanoutkill, intake, scale_suite
from bench.daemon import toml_text
from bench.postfix_sink import SMTP_SINK, PostfixSink
from bench.sink import CountingSink, Sink


@pytest.fixture
def bench_sink() -> Iterator[CountingSink]:
    sink: CountingSink = PostfixSink(prefix="user") if SMTP_SINK.exists() else Sink(prefix="user")
    yield sink
    sink.stop()


def test_generated_config_is_toml() -> None:
    import tomllib

    data = {
        "node_name": "w",
        "smtp": {"enabled": False, "port": 0},
        "networks": {"x": {"moderators": ["a@b"]}},
        "categories": [{"slug": "fire", "names": {"nl": "brand"}, "keywords": {}}],  # a list of tables
    }
    assert tomllib.loads(toml_text(data)) == data


async def test_fanout_100k_at_a_tiny_size(bench_sink: CountingSink) -> None:
    summary = await scale_suite.run_fanout_100k(bench_sink, 1, (20, 200))
    assert list(summary["sizes"]) == ["20", "200"]
    assert summary["sizes"]["200"]["runs"][0]["sent_by"] == [200]
    assert 50 < summary["max_peak_rss_mib"] < 1000
    assert summary["size_ratio"] == 10 and summary["targets"]["peak_rss_met"]


async def test_scale_out_at_a_tiny_size(bench_sink: CountingSink) -> None:
    if intake.pg_url() is None:
        pytest.skip("SAVE_RELAY_TEST_DATABASE_URL is not set")
    summary = await scale_suite.run_scale_out(bench_sink, 1, 200)
    one, two = summary["workers"]["workers-1"], summary["workers"]["workers-2"]
    assert one["runs"][0]["sent_by"] == [200]
    assert sum(two["runs"][0]["sent_by"]) == 200 and len(two["runs"][0]["sent_by"]) == 2
    assert summary["two_over_one"]["median"] > 0


async def test_fanout_kill_at_a_tiny_size(bench_sink: CountingSink) -> None:
    summary = await fanoutkill.run(bench_sink, 1, 200)
    sqlite = summary["sqlite"]
    assert sqlite["recipients"] == 200 and sqlite["bound_met"]
    assert 0 < sqlite["runs"][0]["at_kill"] < 200
