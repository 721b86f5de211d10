"""Every module that defines tables, imported once so that ``Base.metadata`` knows them all (Alembic)."""

from __future__ import annotations

from save_relay import models
from save_relay.models import Base

__all__ = ["Base", "models"]
