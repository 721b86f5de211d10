"""``python -m bench [--runs 3] [--recipients 10000] [--only NAME]``: run, print a table, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import baseline, fanout
from bench.fanout import Run
from bench.sink import Sink

RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = "baseline"
WARMUP_RECIPIENTS = 1000
Bench = Callable[[Sink, int], Awaitable[Run]]
BENCHMARKS: dict[str, Bench] = {
    "fanout-10k": lambda sink, n: fanout.run_once(sink, n),
    BASELINE: lambda sink, n: baseline.run_once(sink, n),
}


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }


def summary(runs: list[Run]) -> dict[str, Any]:
    rates = [r.per_second for r in runs]
    return {
        "median_per_second": statistics.median(rates),
        "min_per_second": min(rates),
        "max_per_second": max(rates),
        "median_seconds": statistics.median(r.seconds for r in runs),
        "mean_message_bytes": statistics.mean(r.mean_message_bytes for r in runs),
        "median_bench_cpu_share": statistics.median(r.bench_cpu / r.seconds for r in runs),
        "median_sink_cpu_share": statistics.median(r.sink_cpu / r.seconds for r in runs),
        "runs": [
            {
                "recipients": r.recipients,
                "seconds": round(r.seconds, 4),
                "per_second": round(r.per_second, 1),
                "approve_seconds": round(r.approve_seconds, 4),
                "mean_message_bytes": round(r.mean_message_bytes, 1),
                "bench_cpu_seconds": round(r.bench_cpu, 3),
                "sink_cpu_seconds": round(r.sink_cpu, 3),
            }
            for r in runs
        ],
    }


async def run_all(names: list[str], runs: int, n: int) -> dict[str, list[Run]]:
    """After a small warm-up, each round runs every benchmark once, so that slow phases of the machine
    hit all of them."""
    sink = Sink(prefix="user")
    results: dict[str, list[Run]] = {name: [] for name in names}
    try:
        for name in names:  # warm-up, not counted: first-use costs (imports, compiled statements, caches)
            await BENCHMARKS[name](sink, min(n, WARMUP_RECIPIENTS))
        for i in range(runs):
            for name in names:
                run = await BENCHMARKS[name](sink, n)
                results[name].append(run)
                print(f"  run {i + 1}/{runs} {name:<12} {run.per_second:8.0f} recipients/s", flush=True)
    finally:
        sink.stop()
    return results


def paired_ratios(results: dict[str, list[Run]]) -> dict[str, list[float]]:
    """Each benchmark's rate over the baseline's in the same round (less sensitive to a busy machine)."""
    base = results[BASELINE]
    return {
        name: [round(r.per_second / b.per_second, 3) for r, b in zip(runs, base, strict=True)]
        for name, runs in results.items()
        if name != BASELINE
    }


def table(summaries: dict[str, dict[str, Any]], n: int) -> str:
    base = summaries.get(BASELINE)
    lines = [
        f"{'benchmark':<12} {'recipients':>10} {'median/s':>9} {'min–max/s':>13} {'median s':>9} "
        f"{'bytes':>6} {'ratio':>6} {'cpu bench/sink':>15}",
    ]
    for name, s in summaries.items():
        ratio = f"{s['median_per_second'] / base['median_per_second']:.2f}x" if base else "-"
        spread = f"{s['min_per_second']:.0f}–{s['max_per_second']:.0f}"
        cpu = f"{s['median_bench_cpu_share']:.0%}/{s['median_sink_cpu_share']:.0%}"
        lines.append(
            f"{name:<12} {n:>10} {s['median_per_second']:>9.0f} {spread:>13} {s['median_seconds']:>9.2f} "
            f"{s['mean_message_bytes']:>6.0f} {ratio:>6} {cpu:>15}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per benchmark (default 3)")
    parser.add_argument("--recipients", type=int, default=10_000, help="recipients per run (default 10000)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(BENCHMARKS)
    info = machine()
    print(
        f"{info['cpus']} CPUs, Python {info['python']}, SQLite {info['sqlite']}, "
        f"load average {info['loadavg_before'][0]}",
        flush=True,
    )
    results = asyncio.run(run_all(names, args.runs, args.recipients))
    summaries = {name: summary(runs) for name, runs in results.items()}
    info["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(table(summaries, args.recipients))
    print(f"peak RSS of the bench process: {peak_rss_mib:.0f} MiB (the sink runs in its own process)")
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": info,
        "parameters": {
            "runs": args.runs,
            "recipients": args.recipients,
            "connections": fanout.CONNECTIONS,
            "batch_size": fanout.BATCH_SIZE,
        },
        "peak_rss_mib": round(peak_rss_mib, 1),
        "benchmarks": summaries,
    }
    if BASELINE in summaries:
        base = summaries[BASELINE]["median_per_second"]
        document["ratios_to_baseline"] = {
            name: round(s["median_per_second"] / base, 3) for name, s in summaries.items()
        }
        document["paired_ratios"] = paired = paired_ratios(results)
        for name, ratios in paired.items():
            print(
                f"{name} / {BASELINE}, round by round: median {statistics.median(ratios):.2f}x "
                f"({min(ratios):.2f}–{max(ratios):.2f})"
            )
    RESULTS.mkdir(exist_ok=True)
    suffix = f"-{args.only}" if args.only else ""  # a partial run does not replace the day's full results
    out = RESULTS / f"{date.today().isoformat()}{suffix}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
