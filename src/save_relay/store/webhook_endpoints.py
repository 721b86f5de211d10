"""Webhook endpoints managed in the database (``webhook_endpoints``): the queries of the CLI, the CSV
import, the console, the dispatch job and the webhook worker.

The secret is read by ``by_name`` (the worker signs with it) and written by ``add`` and ``set_secret``;
the listing functions return the rows too, and the callers show everything but it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store.tables import WebhookEndpointRow


async def listed(session: AsyncSession, network_ids: Collection[int]) -> list[WebhookEndpointRow]:
    """The endpoints of ``network_ids``, enabled or not, by network and name."""
    query = (
        select(WebhookEndpointRow)
        .where(WebhookEndpointRow.network_id.in_(list(network_ids)))
        .order_by(WebhookEndpointRow.network_id, WebhookEndpointRow.name)
    )
    return list(await session.scalars(query))


async def enabled(session: AsyncSession, network_ids: Collection[int]) -> list[WebhookEndpointRow]:
    """The enabled endpoints of ``network_ids`` (the dispatch job's)."""
    return [row for row in await listed(session, network_ids) if row.enabled]


async def by_name(session: AsyncSession, network_id: int, name: str) -> WebhookEndpointRow | None:
    return await session.scalar(
        select(WebhookEndpointRow).where(
            WebhookEndpointRow.network_id == network_id, WebhookEndpointRow.name == name
        )
    )


async def by_id(session: AsyncSession, endpoint_id: int) -> WebhookEndpointRow | None:
    return await session.get(WebhookEndpointRow, endpoint_id)


def add(
    session: AsyncSession,
    *,
    network_id: int,
    name: str,
    url: str,
    secret: str,
    events: Sequence[str],
    zones: Sequence[str],
    organisation: str = "",
    enabled: bool = True,
) -> WebhookEndpointRow:
    """A new endpoint in the caller's transaction (the unique (network, name) is checked by the caller)."""
    now = utcnow()
    row = WebhookEndpointRow(
        network_id=network_id,
        name=name,
        organisation=organisation,
        url=url,
        secret=secret,
        events=list(events),
        zones=list(zones),
        enabled=enabled,
        timeout=10.0,
        created_at=now,
        secret_at=now,
    )
    session.add(row)
    return row


def set_secret(row: WebhookEndpointRow, secret: str) -> None:
    row.secret, row.secret_at = secret, utcnow()


async def remove(session: AsyncSession, row: WebhookEndpointRow) -> None:
    await session.delete(row)
