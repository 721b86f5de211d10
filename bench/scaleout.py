"""scale-out: worker-only daemons on one PostgreSQL database fan out 20,000 recipients, one vs two.

Each run gets a copy of a prepared database (see ``bench.scale``) and starts ``workers`` child
processes of ``save-relay serve`` with the SMTP intake, the HTTP listener and the scheduler switched
off, each with its own ``node_name``. They claim batches with ``FOR UPDATE SKIP LOCKED``; every
recipient must reach the sink exactly once, and how many each worker sent is kept.
"""

from __future__ import annotations

from typing import Any

from bench.intake import relay_settings
from bench.scale import DaemonRun, Templates, fan_out
from bench.sink import CountingSink

RECIPIENTS = 20_000
WORKERS = (1, 2)


def worker_only(i: int) -> dict[str, Any]:
    """Settings overrides for an outbound-only node (it still runs the processor, idle here)."""
    return {
        "node_name": f"worker-{i + 1}",
        "smtp": {"enabled": False},
        "http": {"enabled": False},
        "scheduler": {"enabled": False},
    }


async def run_once(sink: CountingSink, templates: Templates, workers: int, n: int = RECIPIENTS) -> DaemonRun:
    async with templates.copy(n) as (url, workdir, prepared):
        settings = relay_settings(url, workdir, sink.port)
        return await fan_out(sink, settings, workdir, prepared, [worker_only(i) for i in range(workers)])
