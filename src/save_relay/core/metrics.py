"""The daemon's counters and histograms (Prometheus), in a registry of its own.

Each ``Metrics`` owns a ``CollectorRegistry``, not prometheus_client's global one: every daemon (and every
test that starts one in the same process) counts for itself. The stages increment these at the event,
after the commit that makes the event true (``store.aftercommit``), so a rolled-back batch counts
nothing. What the database knows at any moment (pending reports, the outbound backlog, the IMAP
mailboxes) is read at scrape time instead (``web.metrics``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

PREFIX = "save_relay"

#: From seconds to a week: a moderator answers in minutes, or after the weekend.
APPROVAL_BUCKETS = (30, 60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400)
#: One fsync on a disk, up to a PostgreSQL under load.
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def reply_class(line: str) -> str | None:
    """``2xx``, ``4xx`` or ``5xx`` for an SMTP reply line; None for anything else (``354``, ``220``)."""
    first = line[:1]
    return f"{first}xx" if first in ("2", "4", "5") else None


class Metrics:
    """The counters and histograms of one daemon; ``registry`` is what ``/metrics`` renders."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.reports_received = Counter(
            f"{PREFIX}_reports_received",
            "Reports stored (posts to a network's address), by network",
            ["network"],
            registry=registry,
        )
        self.reports_decided = Counter(
            f"{PREFIX}_reports_decided",
            "Reports decided, by outcome (approved, rejected, expired)",
            ["outcome"],
            registry=registry,
        )
        self.approval_latency = Histogram(
            f"{PREFIX}_approval_latency_seconds",
            "Time from a report's receipt to its approval",
            buckets=APPROVAL_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            f"{PREFIX}_deliveries",
            "Delivery attempts recorded, by status (sent, deferred, failed)",
            ["status"],
            registry=registry,
        )
        self.retries = Counter(
            f"{PREFIX}_delivery_retries",
            "Deliveries put back in the queue for another attempt (a 4xx or a lost connection)",
            registry=registry,
        )
        self.bounces = Counter(
            f"{PREFIX}_bounces",
            "Bounces matched to a delivery, by kind (permanent, temporary, none: an automatic reply)",
            ["kind"],
            registry=registry,
        )
        self.intake_replies = Counter(
            f"{PREFIX}_intake_replies",
            "SMTP/LMTP replies that accept a message (2xx to DATA) or refuse anything (4xx, 5xx)",
            ["protocol", "code_class"],
            registry=registry,
        )
        self.commit_latency = Histogram(
            f"{PREFIX}_intake_commit_seconds",
            "Duration of the intake's commit (one group of messages) before its 250s",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )

    def intake_reply(self, protocol: str, reply: str) -> None:
        """Count each line of a (multi-recipient LMTP) reply by its class."""
        for line in reply.split("\r\n"):
            code_class = reply_class(line)
            if code_class is not None:
                self.intake_replies.labels(protocol=protocol, code_class=code_class).inc()
