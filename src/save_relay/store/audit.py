"""The audit log: every state change, with who, when and how."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.store.tables import AuditEntry


def record(
    session: AsyncSession,
    *,
    action: str,
    actor: str,
    via: str,
    network_id: int | None = None,
    object_ref: str | None = None,
    message_id: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit entry to the session's transaction (it commits with the change it describes)."""
    session.add(
        AuditEntry(
            action=action,
            actor=actor,
            via=via,
            network_id=network_id,
            object_ref=object_ref,
            message_id=message_id,
            detail=detail,
        )
    )


async def entries_about(session: AsyncSession, object_ref: str) -> list[AuditEntry]:
    """The audit entries about one object (a report's reference), oldest first."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.object_ref == object_ref).order_by(AuditEntry.id)
    )
    return list(rows)
