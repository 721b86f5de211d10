"""The bytes of one delivery: the distribution's shared message plus this recipient's own headers."""

from __future__ import annotations

from dataclasses import dataclass

from save_relay.core.addresses import header_safe
from save_relay.mail import message_ids


@dataclass(frozen=True, slots=True)
class Personal:
    """Per-recipient values; the tokens are fresh and only their hashes are stored. ``reply_to``: the
    copy's ``+followup-TOKEN`` address (a report's copies), bound to this recipient by the delivery."""

    recipient: str
    message_id: str
    unsubscribe_mailto: str
    unsubscribe_url: str | None
    reply_to: str | None = None


def message_id(reference: str | None, delivery_id: int, domain: str) -> str:
    """``<save-relay.REF.ID.RANDOM@domain>``: a reply's In-Reply-To names the report (``message_ids``)."""
    return message_ids.message_id(reference or "save", domain, tag=str(delivery_id))


def personal_headers(personal: Personal) -> bytes:
    """To, Message-ID, Reply-To and the unsubscribe headers (RFC 2369, RFC 8058), CR/LF-checked."""
    targets = [f"<mailto:{personal.unsubscribe_mailto}?subject=unsubscribe>"]
    if personal.unsubscribe_url:
        targets.insert(0, f"<{personal.unsubscribe_url}>")
    lines = [
        f"To: {header_safe(personal.recipient)}",
        f"Message-ID: {header_safe(personal.message_id)}",
        *([f"Reply-To: {header_safe(personal.reply_to)}"] if personal.reply_to else []),
        f"List-Unsubscribe: {header_safe(', '.join(targets))}",
    ]
    if personal.unsubscribe_url:
        lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
