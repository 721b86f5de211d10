"""Every module that defines tables, imported once so that ``Base.metadata`` knows them all (Alembic)."""

from __future__ import annotations

from save_relay import models, scheduler_state  # noqa: F401
from save_relay.canvass import models as canvass_models  # noqa: F401
from save_relay.membership import models as membership_models  # noqa: F401
from save_relay.models import Base
from save_relay.store import imap as imap_state  # noqa: F401

__all__ = ["Base", "models"]
