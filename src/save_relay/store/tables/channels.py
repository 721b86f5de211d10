"""The channels' outbox (queries: ``store/channel_events.py``).

A feature records what happened (a report approved, a canvass sent) in its own transaction; the
``webhook-events`` job turns each event into one webhook delivery per eligible endpoint and marks it
dispatched. The deliveries themselves are rows of ``deliveries`` (kind ``webhook``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
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


class WebhookEndpointRow(Base):
    """A webhook endpoint managed in the database (CLI, CSV import, console), beside the settings' ones.

    ``secret`` is the ``whsec_`` key itself: Standard Webhooks signs with HMAC-SHA256, so the sender
    needs the raw key (a hash could not sign). It is shown once, at creation or rotation, and never
    read out again but by the webhook worker (docs/security.md).
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (UniqueConstraint("network_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    name: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    timeout: Mapped[float] = mapped_column(default=10.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    secret_at: Mapped[datetime] = mapped_column(default=utcnow)  # created or last rotated


class SubscriberPhone(Base):
    """A subscriber's mobile number (E.164, ``+3247...``); ``sms``: it opted in to urgent SMS."""

    __tablename__ = "subscriber_phones"
    __table_args__ = (UniqueConstraint("subscriber_id", "number", name="uq_subscriber_phones"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    sms: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsPart(Base):
    """One part of one SMS delivery as the gateway took it: its message id there and, once the
    gateway's delivery receipt arrives, the state it reports (``DELIVRD``, ``UNDELIV``, ...)."""

    __tablename__ = "sms_parts"
    __table_args__ = (Index("ix_sms_parts_message", "network_id", "message_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    part: Mapped[int] = mapped_column(Integer, default=1)
    message_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    receipt_at: Mapped[datetime | None]
