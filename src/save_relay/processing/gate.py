"""The reply gate: one way to refuse a token-bound reply (a moderator's, a requester's, a canvass's).

Every refusal is the same three steps, whoever refuses: one log line, one audit entry, and, only when
the refusal says the sender may be told (``answer``) and the mail is not automatic, an error mail to
the sender (never to a stranger, never to an auto-reply: no backscatter, docs/design.md invariants 4 and 5).
Handlers raise ``Refused`` where they find the problem and call ``refuse`` in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.delivery.notices import queue_notice
from save_relay.mail.parse import ParsedMessage
from save_relay.store import audit
from save_relay.store.tables import InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and how: ``via`` is mail (with the reply's Message-ID) or cli."""

    name: str
    via: str
    message_id: str | None = None


def actor_of(parsed: ParsedMessage, inbound: InboundMessage) -> Actor:
    """The sender of a stored reply as an actor (the header From, else the envelope sender)."""
    sender = parsed.sender.address.lower() if parsed.sender else None
    return Actor(name=sender or inbound.mail_from or "<>", via=inbound.via, message_id=parsed.message_id)


def is_auto_generated(parsed: ParsedMessage) -> bool:
    """Automatic mail (Auto-Submitted, a mailer daemon, no single sender): never answered."""
    return parsed.auto_submitted or parsed.from_mailer_daemon or parsed.sender is None


class Refused(SaveRelayError):
    """A reply that changes nothing. ``answer``: the sender may be told why; ``reference``: the object
    (report, request, canvass) the refusal is about, when known."""

    def __init__(self, reason: str, reference: str | None = None, *, answer: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.reference, self.answer = reason, reference, answer


def send_error(
    session: AsyncSession,
    network: NetworkRef,
    to: str,
    reason: str,
    reference: str | None,
    in_reply_to: str | None,
) -> None:
    """Queue the "your command was not applied" mail (template ``command_error``)."""
    queue_notice(
        session,
        network,
        kind="error",
        template="command_error",
        to=to,
        context={"reason": reason, "reference": reference},
        in_reply_to=in_reply_to,
    )


def refuse(
    session: AsyncSession,
    network: NetworkRef,
    actor: Actor,
    refusal: Refused,
    *,
    action: str,
    automatic: bool = False,
    object_ref: str | None = None,
    **details: object,
) -> None:
    """Log, audit (``action``, about ``object_ref`` or the refusal's reference, with ``details``), and
    answer the sender when the refusal allows it and the mail was not ``automatic``; in the caller's
    transaction."""
    log.warning(
        "%s: %s (from %s)",
        action,
        refusal.reason,
        actor.name,
        extra={"action": action, "reference": object_ref or refusal.reference, "actor": actor.name},
    )
    audit.record(
        session,
        action=action,
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=object_ref or refusal.reference,
        message_id=actor.message_id,
        reason=refusal.reason,
        **details,
    )
    if refusal.answer and not automatic:
        send_error(session, network, actor.name, refusal.reason, refusal.reference, actor.message_id)
