"""One log line per storage outage, not one traceback per refused message.

During a database outage or a full disk every DATA is answered 451; logging each with its traceback
buried the one line an admin needs (about 500 tracebacks in 16 s of PostgreSQL outage). The first
failure is logged with its cause, then one line per ``interval`` with the count refused since, and one
line when a message is stored again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

SUMMARY_SECONDS = 10.0


@dataclass(slots=True)
class OutageLog:
    """The state of the current storage outage, if any (``started`` is None when there is none)."""

    interval: float = SUMMARY_SECONDS
    started: float | None = None
    refused: int = 0  # since the outage began
    refused_since_line: int = 0
    last_line: float = 0.0

    def failed(self, exc: BaseException) -> None:
        """A message was refused with 451 because storing it failed."""
        now = time.monotonic()
        self.refused += 1
        self.refused_since_line += 1
        if self.started is None:
            self.started, self.last_line, self.refused_since_line = now, now, 0
            log.error(
                "storage failed; answering 451 until it works again: %s",
                exc,
                exc_info=exc,
                extra={"action": "intake_storage_failed"},
            )
        elif now - self.last_line >= self.interval:
            log.error(
                "storage still failing: %d message(s) refused in the last %.0f s (%s)",
                self.refused_since_line,
                now - self.last_line,
                exc,
                extra={"action": "intake_storage_failing", "refused": self.refused_since_line},
            )
            self.last_line, self.refused_since_line = now, 0

    def stored(self) -> None:
        """A message was stored: an outage, if there was one, is over."""
        if self.started is None:
            return
        log.warning(
            "storage works again after %.1f s; %d message(s) were refused with 451",
            time.monotonic() - self.started,
            self.refused,
            extra={"action": "intake_storage_recovered", "refused": self.refused},
        )
        self.started, self.refused, self.refused_since_line = None, 0, 0
