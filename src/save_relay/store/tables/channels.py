"""The channels' outbox (queries: ``store/channel_events.py``).

A feature records what happened (a report approved, a canvass sent) in its own transaction; the
``webhook-events`` job turns each event into one webhook delivery per eligible endpoint and marks it
dispatched. The deliveries themselves are rows of ``deliveries`` (kind ``webhook``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.core.clock import utcnow
from save_relay.store.tables.relay import Base, Id


class ChannelEventRow(Base):
    """One event; ``dispatched_at`` is set once its webhook deliveries are queued."""

    __tablename__ = "channel_events"
    __table_args__ = (Index("ix_channel_events_pending", "dispatched_at", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    type: Mapped[str] = mapped_column(String(32))  # core.states.ChannelEvent
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    canvass_id: Mapped[int | None] = mapped_column(ForeignKey("canvasses.id", ondelete="CASCADE"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
