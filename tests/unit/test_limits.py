"""The SMTP listener's abuse limits (intake/limits.py): pure, with a fake clock."""

from __future__ import annotations

import pytest

from save_relay.intake.limits import (
    TOO_MANY_CONNECTIONS,
    TOO_MANY_FROM_PEER,
    TOO_MANY_FROM_SENDER,
    ConnectionCounter,
    IntakeLimits,
    SlidingWindow,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_allows_up_to_the_limit_then_slides() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60, clock)
    for _ in range(3):
        assert window.allows("a")
        window.record("a")
    assert not window.allows("a")
    assert window.allows("b")  # keys are independent
    clock.now += 59
    assert not window.allows("a")
    clock.now += 1.5  # the first events left the window
    assert window.allows("a")
    assert window.count("a") == 0


def test_sliding_window_forgets_idle_keys() -> None:
    clock = Clock()
    window = SlidingWindow(1, 10, clock)
    for n in range(100):
        window.record(f"k{n}")
    assert len(window) == 100
    clock.now += 11
    for n in range(100):
        assert window.allows(f"k{n}")
    assert len(window) == 0


def test_sliding_window_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        SlidingWindow(0, 60)
    with pytest.raises(ValueError):
        SlidingWindow(1, 0)
    with pytest.raises(ValueError):
        ConnectionCounter(0)


def test_connection_counter() -> None:
    counter = ConnectionCounter(2)
    assert counter.acquire("a") and counter.acquire("a")
    assert not counter.acquire("a")
    assert counter.open("a") == 2
    counter.release("a")
    assert counter.acquire("a")
    counter.release("a")
    counter.release("a")
    counter.release("a")
    counter.release("a")  # more releases than acquires never go negative
    assert counter.open("a") == 0


def test_intake_limits_connections_and_exemption() -> None:
    limits = IntakeLimits(max_connections_per_ip=1, max_messages_per_hour=1, exempt=["127.0.0.1"])
    assert limits.connect("192.0.2.1") is None
    assert limits.connect("192.0.2.1") is TOO_MANY_CONNECTIONS
    limits.disconnect("192.0.2.1")
    assert limits.connect("192.0.2.1") is None
    for _ in range(5):
        assert limits.connect("127.0.0.1") is None  # exempt


def test_intake_limits_messages_by_sender_and_by_peer() -> None:
    clock = Clock()
    limits = IntakeLimits(max_connections_per_ip=5, max_messages_per_hour=2, clock=clock)
    for _ in range(2):
        assert limits.may_send("192.0.2.1", "Flood@Example.org") is None
        limits.sent("192.0.2.1", "Flood@Example.org")
    # the same peer is now over its budget, whatever the sender
    assert limits.may_send("192.0.2.1", "other@example.org") is TOO_MANY_FROM_PEER
    # the same sender from another peer: over the sender's budget (case-insensitive, brackets ignored)
    assert limits.may_send("192.0.2.2", "<flood@example.org>") is TOO_MANY_FROM_SENDER
    assert limits.may_send("192.0.2.2", "someone@example.org") is None
    clock.now += 3601
    assert limits.may_send("192.0.2.1", "flood@example.org") is None


def test_null_sender_is_limited_by_peer_only() -> None:
    limits = IntakeLimits(max_connections_per_ip=5, max_messages_per_hour=1)
    limits.sent("192.0.2.1", "")
    assert limits.may_send("192.0.2.2", "<>") is None  # bounces from elsewhere are not lumped together
    assert limits.may_send("192.0.2.1", "<>") is TOO_MANY_FROM_PEER
