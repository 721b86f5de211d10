"""Four-eyes approvals waiting for their second moderator (queries: ``store/approvals.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.core.clock import as_utc, utcnow
from save_relay.store.tables.relay import Base, Id


class ApprovalRequest(Base):
    """A first moderator's approval of a sensitive report (``kind`` distribution), of releasing its
    evidence hold (``hold_release``), of a large canvass (``canvass``: ``canvass_id``) or of erasing a
    person (``erasure``: ``subject``, the keyed hash of the address, never the address itself, so
    that nothing here names the person once erased), kept until a second, different moderator
    confirms it (``confirmed``), it lapses after the network's ``four_eyes.hours`` (``lapsed``), or a
    later decision replaces it (``superseded``). ``decision``: what the first approved, applied as it
    stands when confirmed; ``reasons``: why it needs four eyes (``recipients``, ``tlp_red``)."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approval_requests_report", "report_id", "status"),
        Index("ix_approval_requests_due", "status", "expires_at"),
        Index("ix_approval_requests_canvass", "canvass_id", "status"),
        Index("ix_approval_requests_subject", "subject", "status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    canvass_id: Mapped[int | None] = mapped_column(ForeignKey("canvasses.id", ondelete="CASCADE"))
    subject: Mapped[str | None] = mapped_column(String(64))  # erasure: HMAC-SHA256 of the address
    # "distribution", "hold_release", "canvass" or "erasure"
    kind: Mapped[str] = mapped_column(String(24), server_default="distribution")
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    first_by: Mapped[str] = mapped_column(String(320))
    first_via: Mapped[str] = mapped_column(String(16))
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipients: Mapped[int] = mapped_column(default=0)  # the count the first moderator was told
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    second_by: Mapped[str | None] = mapped_column(String(320))
    closed_at: Mapped[datetime | None]

    def first_approval(self) -> dict[str, Any]:
        """Who approved first, how and when: what the second approval's audit entry names."""
        return {"by": self.first_by, "via": self.first_via, "at": as_utc(self.created_at).isoformat()}
