"""Statistics figures kept per month and per day (queries: ``store/stats_cache.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, ForeignKey, String, Text, delete, event, inspect, or_
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from save_relay.store.tables.relay import Base, Report


class StatsPeriod(Base):
    """A network's statistics figures (``Figures``, as JSON) of one month ("2026-11") or one day
    ("2026-11-05") on its clock.

    A cache, never a record: it can be dropped at any time and is computed again from ``reports``.
    ``computed_at`` is when the computation started; the figures are current while none of the
    period's reports changed (``reports.changed_at``) after that, less a margin for transactions
    still open then."""

    __tablename__ = "stats_periods"
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    computed_at: Mapped[datetime]
    figures: Mapped[str] = mapped_column(Text)


@event.listens_for(Report, "before_update")
def _forget_moved_incident(mapper: Mapper[Report], connection: Connection, target: Report) -> None:
    """A report whose incident time changed takes the kept figures of its old and new month (and
    their days) with it: the reports left behind did not change, so nothing else would tell.
    ``incident_month`` keeps its old value for this (``active_history``)."""
    state = inspect(target)
    month = state.attrs.incident_month.history
    if not (month.has_changes() or state.attrs.incident_at.history.has_changes()):
        return
    months = {m for m in (*month.deleted, *month.unchanged, *month.added) if m}
    if months:
        connection.execute(
            delete(StatsPeriod).where(
                StatsPeriod.network_id == target.network_id,
                or_(*(StatsPeriod.period.startswith(m) for m in months)),
            )
        )
