"""The database schema (SQLAlchemy 2 declarative). Queries live in ``save_relay.store``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from save_relay.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Network(Base):
    """One relay address (``industrie@politie.lommel.be``), mirrored from the settings."""

    __tablename__ = "networks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Moderator(Base):
    __tablename__ = "moderators"
    __table_args__ = (UniqueConstraint("network_id", "address"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Zone(Base):
    """A named area (GeoJSON polygon); ``parent_slug`` nests it in another zone."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("network_id", "slug"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="area")
    parent_slug: Mapped[str | None] = mapped_column(String(64))
    geojson: Mapped[dict[str, Any]] = mapped_column(JSON)


class Group(Base):
    """A named set of subscribers not given by geography (patrol shifts, security firms)."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("network_id", "slug"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Subscriber(Base):
    """A company or person with a location and one or more addresses."""

    __tablename__ = "subscribers"
    __table_args__ = (
        UniqueConstraint("network_id", "company"),
        Index("ix_subscribers_location", "latitude", "longitude"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    company: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriberAddress(Base):
    """One address of a subscriber; ``status`` is active, unsubscribed or disabled (bounces)."""

    __tablename__ = "subscriber_addresses"
    __table_args__ = (UniqueConstraint("subscriber_id", "address"), Index("ix_address", "address"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="active")
    bounce_score: Mapped[float] = mapped_column(Float, default=0.0)
    bounce_updated_at: Mapped[datetime | None]  # when bounce_score was last computed (it decays)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ZoneMembership(Base):
    """Subscriber in zone; ``source`` is computed (from the polygon) or manual (from the CSV)."""

    __tablename__ = "zone_memberships"
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)


class InboundMessage(Base):
    """A message as received, whole: the evidence. ``status``: new, done, shunted."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_status", "status", "id"), Index("ix_inbound_sha256", "sha256"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    token: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[str] = mapped_column(String(320))
    peer: Mapped[str] = mapped_column(String(100), default="")
    via: Mapped[str] = mapped_column(String(8), default="smtp")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="new")
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None]  # raw bytes removed by the retention policy (sha256 kept)


class Report(Base):
    """A report posted to a network; ``status``: pending, approved, rejected, expired, shunted, discarded."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_status", "network_id", "status"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sender: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    edited_text: Mapped[str | None] = mapped_column(Text)
    credit: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # the moderators were reminded of it (scheduler, once)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(320))


class Token(Base):
    """A random token sent by mail; only its SHA-256 is kept. Bound to a purpose, an object, an address."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(Id)  # a subscription request (membership.models)
    address: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Distribution(Base):
    """An approved report on its way to a target.

    ``body`` is the rendered message without the per-recipient headers (To, Message-ID, unsubscribe).
    """

    __tablename__ = "distributions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One message to one address: the unit of the outbound queue.

    ``status``: queued, sent, failed. A worker claims a queued delivery by setting ``lease_until``;
    it is marked sent only after the smarthost's 250.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_distribution", "distribution_id"),
        Index("ix_deliveries_bounce", "bounce_hash"),
        Index("ix_deliveries_unsubscribe", "unsubscribe_hash"),
        Index("ix_deliveries_recipient", "recipient", "kind", "created_at"),  # ack rate limit
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    distribution_id: Mapped[int | None] = mapped_column(ForeignKey("distributions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    bounce_hash: Mapped[str | None] = mapped_column(String(64))
    unsubscribe_hash: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who changed what, when and how (mail with its Message-ID, CLI, or the system)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_object", "object_ref"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    object_ref: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
