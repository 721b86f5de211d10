"""The bytes of one delivery: the distribution's shared message plus this recipient's own headers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from save_relay.core.addresses import header_safe


@dataclass(frozen=True, slots=True)
class Personal:
    """Per-recipient values; the tokens are fresh and only their hashes are stored."""

    recipient: str
    message_id: str
    unsubscribe_mailto: str
    unsubscribe_url: str | None


def message_id(reference: str | None, delivery_id: int, domain: str) -> str:
    return f"<{(reference or 'save').lower()}.{delivery_id}.{secrets.token_hex(6)}@{domain}>"


def personal_headers(personal: Personal) -> bytes:
    """To, Message-ID and the unsubscribe headers (RFC 2369, RFC 8058), CR/LF-checked."""
    targets = [f"<mailto:{personal.unsubscribe_mailto}?subject=unsubscribe>"]
    if personal.unsubscribe_url:
        targets.insert(0, f"<{personal.unsubscribe_url}>")
    lines = [
        f"To: {header_safe(personal.recipient)}",
        f"Message-ID: {header_safe(personal.message_id)}",
        f"List-Unsubscribe: {header_safe(', '.join(targets))}",
    ]
    if personal.unsubscribe_url:
        lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
