"""The canvass tables. Queries live in ``save_relay.store.canvass``.

A canvass moves through ``scheduled -> open -> reminded -> closed`` (or ``cancelled`` before it is
sent); ``due_at`` is the time of its next step, so the scheduler claims work with one indexed query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.core.clock import utcnow
from save_relay.store.tables.relay import Base, Id


class Canvass(Base):
    """A question to the subscribers within ``radius_m`` of a point and/or in ``zones``."""

    __tablename__ = "canvasses"
    __table_args__ = (Index("ix_canvasses_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    owner: Mapped[str] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(300))
    question: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    send_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    close_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime | None]
    next_digest_at: Mapped[datetime | None]
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    cancel_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    created_via: Mapped[str] = mapped_column(String(16), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(320))


class CanvassRecipient(Base):
    """One address a canvass went to (once per address), with the subscriber behind it."""

    __tablename__ = "canvass_recipients"
    __table_args__ = (UniqueConstraint("canvass_id", "address"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    canvass_id: Mapped[int] = mapped_column(ForeignKey("canvasses.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    company: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(320))
    distance_m: Mapped[float | None] = mapped_column(Float)
    responded_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class CanvassToken(Base):
    """The token of one ``+reply-TOKEN`` address (question or reminder); only its SHA-256 is kept."""

    __tablename__ = "canvass_tokens"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("canvass_recipients.id", ondelete="CASCADE"), index=True
    )
    mail: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CanvassAnswer(Base):
    """One answer, tied to its canvass and recipient; the whole message is ``inbound_messages.raw``.

    ``attachments`` lists ``{"filename", "content_type", "size"}`` of each attachment, in order.
    """

    __tablename__ = "canvass_answers"
    __table_args__ = (Index("ix_canvass_answers_canvass", "canvass_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    canvass_id: Mapped[int] = mapped_column(ForeignKey("canvasses.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("canvass_recipients.id", ondelete="CASCADE"))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    sender: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    forwarded_at: Mapped[datetime | None]
