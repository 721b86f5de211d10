"""What the database knows, as Prometheus gauges read at scrape time.

Every node sharing the database reports the same values here: the moderation queue, the outbound
backlog and the IMAP mailboxes belong to all of them (a node's own counters are in ``core.metrics``).
``read_snapshot`` runs the few aggregate queries of ``store.health`` and ``store.imap``;
``DatabaseCollector`` turns one snapshot into metric families (prometheus_client collects synchronously,
so the queries run before, in the endpoint's event loop).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.metrics import PREFIX
from save_relay.core.settings import Settings
from save_relay.store.health import Backlog, QueueSummary, backlog, queue_summary, report_counts
from save_relay.store.imap import MailboxRow, all_mailboxes


@dataclass(frozen=True, slots=True)
class Snapshot:
    now: datetime
    reports: dict[str, int]
    queue: QueueSummary
    backlog: Backlog
    mailboxes: list[MailboxRow]


async def read_snapshot(session: AsyncSession, settings: Settings, now: datetime) -> Snapshot:
    window = timedelta(seconds=settings.status.stuck_after_seconds)
    return Snapshot(
        now=now,
        reports=await report_counts(session),
        queue=await queue_summary(session),
        backlog=await backlog(session, now, window),
        mailboxes=await all_mailboxes(session),
    )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


class DatabaseCollector(Collector):
    """The gauges of one ``Snapshot``."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        reports = GaugeMetricFamily(
            f"{PREFIX}_reports", "Reports in the database, by status", labels=["status"]
        )
        for status, count in sorted(snap.reports.items()):
            reports.add_metric([status], count)
        yield reports
        yield _gauge("reports_pending", "Reports waiting for a moderator", snap.queue.pending)
        oldest = snap.queue.oldest_pending_at
        age = (snap.now - oldest).total_seconds() if oldest else 0.0
        yield _gauge("reports_pending_oldest_age_seconds", "Age of the oldest pending report (0: none)", age)
        yield _gauge("outbound_backlog", "Deliveries neither sent nor failed", snap.backlog.waiting)
        yield _gauge("outbound_due", "Deliveries due now (their next attempt has come)", snap.backlog.due)
        due = snap.backlog.oldest_due_at
        yield _gauge(
            "outbound_oldest_due_timestamp_seconds",
            "When the longest-due delivery became due (Unix time; 0: nothing due)",
            due.timestamp() if due else 0.0,
        )
        yield from self._mailboxes(snap.mailboxes)

    @staticmethod
    def _mailboxes(rows: list[MailboxRow]) -> Iterator[Metric]:
        labels = ["network", "folder"]
        state = GaugeMetricFamily(
            f"{PREFIX}_imap_mailbox_state",
            "Each IMAP poller's state as it last wrote it (1 for the current state)",
            labels=[*labels, "state"],
        )
        last_ok = GaugeMetricFamily(
            f"{PREFIX}_imap_mailbox_last_ok_timestamp_seconds",
            "The last time the poller was connected and well (Unix time; 0: never)",
            labels=labels,
        )
        messages = GaugeMetricFamily(
            f"{PREFIX}_imap_mailbox_messages", "Messages taken from the mailbox so far", labels=labels
        )
        for row in rows:
            key = [row.network, row.folder]
            state.add_metric([*key, row.state], 1)
            last_ok.add_metric(key, as_utc(row.last_ok_at).timestamp() if row.last_ok_at else 0.0)
            messages.add_metric(key, row.messages)
        yield state
        yield last_ok
        yield messages
