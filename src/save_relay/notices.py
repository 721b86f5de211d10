"""One-off mails the network sends (acknowledgement, moderator notification, confirmation, error).

Each is rendered from a template and queued as a delivery in the caller's transaction, so it is sent
at least once if and only if the change it reports is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.config import NetworkSettings
from save_relay.context import network_from
from save_relay.mail.compose import as_bytes, build_message, make_message_id, render
from save_relay.store import deliveries
from save_relay.store.networks import NetworkRef


def queue_notice(
    session: AsyncSession,
    network: NetworkRef,
    *,
    kind: str,
    template: str,
    to: str,
    context: Mapping[str, Any],
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """Render ``template`` in the network's language and queue it for ``to``."""
    conf = network.settings
    rendered = render(conf.language, template, {**base_context(conf), **context})
    message = build_message(
        sender=network_from(conf),
        to=to,
        rendered=rendered,
        domain=conf.domain,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        extra_headers=[
            ("Message-ID", make_message_id(conf.domain)),
            ("Auto-Submitted", "auto-replied" if kind in {"ack", "error"} else "auto-generated"),
            ("X-Save-Relay-Network", conf.address),
            *headers,
        ],
    )
    deliveries.enqueue(session, network_id=network.id, kind=kind, recipient=to, message=as_bytes(message))


def base_context(conf: NetworkSettings) -> dict[str, Any]:
    return {"network_name": conf.name, "network_address": conf.address}
