"""Standard Webhooks signatures: ``v1,`` + base64(HMAC-SHA256(key, "id.timestamp.body")).

Written here rather than taken from the ``standardwebhooks`` package: it is a dozen lines of the
standard library, and the tests verify them with that package (the reference implementation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one signed POST (the timestamp is the attempt's: a retry is signed anew)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def message_id(delivery_id: int) -> str:
    """The ``webhook-id``: one per delivery, the same on every retry (receivers deduplicate on it)."""
    return f"msg_{delivery_id}"
