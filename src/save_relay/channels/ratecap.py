"""A network's SMS rate cap: at most ``rate`` parts a second, spaced evenly (no bursts)."""

from __future__ import annotations

import asyncio
import time


class RateCap:
    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, parts: int = 1) -> None:
        """Return once ``parts`` more may go out."""
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval * parts
        if start > now:
            await asyncio.sleep(start - now)
