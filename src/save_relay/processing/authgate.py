"""``require_dkim``: is a moderator's mail (a confirm reply, a canvass request) authenticated?

The check itself is ``mail.authcheck``; this runs it off the event loop (DNS lookups block) with the
network's setting, the global ``trusted_authserv_ids`` and the context's DNS function.
"""

from __future__ import annotations

import asyncio

from save_relay.core.context import Context, NetworkRef
from save_relay.mail.authcheck import AuthResult, authenticate
from save_relay.mail.parse import ParsedMessage

NOT_REQUIRED = AuthResult(True, "not required")


async def moderator_mail_authenticated(
    ctx: Context, network: NetworkRef, raw: bytes, parsed: ParsedMessage
) -> AuthResult:
    """Pass when the network does not require DKIM, else the result of ``authenticate``."""
    if not network.settings.require_dkim:
        return NOT_REQUIRED
    domain = parsed.sender.domain if parsed.sender is not None else None
    trusted = ctx.settings.trusted_authserv_ids
    return await asyncio.to_thread(authenticate, bytes(raw), domain, trusted, ctx.dkim_dns)
