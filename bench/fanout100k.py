"""fanout-100k: one approved report to 100,000 recipients, against the same to 10,000 in the same run.

The sender is ``save-relay serve`` in a child process (SMTP intake, HTTP, scheduler, processor and
outbound worker, as deployed) on a copy of a prepared SQLite database (see ``bench.scale``), so that its
peak RSS is its own. Targets: the time grows linearly (100,000 takes at most 11x the 10,000 time of the
same round) and the daemon's peak RSS stays under 300 MB.
"""

from __future__ import annotations

from bench.intake import relay_settings
from bench.scale import DaemonRun, Templates, fan_out
from bench.sink import CountingSink

SMALL, LARGE = 10_000, 100_000
MAX_RATIO = 11.0
MAX_RSS_MB = 300.0


async def run_once(sink: CountingSink, templates: Templates, n: int) -> DaemonRun:
    async with templates.copy(n) as (url, workdir, prepared):
        settings = relay_settings(url, workdir, sink.port)
        return await fan_out(sink, settings, workdir, prepared, [{"node_name": "daemon"}])
