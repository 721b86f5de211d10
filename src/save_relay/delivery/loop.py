"""The loop of a queue worker: run rounds while they find work, else sleep until woken or the idle poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class WorkLoop:
    """``run`` calls ``run_once`` (how many items it handled) until ``stop``; an error is logged once
    per round (``error_action``) and the loop goes on: a database that is away comes back."""

    error_action = "worker_error"

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the round in hand (so that it is recorded, not sent again), then leave ``run``."""
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        raise NotImplementedError

    async def run(self) -> None:
        """Work until stopped; sleep until woken, or the idle poll interval passed."""
        while not self._stopping:
            self._wake.clear()
            try:
                if await self.run_once():
                    continue
            except Exception:
                log.exception("%s round failed", type(self).__name__, extra={"action": self.error_action})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
