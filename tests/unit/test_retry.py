"""The retry policy as a value: ``delivery.retry.decide`` on its own, no server, no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from save_relay.delivery.retry import RetryDecision, SendResult, retry_decision

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
BASE = 60.0
CAP = 6 * 3600.0


class Jitter(random.Random):
    """A random source whose ``uniform`` returns a fixed point of the interval: 0 = low end, 1 = high."""

    def __init__(self, at: float) -> None:
        super().__init__(0)
        self.at = at

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.at


def deferred(attempts_before: int, rng: random.Random | None = None, **kwargs: float) -> RetryDecision:
    options: dict[str, float] = {"base_seconds": BASE, "max_seconds": CAP, "max_attempts": 12} | kwargs
    return retry_decision(
        SendResult(451, "4.2.0 try later"),
        attempts_before=attempts_before,
        now=NOW,
        base_seconds=options["base_seconds"],
        max_seconds=options["max_seconds"],
        max_attempts=int(options["max_attempts"]),
        rng=rng,
    )


def delay(decision: RetryDecision) -> float:
    assert decision.retry_at is not None, decision
    return (decision.retry_at - NOW).total_seconds()


def test_2xx_is_sent_without_error() -> None:
    for code in (250, 251):
        decision = retry_decision(
            SendResult(code, "ok"),
            attempts_before=11,
            now=NOW,
            base_seconds=BASE,
            max_seconds=CAP,
            max_attempts=12,
        )
        assert decision == RetryDecision(True, None, None)


@pytest.mark.parametrize("code", [500, 550, 552, 553, 554])
@pytest.mark.parametrize("attempts_before", [0, 5])
def test_5xx_fails_at_once_with_the_reason(code: int, attempts_before: int) -> None:
    decision = retry_decision(
        SendResult(code, "5.1.1 no such user"),
        attempts_before=attempts_before,
        now=NOW,
        base_seconds=BASE,
        max_seconds=CAP,
        max_attempts=12,
    )
    assert decision.sent is False
    assert decision.retry_at is None  # permanent: never retried
    assert decision.error == f"{code} 5.1.1 no such user"


@pytest.mark.parametrize("code", [421, 450, 451, 452])
def test_4xx_is_retried_with_the_reason(code: int) -> None:
    decision = retry_decision(
        SendResult(code, "try later"),
        attempts_before=0,
        now=NOW,
        base_seconds=BASE,
        max_seconds=CAP,
        max_attempts=12,
    )
    assert decision.sent is False
    assert decision.retry_at is not None and decision.retry_at > NOW
    assert decision.error == f"{code} try later"


def test_delay_doubles_per_attempt_without_jitter() -> None:
    middle = Jitter(0.5)  # uniform(0.75, 1.25) -> 1.0
    delays = [delay(deferred(n, middle)) for n in range(8)]
    assert delays == [BASE * 2**n for n in range(8)]


def test_delay_is_capped() -> None:
    middle = Jitter(0.5)
    assert delay(deferred(8, middle)) == BASE * 256  # 15360 s: still below the cap of 21600 s
    for attempts_before in (9, 10, 11, 30):  # 60 * 2**9 = 30720 s and more: capped
        assert delay(deferred(attempts_before, middle, max_attempts=100)) == CAP


def test_a_huge_attempt_count_still_gives_the_cap() -> None:
    # max_attempts has no upper bound in the settings; the exponent must not overflow a float.
    middle = Jitter(0.5)
    assert delay(deferred(5000, middle, max_attempts=10_000)) == CAP


def test_jitter_stays_within_25_percent_and_actually_varies() -> None:
    rng = random.Random(20261124)
    for attempts_before in range(10):
        nominal = min(BASE * 2**attempts_before, CAP)
        seen = [delay(deferred(attempts_before, rng)) for _ in range(200)]
        assert min(seen) >= 0.75 * nominal
        assert max(seen) <= 1.25 * nominal
        assert max(seen) - min(seen) > 0.25 * nominal  # spread, not a constant
    assert delay(deferred(3, Jitter(0.0))) == 0.75 * BASE * 8
    assert delay(deferred(3, Jitter(1.0))) == 1.25 * BASE * 8


def test_jitter_uses_the_module_random_when_no_rng_is_given() -> None:
    seen = {delay(deferred(2)) for _ in range(50)}
    assert all(0.75 * BASE * 4 <= d <= 1.25 * BASE * 4 for d in seen)
    assert len(seen) > 1


def test_max_attempts_counts_this_attempt() -> None:
    # max_attempts = 3: the 1st and 2nd deferred attempts are retried, the 3rd fails for good.
    assert deferred(0, max_attempts=3).retry_at is not None
    assert deferred(1, max_attempts=3).retry_at is not None
    last = deferred(2, max_attempts=3)
    assert last.sent is False and last.retry_at is None
    assert last.error == "451 4.2.0 try later"
    assert deferred(0, max_attempts=1).retry_at is None  # one attempt only: no retry at all


def test_a_long_answer_is_truncated() -> None:
    decision = retry_decision(
        SendResult(451, "x" * 5000),
        attempts_before=0,
        now=NOW,
        base_seconds=BASE,
        max_seconds=CAP,
        max_attempts=12,
    )
    assert decision.error is not None and len(decision.error) == 1000
    assert decision.error.startswith("451 xxx")


def test_retry_time_is_relative_to_now() -> None:
    later = NOW + timedelta(hours=5)
    decision = retry_decision(
        SendResult(421, "smarthost unreachable"),
        attempts_before=1,
        now=later,
        base_seconds=BASE,
        max_seconds=CAP,
        max_attempts=12,
        rng=Jitter(0.5),
    )
    assert decision.retry_at == later + timedelta(seconds=2 * BASE)
