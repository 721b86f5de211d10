"""A network's SMS rate cap: at most ``rate`` parts a second, spaced evenly (no bursts)."""

from __future__ import annotations

import asyncio
import time


class Stopped(Exception):
    """The worker is stopping: this SMS was not started and goes back to the queue."""


class RateCap:
    """``stopping`` (set by the worker's stop): a wait for a message's first part raises :class:`Stopped`
    instead of returning, so that a stop gives back what has not started rather than sending it."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.stopping = False
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, parts: int = 1, *, first: bool = False) -> None:
        """Return once ``parts`` more may go out (``first``: the first of a message: may be stopped)."""
        async with self._lock:
            if first and self.stopping:
                raise Stopped
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval * parts
        if start > now:
            await asyncio.sleep(start - now)
            if first and self.stopping:  # stopped while it waited for its turn
                raise Stopped
