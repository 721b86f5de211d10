"""Who may see what: a report of the visitor's own network, or an HTTP error."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException

from save_relay.core.errors import NotFound
from save_relay.store import reports as report_store
from save_relay.store.tables import Report
from save_relay.web.auth import Visitor


async def own_report(session: AsyncSession, who: Visitor, reference: str) -> Report:
    """The report ``reference`` if it belongs to ``who``'s network: 404 if there is none, 403 if
    another network's (its existence is no secret between police zones; its content is)."""
    try:
        found = await report_store.by_reference(session, reference)
    except NotFound:
        raise HTTPException(404) from None
    if found.network_id != who.account.network_id:
        raise HTTPException(403)
    return found
