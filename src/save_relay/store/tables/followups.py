"""Follow-ups: mail about a report (a reply to a distribution copy or to the acknowledgement)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.core.clock import utcnow
from save_relay.store.tables.relay import Base, Id


class Followup(Base):
    """A follow-up, stored whole (``raw`` and its ``sha256`` as received, never altered) and linked to its
    report; it never becomes a report of its own.

    ``found_by``: ``token`` (its ``+followup-TOKEN`` address) or ``thread`` (mail to the plain address
    whose In-Reply-To/References names one of our Message-IDs). ``sent_to``: the address the copy or
    acknowledgement with that token went to (None on the thread path). ``role``: reporter, subscriber
    or other, as the sender is known to the network. ``text``: what the sender typed (the quote cut).
    """

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_report", "report_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    sent_to: Mapped[str | None] = mapped_column(String(320))
    found_by: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    forwarded_to: Mapped[int] = mapped_column(Integer, default=0)  # moderators told
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]  # raw and text emptied by the retention policy (sha256 kept)
