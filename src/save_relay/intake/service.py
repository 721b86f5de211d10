"""The one entry point of every intake (SMTP, LMTP, IMAP): check a recipient, store a message durably.

Nothing after the commit happens here: acknowledgements, notifications and commands run later from the
database (``save_relay.processing.processor``), so an answer of 250 means only and exactly "it is on disk".
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef
from save_relay.core.metrics import Metrics
from save_relay.core.routing import Purpose, Refusal, Route, resolve
from save_relay.core.settings import Settings
from save_relay.intake.group import GroupCommit, OutcomeUnknown
from save_relay.intake.outage import OutageLog
from save_relay.mail.message_ids import references_named
from save_relay.store.db import SessionFactory, WriteGate
from save_relay.store.inbound import Envelope, NewMessage, store_messages

log = logging.getLogger(__name__)

BURST = 4  # accepts within BURST_SECONDS make a burst, during which the processor shares (busy())
BURST_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Stored:
    """One recipient's copy, committed: ``reference`` is set for a report."""

    recipient: str
    inbound_id: int
    reference: str | None


@dataclass(frozen=True, slots=True)
class _Accept:
    """One ``accept`` call waiting for its group's commit."""

    raw: bytes
    mail_from: str
    routes: Sequence[Route]
    peer: str
    via: str


class Intake:
    """Recipient policy and durable storage, shared by all intake protocols.

    ``accept`` group-commits (``save_relay.intake.group``): the calls that arrive while a commit runs are
    stored together in the next transaction, and each returns only after that commit.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        networks: dict[str, NetworkRef],
        on_stored: Callable[[], None] = lambda: None,
        write_gate: WriteGate | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.sessions = sessions
        self.networks = networks
        self.on_stored = on_stored
        self.write_gate = write_gate or WriteGate(enabled=False)
        self.group: GroupCommit[_Accept, list[Stored]] = GroupCommit(
            self._commit, size=lambda a: len(a.raw) * len(a.routes)
        )
        self._recent: deque[float] = deque(maxlen=BURST)  # when the last accepts came
        self.outage = OutageLog()  # storage failures, logged once per outage and interval

    def busy(self) -> bool:
        """Senders are waiting for a commit, or a burst is on (the last ``BURST`` accepts all came
        within the last ``BURST_SECONDS``): the processor shares the time (``Processor._give_way``).

        No exception for a moderator's command: the processor always has its share, and takes
        commands first (``store.inbound.claim_new``).
        """
        if self.group.in_commit or self.group.waiting:
            return True
        return len(self._recent) == BURST and time.monotonic() - self._recent[0] < BURST_SECONDS

    def check_recipient(self, recipient: str) -> Route | Refusal:
        return resolve(self.settings, recipient)

    async def accept(
        self, raw: bytes, *, mail_from: str, routes: Sequence[Route], peer: str = "", via: str = "smtp"
    ) -> list[Stored]:
        """Store ``raw`` once per route; returns only after the commit, raises if it was not stored."""
        self._recent.append(time.monotonic())
        return await self.group.submit(_Accept(raw, mail_from, routes, peer, via))

    async def close(self) -> None:
        """Commit what is queued, then refuse (451) whatever still comes: the relay is stopping."""
        await self.group.close()

    async def _commit(self, calls: Sequence[_Accept]) -> list[list[Stored]]:
        """One transaction for ``calls``; a failure before COMMIT rolls it back (and is retried per call)."""
        async with self.write_gate(), self.sessions() as session:  # autobegins; closing rolls back
            stored = await self._store_many(session, calls)
            started = time.perf_counter()
            try:
                await session.commit()
            except Exception as exc:
                raise OutcomeUnknown("the commit failed") from exc
            self.metrics.commit_latency.observe(time.perf_counter() - started)
        for call, one in zip(calls, stored, strict=True):
            self._count(call.routes, one)
            _log_stored(one, mail_from=call.mail_from, via=call.via)
        self.on_stored()  # once for the whole group
        return stored

    def _count(self, routes: Sequence[Route], stored: Sequence[Stored]) -> None:
        for route, one in zip(routes, stored, strict=True):
            if one.reference is not None:
                self.metrics.reports_received.labels(network=route.network_key).inc()

    async def store(
        self,
        session: AsyncSession,
        raw: bytes,
        *,
        mail_from: str,
        routes: Sequence[Route],
        peer: str = "",
        via: str = "smtp",
    ) -> list[Stored]:
        """Add ``raw`` once per route to the caller's transaction (the IMAP intake commits its UID with it).

        The caller commits, then calls ``committed()``.
        """
        (stored,) = await self._store_many(session, [_Accept(raw, mail_from, routes, peer, via)])
        return stored

    async def _store_many(self, session: AsyncSession, calls: Sequence[_Accept]) -> list[list[Stored]]:
        messages = [self._new_message(call, route) for call in calls for route in call.routes]
        rows = iter(await store_messages(session, messages))
        return [[Stored(route.address, *next(rows)) for route in call.routes] for call in calls]

    def _new_message(self, call: _Accept, route: Route) -> NewMessage:
        network = self.networks[route.network_key]
        purpose = route.purpose
        conf = network.settings
        if purpose is Purpose.POST and references_named(call.raw, conf.domain, conf.reference_prefix):
            # A reply in the thread of one of our mails about a report: a follow-up, never a new report
            # (the processor finds the report; ``moderation/followup.py``).
            purpose = Purpose.FOLLOWUP
        return NewMessage(
            network_id=network.id,
            purpose=purpose.value,
            token=route.token,
            raw=call.raw,
            envelope=Envelope(mail_from=call.mail_from, rcpt_to=route.address, peer=call.peer, via=call.via),
            reference_prefix=conf.reference_prefix if purpose is Purpose.POST else None,
        )

    def committed(
        self, stored: Sequence[Stored], *, mail_from: str, via: str, routes: Sequence[Route]
    ) -> None:
        """After the commit: count and log it, and wake the processor."""
        self._count(routes, stored)
        _log_stored(stored, mail_from=mail_from, via=via)
        self.on_stored()


def _log_stored(stored: Sequence[Stored], *, mail_from: str, via: str) -> None:
    log.info(
        "stored %d message(s) from %s",
        len(stored),
        mail_from or "<>",
        extra={
            "action": "intake_stored",
            "via": via,
            "inbound_ids": [s.inbound_id for s in stored],
            "references": [s.reference for s in stored if s.reference],
            **({"reference": stored[0].reference} if len(stored) == 1 and stored[0].reference else {}),
        },
    )
