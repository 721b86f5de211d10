"""The daemons sharing this database, as their heartbeats show them (queries: ``store/nodes.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.store.tables.relay import Base


class Node(Base):
    """One daemon (``node_name``): written at its start, every ``status.heartbeat_seconds``, and at a
    clean stop (``stopped_at``). A node that died keeps its last ``last_seen_at``."""

    __tablename__ = "nodes"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    heartbeat_seconds: Mapped[float] = mapped_column(Float)
    listeners: Mapped[list[str]] = mapped_column(JSON, default=list)
