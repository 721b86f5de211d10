"""Who handles a stored message: by its ``+purpose``, and for ``+confirm-TOKEN`` by its token's purpose.

The tables themselves are in ``routes.py`` (one place to read who handles what); this module holds the
types and the one piece of logic between them: a reply to ``+confirm-TOKEN`` is dispatched on the
purpose of its token, and a purpose that carries a moderator's authority is checked against
``require_dkim`` first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import Context
from save_relay.mail.parse import parse_message
from save_relay.processing.authgate import moderator_mail_authenticated
from save_relay.store import audit
from save_relay.store import tokens as token_store
from save_relay.store.tables import InboundMessage, Token

log = logging.getLogger(__name__)

#: A handler of one stored message, in the processor's transaction.
Handler = Callable[[AsyncSession, Context, InboundMessage], Awaitable[None]]
#: A handler of a reply whose token was found (the token row, not yet spent).
TokenHandler = Callable[[AsyncSession, Context, InboundMessage, Token], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TokenDispatch:
    """The handler of ``+confirm-TOKEN``: the token's purpose chooses ``by_purpose[purpose]``.

    ``unknown``: what a reply with an unknown or unroutable token gets (the report path, which refuses
    it with an answer to a moderator). ``moderator_purposes``: replies that need ``require_dkim``.
    """

    by_purpose: Mapping[str, TokenHandler]
    moderator_purposes: frozenset[str]
    unknown: Handler

    async def __call__(self, session: AsyncSession, ctx: Context, inbound: InboundMessage) -> None:
        token = await token_store.find_any(session, inbound.token or "", inbound.network_id)
        handler = self.by_purpose.get(token.purpose) if token is not None else None
        if token is None or handler is None:
            await self.unknown(session, ctx, inbound)
            return
        if token.purpose in self.moderator_purposes and not await _authenticated(
            session, ctx, inbound, token
        ):
            return
        await handler(session, ctx, inbound, token)


async def _authenticated(session: AsyncSession, ctx: Context, inbound: InboundMessage, token: Token) -> bool:
    """``require_dkim``: a moderator's reply must be DKIM/DMARC-authenticated; else refused and audited."""
    network = ctx.network(inbound.network_id)
    if not network.settings.require_dkim:
        return True
    parsed = parse_message(inbound.raw)
    result = await moderator_mail_authenticated(ctx, network, inbound.raw, parsed)
    if result.ok:
        return True
    actor = parsed.sender.address.lower() if parsed.sender else inbound.mail_from or "<>"
    log.warning(
        "moderator reply refused: not authenticated (%s) from %s",
        result.how,
        actor,
        extra={"action": "confirm_refused", "inbound_id": inbound.id},
    )
    audit.record(
        session,
        action="confirm_refused",
        actor=actor,
        via=inbound.via,
        network_id=network.id,
        message_id=parsed.message_id,
        reason=f"not authenticated (require_dkim): {result.how}",
        purpose=token.purpose,
        envelope_from=inbound.mail_from,
    )
    return False
