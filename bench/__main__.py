"""``python -m bench [--runs 3] [--recipients 10000] [--only NAME]``: run, print a table, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import (
    approval,
    baseline,
    canvass_suite,
    fanout,
    fanout100k,
    fanoutkill,
    intake,
    radius,
    scale_suite,
    scaleout,
)
from bench.approval import ApprovalRun
from bench.fanout import Run
from bench.intake import IntakeRun
from bench.postfix_sink import throughput_sink
from bench.sink import CountingSink, Sink

RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = "baseline"
WARMUP_RECIPIENTS = 1000
WARMUP_REPORTS = 100
APPROVALS = 20
APPROVAL = "approval-latency"  # SQLite and (when configured) PostgreSQL
SELECTION = "radius-1m"  # and the zone recompute on the same 1,000,000 subscribers
INTAKE = "intake"  # --only intake: its baseline, SQLite and (when configured) PostgreSQL
FANOUT = "fanout"  # --only fanout: fanout-10k and its baseline in paired rounds, nothing else
FANOUT_100K = "fanout-100k"  # and the 10,000 it is compared with, both by a daemon in a child process
FANOUT_KILL = "fanout-kill"  # SIGKILL mid fan-out and restart: duplicates per kill
SCALE_OUT = "scale-out"  # one vs two worker processes on PostgreSQL (skipped without it)
CANVASS = "canvass"  # SQLite, (when configured) PostgreSQL and a bare aiosmtpd+fsync baseline
Bench = Callable[[CountingSink, int], Awaitable[Run]]
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


async def run_all(sink: CountingSink, names: list[str], runs: int, n: int) -> dict[str, list[Run]]:
    """After a small warm-up, each round runs every benchmark once, so that slow phases of the machine
    hit all of them."""
    results: dict[str, list[Run]] = {name: [] for name in names}
    for name in names:  # warm-up, not counted: first-use costs (imports, compiled statements, caches)
        await BENCHMARKS[name](sink, min(n, WARMUP_RECIPIENTS))
    for i in range(runs):
        for name in names:
            run = await BENCHMARKS[name](sink, n)
            results[name].append(run)
            print(f"  run {i + 1}/{runs} {name:<12} {run.per_second:8.0f} recipients/s", flush=True)
    return results


Reports = list[tuple[str, bytes]]


def intake_benchmarks(drain: bool) -> dict[str, Callable[[CountingSink, Reports], Awaitable[IntakeRun]]]:
    out: dict[str, Callable[[CountingSink, Reports], Awaitable[IntakeRun]]] = {
        "intake-baseline": lambda _sink, mails: intake.baseline_once(mails),
        "intake-sqlite": lambda sink, mails: intake.run_once(sink, mails, "sqlite", drain=drain),
    }
    if intake.pg_url():
        out["intake-postgresql"] = lambda sink, mails: intake.run_once(sink, mails, "postgresql", drain=drain)
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f} ms"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


async def run_intake(sink: CountingSink, runs: int, n: int, drain: bool) -> dict[str, list[IntakeRun]]:
    benches = intake_benchmarks(drain)
    results: dict[str, list[IntakeRun]] = {name: [] for name in benches}
    mails = intake.reports(n)  # the same reports for every run (they take as long to make as to send)
    for bench in benches.values():  # warm-up, not counted
        await bench(sink, mails[:WARMUP_REPORTS])
    for i in range(runs):
        for name, bench in benches.items():
            run = await bench(sink, mails)
            results[name].append(run)
            print(
                f"  run {i + 1}/{runs} {name:<17} {run.per_second:6.0f} msg/s, time to 250 "
                f"p50 {run.quantile_ms(0.5):.0f} ms p99 {run.quantile_ms(0.99):.0f} ms, "
                f"drained {_seconds(run.drain_seconds)} later; backlog {run.backlog}, "
                f"known sender's report announced in {_ms(run.known_seconds)}",
                flush=True,
            )
    return results


async def run_approval(runs: int) -> dict[str, list[ApprovalRun]]:
    """Its own sink, which also keeps the Reply-To of the moderators' notifications."""
    kinds = ["sqlite", "postgresql"] if intake.pg_url() else ["sqlite"]
    results: dict[str, list[ApprovalRun]] = {f"approval-{kind}": [] for kind in kinds}
    sink = Sink(prefix="user", capture="inspecteur.")
    try:
        for kind in kinds:  # warm-up, not counted
            await approval.run_once(sink, 2, kind)
        for i in range(runs):
            for kind in kinds:
                run = await approval.run_once(sink, APPROVALS, kind)
                results[f"approval-{kind}"].append(run)
                print(
                    f"  run {i + 1}/{runs} approval-{kind:<10} reply 250 -> first at sink: "
                    f"p50 {run.quantile_ms(0.5):.0f} ms p99 {run.quantile_ms(0.99):.0f} ms, "
                    f"all {approval.SUBSCRIBERS}: p50 {run.quantile_ms(0.5, run.complete):.0f} ms",
                    flush=True,
                )
    finally:
        sink.stop()
    return results


async def run_selection(runs: int) -> dict[str, Any]:
    """SQLite, and PostgreSQL when configured: one database of 1,000,000 subscribers each, built once."""
    out: dict[str, Any] = {}
    for kind, url in [("sqlite", None), *([("postgresql", intake.pg_url())] if intake.pg_url() else [])]:
        selection = radius.Selection(url)
        try:
            await selection.setup()
            print(
                f"  radius-1m-{kind}: {radius.SUBSCRIBERS:,} subscribers in {selection.setup_seconds:.1f} s"
            )
            done: list[radius.SelectionRun] = []
            for i in range(runs):
                run = await selection.run_once(seed=i + 1)
                done.append(run)
                print(
                    f"  run {i + 1}/{runs} radius-1m-{kind} median {radius.median(run.radius_ms):.0f} ms "
                    f"max {max(run.radius_ms):.0f} ms ({radius.median(run.found):.0f} found), naive loop "
                    f"{radius.median(run.naive_ms):.0f} ms; zones-1m recompute {run.recompute_s:.1f} s "
                    f"(memberships {run.memberships_s:.1f} s, {run.member_rows:,} rows)",
                    flush=True,
                )
        finally:
            await selection.close()
        out[f"radius-1m-{kind}"] = selection_summary(selection, done)
    return out


def selection_summary(selection: radius.Selection, done: list[radius.SelectionRun]) -> dict[str, Any]:
    medians = [radius.median(r.radius_ms) for r in done]
    naive = [radius.median(r.naive_ms) for r in done]
    return {
        "subscribers": radius.SUBSCRIBERS,
        "zones": radius.ZONES,
        "radius_m": radius.RADIUS_M,
        "queries_per_run": radius.QUERIES,
        "setup_seconds": round(selection.setup_seconds, 1),
        "median_radius_ms": statistics.median(medians),
        "min_radius_ms": min(medians),
        "max_radius_ms": max(medians),
        "p95_radius_ms_pooled": radius.quantile([x for r in done for x in r.radius_ms], 0.95),
        "max_radius_ms_pooled": max(x for r in done for x in r.radius_ms),
        "median_found": statistics.median(x for r in done for x in r.found),
        "median_naive_ms": statistics.median(naive),
        "paired_speedup": [round(n / m, 2) for n, m in zip(naive, medians, strict=True)],
        "median_recompute_s": statistics.median(r.recompute_s for r in done),
        "min_recompute_s": min(r.recompute_s for r in done),
        "max_recompute_s": max(r.recompute_s for r in done),
        "median_memberships_s": statistics.median(r.memberships_s for r in done),
        "member_rows": done[-1].member_rows,
        "runs": [
            {
                "radius_ms": [round(x, 1) for x in r.radius_ms],
                "naive_ms": [round(x, 1) for x in r.naive_ms],
                "recompute_s": round(r.recompute_s, 2),
                "memberships_s": round(r.memberships_s, 2),
            }
            for r in done
        ],
    }


def approval_summary(results: dict[str, list[ApprovalRun]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, runs in results.items():
        pooled = ApprovalRun([x for r in runs for x in r.latencies], [x for r in runs for x in r.complete])
        out[name] = {
            "approvals": len(pooled.latencies),
            "subscribers": approval.SUBSCRIBERS,
            "median_p50_ms": statistics.median(r.quantile_ms(0.5) for r in runs),
            "min_p50_ms": min(r.quantile_ms(0.5) for r in runs),
            "max_p50_ms": max(r.quantile_ms(0.5) for r in runs),
            "median_p99_ms": statistics.median(r.quantile_ms(0.99) for r in runs),
            "pooled_p50_ms": pooled.quantile_ms(0.5),
            "pooled_p99_ms": pooled.quantile_ms(0.99),
            "pooled_max_ms": 1000 * max(pooled.latencies),
            "pooled_p50_all_subscribers_ms": pooled.quantile_ms(0.5, pooled.complete),
            "runs": [[round(1000 * x, 1) for x in r.latencies] for r in runs],
        }
    return out


def approval_table(summaries: dict[str, Any]) -> str:
    lines = [f"{'benchmark':<20} {'n':>3} {'p50 ms':>7} {'p50 min–max':>12} {'p99 ms':>7} {'max ms':>7}"]
    for name, s in summaries.items():
        lines.append(
            f"{name:<20} {s['approvals']:>3} {s['median_p50_ms']:>7.0f} "
            f"{s['min_p50_ms']:>5.0f}–{s['max_p50_ms']:<6.0f} "
            f"{s['pooled_p99_ms']:>7.0f} {s['pooled_max_ms']:>7.0f}"
        )
    return "\n".join(lines)


def intake_summary(results: dict[str, list[IntakeRun]]) -> dict[str, Any]:
    base = results["intake-baseline"]
    out: dict[str, Any] = {}
    for name, runs in results.items():
        rates = [r.per_second for r in runs]
        pooled = IntakeRun(0, 1.0, [x for r in runs for x in r.latencies])
        out[name] = {
            "median_per_second": statistics.median(rates),
            "min_per_second": min(rates),
            "max_per_second": max(rates),
            "median_p50_ms": statistics.median(r.quantile_ms(0.5) for r in runs),
            "median_p99_ms": statistics.median(r.quantile_ms(0.99) for r in runs),
            "pooled_p99_ms": pooled.quantile_ms(0.99),
            "median_drain_seconds": _median_or_none([r.drain_seconds for r in runs]),
            "median_backlog": _median_or_none(
                [None if r.backlog is None else float(r.backlog) for r in runs]
            ),
            "median_known_ms": _median_or_none(
                [None if r.known_seconds is None else 1000 * r.known_seconds for r in runs]
            ),
            "mean_message_bytes": statistics.mean(r.mean_message_bytes for r in runs),
            "paired_ratios": [round(r.per_second / b.per_second, 3) for r, b in zip(runs, base, strict=True)],
            "runs": [
                {
                    "messages": r.messages,
                    "seconds": round(r.seconds, 3),
                    "per_second": round(r.per_second, 1),
                    "p50_ms": round(r.quantile_ms(0.5), 1),
                    "p99_ms": round(r.quantile_ms(0.99), 1),
                    "max_ms": round(1000 * max(r.latencies), 1),
                    "drain_seconds": None if r.drain_seconds is None else round(r.drain_seconds, 2),
                    "backlog": r.backlog,
                    "known_ms": None if r.known_seconds is None else round(1000 * r.known_seconds, 1),
                }
                for r in runs
            ],
        }
    return out


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def intake_table(summaries: dict[str, Any], n: int) -> str:
    lines = [
        f"{'benchmark':<17} {'reports':>7} {'median/s':>9} {'min–max/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'ratio':>6} {'paired':>17} {'backlog':>7} {'known ms':>8}"
    ]
    base = summaries["intake-baseline"]["median_per_second"]
    for name, s in summaries.items():
        paired = s["paired_ratios"]
        lines.append(
            f"{name:<17} {n:>7} {s['median_per_second']:>9.0f} "
            f"{s['min_per_second']:>5.0f}–{s['max_per_second']:<5.0f} {s['median_p50_ms']:>7.0f} "
            f"{s['median_p99_ms']:>7.0f} {s['median_per_second'] / base:>5.2f}x "
            f"{min(paired):>7.2f}–{max(paired):.2f}x {_figure(s['median_backlog']):>7} "
            f"{_figure(s['median_known_ms']):>8}"
        )
    return "\n".join(lines)


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


def print_selection(selection: dict[str, Any]) -> None:
    for name, sel in selection.items():
        print(
            f"{name}: median {sel['median_radius_ms']:.0f} ms "
            f"({sel['min_radius_ms']:.0f}–{sel['max_radius_ms']:.0f}), slowest query "
            f"{sel['max_radius_ms_pooled']:.0f} ms, naive loop {sel['median_naive_ms']:.0f} ms; "
            f"zones-1m recompute {sel['median_recompute_s']:.1f} s "
            f"({sel['min_recompute_s']:.1f}–{sel['max_recompute_s']:.1f})"
        )


phases: dict[str, float] = {}  # wall-clock seconds of each part of the run, for the 10-minute budget


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    """Adds the wall-clock time of the block to ``phases[name]`` (parts that did not run stay out)."""
    started = time.monotonic()
    try:
        yield
    finally:
        seconds = time.monotonic() - started
        if seconds >= 0.05:
            phases[name] = round(phases.get(name, 0.0) + seconds, 1)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per benchmark (default 3)")
    parser.add_argument("--recipients", type=int, default=10_000, help="recipients per run (default 10000)")
    parser.add_argument("--reports", type=int, default=5_000, help="reports per intake run (default 5000)")
    parser.add_argument(
        "--intake-drain",
        action="store_true",
        help="after each intake run, also wait until every acknowledgement and notification is at the sink",
    )
    parser.add_argument(
        "--only",
        choices=sorted(
            [*BENCHMARKS, FANOUT, INTAKE, APPROVAL, SELECTION, FANOUT_100K, FANOUT_KILL, SCALE_OUT, CANVASS]
        ),
        help="run one benchmark",
    )
    parser.add_argument(
        "--scale-recipients",
        type=int,
        default=fanout100k.LARGE,
        help=f"fanout-100k's large size (default {fanout100k.LARGE}; compared with a tenth of it)",
    )
    parser.add_argument(
        "--scale-out-recipients",
        type=int,
        default=scaleout.RECIPIENTS,
        help=f"recipients per scale-out run (default {scaleout.RECIPIENTS})",
    )
    parser.add_argument(
        "--kill-recipients",
        type=int,
        default=fanoutkill.RECIPIENTS,
        help=f"fanout-kill's recipients per run (default {fanoutkill.RECIPIENTS})",
    )
    parser.add_argument("--canvass-recipients", type=int, default=5_000, help="canvass recipients (5000)")
    parser.add_argument("--canvass-answers", type=int, default=2_000, help="canvass answers (2000)")
    return parser.parse_args(argv)


def scale_sizes(args: argparse.Namespace) -> tuple[int, int]:
    return (args.scale_recipients // 10, args.scale_recipients)


async def run_daemons(sink: CountingSink, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The rows whose daemons run in child processes: fanout-100k, fanout-kill, scale-out."""
    out: dict[str, dict[str, Any]] = {}
    if args.only in (None, FANOUT_100K):
        with timed(FANOUT_100K):
            out[FANOUT_100K] = await scale_suite.run_fanout_100k(sink, args.runs, scale_sizes(args))
    if args.only in (None, FANOUT_KILL):
        with timed(FANOUT_KILL):
            out[FANOUT_KILL] = await fanoutkill.run(sink, args.runs, args.kill_recipients)
    if args.only in (None, SCALE_OUT):
        with timed(SCALE_OUT):
            out[SCALE_OUT] = await scale_suite.run_scale_out(sink, args.runs, args.scale_out_recipients)
    return out


def fanout_names(only: str | None) -> list[str]:
    """The in-process fan-out benchmarks that ``--only`` selects (both for none or ``fanout``)."""
    if only in (None, FANOUT):
        return list(BENCHMARKS)
    return [only] if only in BENCHMARKS else []


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    names = fanout_names(args.only)
    with_intake = args.only in (None, INTAKE)
    with_approval = args.only in (None, APPROVAL)
    with_selection = args.only in (None, SELECTION)
    with_canvass = args.only in (None, CANVASS)
    info = machine()
    print(
        f"{info['cpus']} CPUs, Python {info['python']}, SQLite {info['sqlite']}, "
        f"load average {info['loadavg_before'][0]}",
        flush=True,
    )

    async def everything() -> tuple[
        dict[str, list[Run]], dict[str, list[IntakeRun]], dict[str, list[ApprovalRun]], dict[str, Any]
    ]:
        sink = throughput_sink(prefix="user")  # smtp-sink where installed
        sinks["throughput"] = sink.name
        try:
            with timed(FANOUT):
                fanouts = await run_all(sink, names, args.runs, args.recipients) if names else {}
            with timed(INTAKE):
                intakes = (
                    await run_intake(sink, args.runs, args.reports, args.intake_drain) if with_intake else {}
                )
            scale.update(await run_daemons(sink, args))
        finally:
            sink.stop()
        with timed(APPROVAL):
            approvals = await run_approval(args.runs) if with_approval else {}
        if with_canvass:
            n, m = args.canvass_recipients, args.canvass_answers
            with timed(CANVASS):
                canvass.update(await canvass_suite.run(args.runs, n, m))
        rss_before_selection.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        with timed(SELECTION):
            selection = await run_selection(args.runs) if with_selection else {}
        return fanouts, intakes, approvals, selection

    canvass: dict[str, Any] = {}
    rss_before_selection: list[float] = []  # the 1,000,000 points in memory dwarf everything else
    scale: dict[str, dict[str, Any]] = {}  # fanout-100k and scale-out summaries
    sinks: dict[str, str] = {}  # the throughput benchmarks' sink, for the results
    started = time.monotonic()
    results, intake_results, approval_results, selection = asyncio.run(everything())
    phases["total"] = round(time.monotonic() - started, 1)
    summaries = {name: summary(runs) for name, runs in results.items()}
    intakes = intake_summary(intake_results) if intake_results else {}
    approvals = approval_summary(approval_results) if approval_results else {}
    info["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if summaries:
        print(table(summaries, args.recipients))
    if intakes:
        print(intake_table(intakes, args.reports))
    if approvals:
        print(approval_table(approvals))
    if scale:
        print(scale_suite.tables(scale.get(FANOUT_100K, {}), scale.get(SCALE_OUT, {})))
        print(fanoutkill.table(scale.get(FANOUT_KILL, {})))
    if canvass:
        print(canvass_suite.table(canvass))
    print_selection(selection)
    print("wall clock: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()))
    print(
        f"peak RSS of the bench process: {rss_before_selection[0]:.0f} MiB before radius-1m, "
        f"{peak_rss_mib:.0f} MiB at the end (the sink runs in its own process)"
    )
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": info,
        "parameters": {
            "runs": args.runs,
            "sink": sinks["throughput"],
            "recipients": args.recipients,
            "connections": fanout.CONNECTIONS,
            "batch_size": fanout.BATCH_SIZE,
            "reports": args.reports,
            "intake_senders": intake.SENDERS,
            "report_bytes": intake.REPORT_BYTES,
            "approvals": APPROVALS,
            "fanout_100k_sizes": list(scale_sizes(args)),
            "scale_out_recipients": args.scale_out_recipients,
            "fanout_kill_recipients": args.kill_recipients,
            "scale_out_workers": list(scaleout.WORKERS),
        },
        "wall_clock_seconds": phases,
        "peak_rss_mib": round(peak_rss_mib, 1),
        "peak_rss_mib_before_selection": round(rss_before_selection[0], 1),
        "benchmarks": summaries,
        "intake": intakes,
        "approval_latency": approvals,
        "selection": selection,
        "fanout_100k": scale.get(FANOUT_100K, {}),
        "scale_out": scale.get(SCALE_OUT, {}),
        "fanout_kill": scale.get(FANOUT_KILL, {}),
        "canvass": canvass,
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
