"""Acknowledgements are rate-limited per address (docs/design.md invariant 5: no backscatter).

The same message again (``mail/fingerprint.py``: same sender, subject, text and files) within the hour
gets no second acknowledgement, whoever sent it (a first copy that was not acknowledged, automatic or
over the limit, does not count): a loop or a double send must not earn a reply per copy;
the moderators' notification names the first report instead.

At most ``ack_per_sender_per_hour`` acknowledgements go to one unknown address in any hour, over all
networks; a subscriber's address is not limited (``announce._acknowledge``).
The count comes from the ``deliveries`` table (kind ``ack``, recipient, created_at), so it holds across
restarts and across nodes sharing the database (two nodes deciding at the same instant may each send
one more: the bound is loose by the number of nodes, never unbounded).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store import deliveries, reports
from save_relay.store.tables import Report

WINDOW = timedelta(hours=1)


async def ack_allowed(session: AsyncSession, recipient: str, limit: int) -> bool:
    """Whether one more acknowledgement to ``recipient`` stays within ``limit`` per hour."""
    return limit > 0 and await deliveries.acks_since(session, recipient, utcnow() - WINDOW) < limit


async def repeat_of(session: AsyncSession, report: Report, digest: str) -> tuple[str, datetime] | None:
    """The reference and reception time of the same message (``digest``) from the same sender within the
    hour that was acknowledged."""
    return await reports.earlier_same(session, report, digest, utcnow() - WINDOW)
