"""Abuse limits of the SMTP listener: connections per peer address, messages per sender and peer per hour.

Pure and in memory: the counts are **per process**. Several relay processes (or nodes) each allow the
configured numbers, so a sender spreading its connections over N nodes gets N times the budget; the
MTA in front (Postfix's anvil) or a firewall is the place for a global limit. A restart forgets the
counts, which errs on the side of accepting mail.

Peers in ``exempt`` (by default loopback: a local MTA in front, tests, benchmarks) are never limited.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Clock = Callable[[], float]

HOUR = 3600.0


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key (exact: one timestamp per event)."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = self.clock() - self.window
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]  # forget idle keys: memory stays bounded by the active senders
            return None
        return events

    def count(self, key: str) -> int:
        """Events of ``key`` within the window."""
        events = self._recent(key)
        return len(events) if events else 0

    def allows(self, key: str) -> bool:
        """Whether one more event of ``key`` stays within the limit (records nothing)."""
        return self.count(key) < self.limit

    def record(self, key: str) -> None:
        self._recent(key)
        self._events.setdefault(key, deque()).append(self.clock())

    def __len__(self) -> int:
        """Keys currently tracked (for tests and metrics)."""
        return len(self._events)


class ConnectionCounter:
    """Open connections per key, at most ``limit`` at a time."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        """Count a new connection of ``key``; False (and nothing counted) when it would exceed the limit."""
        current = self._open.get(key, 0)
        if current >= self.limit:
            return False
        self._open[key] = current + 1
        return True

    def release(self, key: str) -> None:
        current = self._open.get(key, 0)
        if current <= 1:
            self._open.pop(key, None)
        else:
            self._open[key] = current - 1

    def open(self, key: str) -> int:
        return self._open.get(key, 0)


@dataclass(frozen=True, slots=True)
class LimitRefusal:
    """Why a limit refused: the SMTP reply."""

    reply: str


TOO_MANY_CONNECTIONS = LimitRefusal("421 4.7.0 Too many connections from your address; try again later")
TOO_MANY_FROM_SENDER = LimitRefusal(
    "450 4.7.1 Too many messages from this sender in the last hour; try again later"
)
TOO_MANY_FROM_PEER = LimitRefusal(
    "450 4.7.1 Too many messages from your address in the last hour; try again later"
)


class IntakeLimits:
    """The SMTP listener's limits; one instance per listener (and so per process)."""

    def __init__(
        self,
        *,
        max_connections_per_ip: int,
        max_messages_per_hour: int,
        exempt: Iterable[str] = (),
        clock: Clock = time.monotonic,
    ) -> None:
        self.connections = ConnectionCounter(max_connections_per_ip)
        self.by_sender = SlidingWindow(max_messages_per_hour, HOUR, clock)
        self.by_peer = SlidingWindow(max_messages_per_hour, HOUR, clock)
        self.exempt = frozenset(exempt)

    def connect(self, peer: str) -> LimitRefusal | None:
        """A new connection from ``peer``: None if allowed (then ``disconnect`` must follow)."""
        if peer in self.exempt:
            return None
        return None if self.connections.acquire(peer) else TOO_MANY_CONNECTIONS

    def disconnect(self, peer: str) -> None:
        if peer not in self.exempt:
            self.connections.release(peer)

    def may_send(self, peer: str, mail_from: str) -> LimitRefusal | None:
        """At MAIL FROM: None if one more message from ``mail_from`` via ``peer`` is allowed."""
        if peer in self.exempt:
            return None
        if not self.by_peer.allows(peer):
            return TOO_MANY_FROM_PEER
        sender = _sender_key(mail_from)
        if sender and not self.by_sender.allows(sender):
            return TOO_MANY_FROM_SENDER
        return None

    def sent(self, peer: str, mail_from: str) -> None:
        """After a message was accepted (250): count it."""
        if peer in self.exempt:
            return
        self.by_peer.record(peer)
        sender = _sender_key(mail_from)
        if sender:
            self.by_sender.record(sender)


def _sender_key(mail_from: str) -> str:
    """The envelope sender, lower-cased; "" for the null sender (bounces: limited by peer only)."""
    return mail_from.strip().strip("<>").strip().lower()
