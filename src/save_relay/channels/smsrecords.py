"""What the SMS worker writes, in group commits: outcomes (with the parts' message ids) and receipts.

Each send waits until its outcome is committed (a kill then resends only what was in flight), but
the outcomes and receipts that arrive while one transaction commits go together in the next: at a
gateway's pace of hundreds a second, one fsync'd commit per SMS and per receipt would hold the queue
back. A receipt for a part whose submit is not recorded yet is kept until that submit is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from save_relay.store import deliveries
from save_relay.store import sms as sms_store
from save_relay.store.db import SessionFactory, WriteGate
from save_relay.store.deliveries import Outcome


@dataclass(frozen=True, slots=True)
class Taken:
    """One send's outcome and the parts the gateway took (``first``: the first one's number)."""

    network_id: int
    outcome: Outcome
    message_ids: tuple[str, ...]
    first: int = 1
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    network_id: int
    message_id: str
    state: str
    error: str | None = None


class Recorder:
    def __init__(self, sessions: SessionFactory, write_gate: WriteGate) -> None:
        self.sessions = sessions
        self.write_gate = write_gate
        self._pending: list[tuple[Taken | Receipt, asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()
        self._early: dict[tuple[int, str], Receipt] = {}

    async def record(self, entry: Taken | Receipt) -> None:
        """Return once ``entry`` is committed (with whatever else was waiting)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        async with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await self._write([e for e, _ in batch])
                except BaseException as exc:
                    for _, waiting in batch:
                        if not waiting.done():
                            waiting.set_exception(exc)
                    raise
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_result(None)
        await future

    async def _write(self, entries: list[Taken | Receipt]) -> None:
        taken = [e for e in entries if isinstance(e, Taken)]
        receipts = [e for e in entries if isinstance(e, Receipt)]
        async with self.write_gate(), self.sessions() as session, session.begin():
            for t in taken:
                sms_store.record_parts(
                    session, t.network_id, t.outcome.id, t.message_ids, first=t.first, state=t.state
                )
            await deliveries.record_outcomes(session, [t.outcome for t in taken])
            await session.flush()
            for t in taken:  # receipts that came before their submit was recorded
                receipts += [r for m in t.message_ids if (r := self._early.pop((t.network_id, m), None))]
            unmatched = []
            for r in receipts:
                if not await sms_store.record_receipt(session, r.network_id, r.message_id, r.state, r.error):
                    unmatched.append(r)
        for r in unmatched:
            self._early[(r.network_id, r.message_id)] = r
