"""The loop of a queue worker: run rounds while they find work, else sleep until woken or the idle poll."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod


class WorkLoop(ABC):
    """``run`` calls ``run_once`` (how many items it handled) until ``stop``; a round that fails is
    reported by ``round_failed`` and the loop goes on: a database that is away comes back."""

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

    @abstractmethod
    async def run_once(self) -> int:
        """One round: claim, send, record; returns how many items it handled."""

    @abstractmethod
    def round_failed(self) -> None:
        """Log the exception being handled (each worker with its own ``action``)."""

    async def run(self) -> None:
        """Work until stopped; sleep until woken, or the idle poll interval passed."""
        while not self._stopping:
            self._wake.clear()
            try:
                if await self.run_once():
                    continue
            except Exception:
                self.round_failed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
