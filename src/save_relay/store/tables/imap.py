"""The IMAP intake's per-mailbox state (queries: ``store/imap.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.core.clock import utcnow
from save_relay.store.tables.relay import Base, Id


class ImapMailbox(Base):
    """A watched IMAP folder. ``state``: connecting, ready, backoff, stopped."""

    __tablename__ = "imap_mailboxes"
    __table_args__ = (UniqueConstraint("network_id", "folder"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(300))
    account: Mapped[str] = mapped_column(String(400), default="")
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="connecting")
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    node: Mapped[str] = mapped_column(String(64), default="")
