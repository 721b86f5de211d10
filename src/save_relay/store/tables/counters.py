"""Counters for report references (queries: ``store/references.py``)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from save_relay.store.tables.relay import Base


class ReferenceCounter(Base):
    """The last number handed out for a reference prefix in a year.

    Keyed by prefix rather than by network: each network has its own prefix and so its own counter, and two
    networks that were given the same prefix share one counter, so their references never collide."""

    __tablename__ = "reference_counters"
    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)
