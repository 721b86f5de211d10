"""The membership tables: subscription requests, membership events, bounce events, evidence holds.

``subscriber_addresses.bounce_score`` and friends live in ``save_relay.store.tables``; these are the records
that only the membership module writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.core.clock import utcnow
from save_relay.store.tables.relay import Base, Id


class SubscriptionRequest(Base):
    """A request by mail to ``+request``: confirmed by the requester, then decided by a moderator.

    ``kind``: subscribe or unsubscribe. ``status``: unconfirmed (waiting for the requester's reply),
    pending (waiting for a moderator), approved, rejected, done (an unsubscribe carried out),
    cancelled (the requester said no) or expired.
    """

    __tablename__ = "subscription_requests"
    __table_args__ = (Index("ix_subscription_requests_address", "network_id", "address", "status"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="unconfirmed")
    company: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str | None] = mapped_column(Text)


class MembershipEvent(Base):
    """An address subscribed, unsubscribed, disabled by bounces or re-enabled; the daily digest's source.

    ``digested_at`` is set once the moderators have been sent it.
    """

    __tablename__ = "membership_events"
    __table_args__ = (
        Index("ix_membership_events_digest", "network_id", "digested_at"),
        Index("ix_membership_events_address", "address"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    event: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    digested_at: Mapped[datetime | None]


class BounceEvent(Base):
    """One bounce of one delivery: its kind, the score it added and the address's score after it."""

    __tablename__ = "bounce_events"
    __table_args__ = (
        Index("ix_bounce_events_address", "address"),
        Index("ix_bounce_events_delivery", "delivery_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    added: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    diagnostic: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class UnmatchedBounce(Base):
    """A bounce whose VERP token names no delivery when it arrives (forged, mangled, or the delivery is
    gone). Tried again on every scheduler tick by the delivery id its token names
    (``bounces.match_unmatched``); dropped, audited, after ``UNMATCHED_FOR``."""

    __tablename__ = "unmatched_bounces"
    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[int | None] = mapped_column(Id)  # the id its token names (none in a plain token)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceHold(Base):
    """A report kept whole whatever the retention policy says (``save-relay queue hold REF``)."""

    __tablename__ = "evidence_holds"
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    held_by: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")


class Suppression(Base):
    """An erased address, as its keyed hash (core/erased.py): imports and subscriptions refuse it until
    an admin lifts it (``save-relay privacy unsuppress ADDRESS``)."""

    __tablename__ = "suppressions"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
