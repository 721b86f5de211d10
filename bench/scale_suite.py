"""The rounds, summaries and tables of fanout-100k and scale-out (for ``python -m bench``).

In each round every variant runs once, the order alternating from round to round, so that a busy spell
of the machine hits all of them. There is no warm-up round: every run starts fresh daemon processes.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from bench import fanout100k, intake, scaleout
from bench.scale import DaemonRun, Templates
from bench.sink import CountingSink

MIB_PER_MB = 1_000_000 / 2**20


def _label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


async def _rounds(
    runs: int, variants: Mapping[str, Callable[[], Awaitable[DaemonRun]]], title: str
) -> dict[str, list[DaemonRun]]:
    results: dict[str, list[DaemonRun]] = {name: [] for name in variants}
    for i in range(runs):
        order = list(variants) if i % 2 == 0 else list(reversed(list(variants)))
        for name in order:
            run = await variants[name]()
            results[name].append(run)
            print(
                f"  run {i + 1}/{runs} {title} {name:<10} {run.recipients:>7} in {run.seconds:6.2f} s "
                f"{run.per_second:6.0f}/s, peak RSS {max(run.peak_rss_mib):.0f} MiB, CPU "
                f"{'+'.join(f'{c:.0%}' for c in run.cpu_shares)} sink {run.sink_cpu_share:.0%}"
                + (f" pg {run.postgres_cpu_share:.0%}" if run.postgres_cpu_share is not None else "")
                + f", machine {run.machine_busy:.0%} busy, sent by {run.sent_by}",
                flush=True,
            )
    return results


async def run_fanout_100k(sink: CountingSink, runs: int, sizes: tuple[int, int]) -> dict[str, Any]:
    templates = Templates(sink)
    try:
        variants = {_label(n): partial(fanout100k.run_once, sink, templates, n) for n in sizes}
        results = await _rounds(runs, variants, "fanout-100k")
    finally:
        await templates.close()
    return fanout_summary(results, templates.setup_seconds)


async def run_scale_out(sink: CountingSink, runs: int, n: int) -> dict[str, Any]:
    url = intake.pg_url()
    if url is None:
        print(f"  scale-out: skipped, set one of {intake.PG_ENV}")
        return {"skipped": f"no PostgreSQL URL ({' or '.join(intake.PG_ENV)})"}
    templates = Templates(sink, url)
    try:
        variants = {
            f"workers-{w}": partial(scaleout.run_once, sink, templates, w, n) for w in scaleout.WORKERS
        }
        results = await _rounds(runs, variants, "scale-out")
    finally:
        await templates.close()
    return scale_out_summary(results, templates.setup_seconds)


def _summary(runs: list[DaemonRun]) -> dict[str, Any]:
    rates = [r.per_second for r in runs]
    pg = [r.postgres_cpu_share for r in runs if r.postgres_cpu_share is not None]
    return {
        "recipients": runs[0].recipients,
        "median_per_second": statistics.median(rates),
        "min_per_second": min(rates),
        "max_per_second": max(rates),
        "median_seconds": statistics.median(r.seconds for r in runs),
        "max_peak_rss_mib": max(max(r.peak_rss_mib) for r in runs),
        "median_daemon_cpu_shares": [
            statistics.median(s) for s in zip(*(r.cpu_shares for r in runs), strict=True)
        ],
        "median_daemon_cpu_seconds": statistics.median(sum(r.cpu_shares) * r.seconds for r in runs),
        "median_sink_cpu_share": statistics.median(r.sink_cpu_share for r in runs),
        "median_bench_cpu_share": statistics.median(r.bench_cpu_share for r in runs),
        "median_postgres_cpu_share": statistics.median(pg) if len(pg) == len(runs) else None,
        "median_machine_busy": statistics.median(r.machine_busy for r in runs),
        "runs": [
            {
                "seconds": round(r.seconds, 3),
                "per_second": round(r.per_second, 1),
                "peak_rss_mib": [round(x, 1) for x in r.peak_rss_mib],
                "daemon_cpu_shares": [round(x, 3) for x in r.cpu_shares],
                "sink_cpu_share": round(r.sink_cpu_share, 3),
                "bench_cpu_share": round(r.bench_cpu_share, 3),
                "postgres_cpu_share": None
                if r.postgres_cpu_share is None
                else round(r.postgres_cpu_share, 3),
                "machine_busy": round(r.machine_busy, 3),
                "sent_by": r.sent_by,
            }
            for r in runs
        ],
    }


def _paired(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "rounds": values}


def fanout_summary(results: dict[str, list[DaemonRun]], setup: dict[int, float]) -> dict[str, Any]:
    small, large = results.values()
    times = [round(b.seconds / a.seconds, 3) for a, b in zip(small, large, strict=True)]
    cpu = [
        round(sum(b.cpu_shares) * b.seconds / (sum(a.cpu_shares) * a.seconds), 3)
        for a, b in zip(small, large, strict=True)
    ]
    peak = max(max(r.peak_rss_mib) for r in large)
    return {
        "sizes": {name: _summary(runs) for name, runs in results.items()},
        "setup_seconds": {str(n): round(s, 1) for n, s in setup.items()},
        "time_ratio": _paired(times),
        "daemon_cpu_ratio": _paired(cpu),
        "size_ratio": large[0].recipients / small[0].recipients,
        "max_peak_rss_mib": peak,
        "targets": {
            "time_ratio_at_most": fanout100k.MAX_RATIO,
            "time_ratio_met": statistics.median(times) <= fanout100k.MAX_RATIO,
            "peak_rss_below_mb": fanout100k.MAX_RSS_MB,
            "peak_rss_met": peak < fanout100k.MAX_RSS_MB * MIB_PER_MB,
        },
    }


def scale_out_summary(results: dict[str, list[DaemonRun]], setup: dict[int, float]) -> dict[str, Any]:
    one, two = results.values()
    ratios = [round(b.per_second / a.per_second, 3) for a, b in zip(one, two, strict=True)]
    return {
        "workers": {name: _summary(runs) for name, runs in results.items()},
        "setup_seconds": {str(n): round(s, 1) for n, s in setup.items()},
        "two_over_one": _paired(ratios),
    }


def tables(fanout: dict[str, Any], scale_out: dict[str, Any]) -> str:
    lines = [
        f"{'benchmark':<22} {'recipients':>10} {'median/s':>9} {'min–max/s':>13} {'median s':>9} "
        f"{'peak RSS MiB':>12} {'cpu daemons/sink/pg':>20} {'busy':>5}"
    ]
    rows = [(f"fanout-100k {k}", v) for k, v in fanout.get("sizes", {}).items()]
    rows += [(f"scale-out {k}", v) for k, v in scale_out.get("workers", {}).items()]
    for name, s in rows:
        cpu = (
            "+".join(f"{c:.0%}" for c in s["median_daemon_cpu_shares"]) + f"/{s['median_sink_cpu_share']:.0%}"
        )
        if s["median_postgres_cpu_share"] is not None:
            cpu += f"/{s['median_postgres_cpu_share']:.0%}"
        lines.append(
            f"{name:<22} {s['recipients']:>10} {s['median_per_second']:>9.0f} "
            f"{s['min_per_second']:>6.0f}–{s['max_per_second']:<6.0f} {s['median_seconds']:>9.2f} "
            f"{s['max_peak_rss_mib']:>12.0f} {cpu:>20} {s['median_machine_busy']:>5.0%}"
        )
    if "time_ratio" in fanout:
        t, c = fanout["time_ratio"], fanout["daemon_cpu_ratio"]
        lines.append(
            f"fanout-100k: {fanout['size_ratio']:.0f}x the recipients, time {t['median']:.2f}x "
            f"({t['min']:.2f}–{t['max']:.2f}, target <= {fanout100k.MAX_RATIO:.0f}x), "
            f"daemon CPU {c['median']:.2f}x; daemon peak RSS "
            f"{fanout['max_peak_rss_mib']:.0f} MiB (target < {fanout100k.MAX_RSS_MB:.0f} MB)"
        )
    if "two_over_one" in scale_out:
        r = scale_out["two_over_one"]
        lines.append(f"scale-out: two workers {r['median']:.2f}x one ({r['min']:.2f}–{r['max']:.2f}), paired")
    return "\n".join(lines)
