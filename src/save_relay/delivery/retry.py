"""Retry policy as a value: what to do after one delivery attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SendResult:
    """The smarthost's (or outbox's) answer to one message."""

    code: int
    message: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """``retry_at`` None and not sent: the delivery has failed for good."""

    sent: bool
    retry_at: datetime | None
    error: str | None


def retry_decision(
    result: SendResult,
    *,
    attempts_before: int,
    now: datetime,
    base_seconds: float,
    max_seconds: float,
    max_attempts: int,
    rng: random.Random | None = None,
) -> RetryDecision:
    """2xx: sent. 5xx: failed. Anything else: retry after base * 2**attempts (capped), with ±25 % jitter."""
    if result.ok:
        return RetryDecision(True, None, None)
    error = f"{result.code} {result.message}"[:1000]
    attempt = attempts_before + 1
    if result.permanent or attempt >= max_attempts:
        return RetryDecision(False, None, error)
    # The exponent is clamped: 2**1030 no longer fits a float (max_attempts has no upper bound).
    delay = min(base_seconds * 2.0 ** min(attempts_before, 1000), max_seconds)
    jitter = (rng or random).uniform(0.75, 1.25)
    return RetryDecision(False, now + timedelta(seconds=delay * jitter), error)
