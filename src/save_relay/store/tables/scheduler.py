"""The scheduler's periodic jobs: the next turn of each (queries: ``store/scheduler.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.store.tables.relay import Base


class JobSlot(Base):
    """One periodic job: its next run, and who ran it last."""

    __tablename__ = "scheduler_jobs"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_node: Mapped[str | None] = mapped_column(String(64))
