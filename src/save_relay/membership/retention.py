"""The retention policy as a job: personal data older than the settings allow is purged.

``[retention]``: raw reports, their text and their follow-ups after ``reports_days``; delivery logs,
bounces, other inbound mail (a follow-up's intake copy too), closed requests and spent tokens after
``deliveries_days`` (0: kept forever). Reports on an
evidence hold (``save-relay queue hold REF``) are kept with what proves what happened to them: their
distributions and deliveries, the moderators' replies and the tokens that link those to the report.
Canvass answers (``canvass_answers_days``) are purged by the canvass module's own job.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import Context
from save_relay.store import audit
from save_relay.store import holds as hold_store
from save_relay.store import retention as store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    reports: int = 0
    other_inbound: int = 0
    deliveries: int = 0
    logs: int = 0
    expired_requests: int = 0

    def __bool__(self) -> bool:
        return any(asdict(self).values())

    def summary(self) -> str:
        return ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in asdict(self).items())


async def purge_expired(session: AsyncSession, ctx: Context, now: datetime) -> Purged:
    """Purge in the caller's transaction; returns what was removed."""
    conf = ctx.settings.retention
    reports = other = deliveries = logs = 0
    if conf.reports_days:
        reports = await store.purge_reports(session, now - timedelta(days=conf.reports_days), now)
    if conf.deliveries_days:
        cutoff = now - timedelta(days=conf.deliveries_days)
        held = await hold_store.held_evidence(session)
        other = await store.purge_other_inbound(session, cutoff, now, keep=held.inbound_ids)
        deliveries = await store.purge_deliveries(session, cutoff)
        logs = await store.purge_logs(session, cutoff)
    ttl = max((n.settings.confirm_ttl_hours for n in ctx.networks.values()), default=168.0)
    expired = await store.expire_requests(session, now - timedelta(hours=ttl))
    purged = Purged(reports, other, deliveries, logs, expired)
    if purged:
        audit.record(session, action="retention_purge", actor="system", via="scheduler", **asdict(purged))
        log.info("retention purge: %s", purged.summary(), extra={"action": "retention_purge"})
    return purged
