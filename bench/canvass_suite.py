"""The canvass rows of ``python -m bench``: rounds of canvass-sqlite (and -postgresql) and the baseline.

In each round every database runs once, then the baseline (a bare aiosmtpd with an fsync per
message) takes the same answers from the same number of senders. The summary holds medians of the
rounds with their min–max; the table is printed after the others.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import canvass, intake
from bench.canvass import AnswersRun, CanvassRun
from bench.sink import Sink

WARMUP = (200, 50)  # recipients, answers of the uncounted warm-up
BASELINE = "canvass-baseline"


async def run(runs: int, n: int, m: int) -> dict[str, Any]:
    """Warm-up, then ``runs`` rounds; returns the summary for the JSON document."""
    kinds = ["sqlite", "postgresql"] if intake.pg_url() else ["sqlite"]
    relays: dict[str, list[CanvassRun]] = {f"canvass-{kind}": [] for kind in kinds}
    base: list[AnswersRun] = []
    sink = Sink(prefix="user", capture=("user", canvass.OWNER))
    try:
        for kind in kinds:
            await canvass.run_once(sink, *WARMUP, kind)
        for i in range(runs):
            for kind in kinds:
                done = await canvass.run_once(sink, n, m, kind)
                relays[f"canvass-{kind}"].append(done)
                a = done.answered
                print(
                    f"  run {i + 1}/{runs} canvass-{kind:<10} {n} questions in {done.send_seconds:.1f} s; "
                    f"{m} answers {a.per_second:.0f}/s (p50 {a.quantile_ms(0.5):.0f} ms, p99 "
                    f"{a.quantile_ms(0.99):.0f} ms), all forwarded after {done.processed_seconds:.1f} s",
                    flush=True,
                )
            base.append(await canvass.baseline_once(relays["canvass-sqlite"][-1].mails))
            print(f"  run {i + 1}/{runs} {BASELINE:<18} {base[-1].per_second:.0f} answers/s", flush=True)
    finally:
        sink.stop()
    out: dict[str, Any] = {name: _relay(done, base) for name, done in relays.items()}
    out[BASELINE] = _answers(base)
    return out


def _spread(values: list[float], digits: int = 2) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def _answers(runs: list[AnswersRun]) -> dict[str, Any]:
    pooled = AnswersRun(0, 0.0, 1.0, [x for r in runs for x in r.latencies], 0.0)
    return {
        "answers": runs[0].answers,
        "senders": canvass.SENDERS,
        "mean_answer_bytes": round(statistics.mean(r.mean_bytes for r in runs), 1),
        "answers_per_second": _spread([r.per_second for r in runs], 1),
        "p50_ms": _spread([r.quantile_ms(0.5) for r in runs], 1),
        "p99_ms": _spread([r.quantile_ms(0.99) for r in runs], 1),
        "pooled_p99_ms": round(pooled.quantile_ms(0.99), 1),
        "max_ms": round(1000 * max(pooled.latencies), 1),
    }


def _relay(runs: list[CanvassRun], base: list[AnswersRun]) -> dict[str, Any]:
    return {
        "recipients": runs[0].recipients,
        "send_step_seconds": _spread([r.step_seconds for r in runs], 3),
        "send_seconds": _spread([r.send_seconds for r in runs]),
        "questions_per_second": _spread([r.questions_per_second for r in runs], 1),
        **_answers([r.answered for r in runs]),
        "processed_seconds": _spread([r.processed_seconds for r in runs]),
        "processed_per_second": _spread([r.answered.answers / r.processed_seconds for r in runs], 1),
        "paired_ratio_to_baseline": [
            round(r.answered.per_second / b.per_second, 3) for r, b in zip(runs, base, strict=True)
        ],
    }


def _cell(spread: dict[str, float] | None, digits: int = 1) -> str:
    if spread is None:
        return "-"
    return f"{spread['median']:.{digits}f} ({spread['min']:.{digits}f}–{spread['max']:.{digits}f})"


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"{'benchmark':<18} {'questions':>9} {'send s':>16} {'answers':>7} {'answers/s':>15} "
        f"{'p50 ms':>6} {'p99 ms':>7} {'all forwarded s':>18} {'ratio':>6}"
    ]
    for name, s in summary.items():
        ratios = s.get("paired_ratio_to_baseline")
        lines.append(
            f"{name:<18} {s.get('recipients', '-'):>9} {_cell(s.get('send_seconds')):>16} {s['answers']:>7} "
            f"{_cell(s['answers_per_second'], 0):>15} {s['p50_ms']['median']:>6.0f} "
            f"{s['p99_ms']['median']:>7.0f} {_cell(s.get('processed_seconds')):>18} "
            f"{f'{statistics.median(ratios):.2f}x' if ratios else '1.00x':>6}"
        )
    return "\n".join(lines)
