"""A network's webhook endpoints (``[[networks.X.webhooks]]``): organisations' control rooms.

The secret is a Standard Webhooks key (``whsec_`` + base64 of 24 to 64 random bytes), kept as a
``SecretStr`` so that printing the settings shows ``**********``; ``Settings.secrets`` masks it in logs.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from save_relay.core.states import ChannelEvent

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError(f"{SECRET_PREFIX} must be followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("the key must be 24 to 64 bytes (32 recommended)")
    return key


class WebhookSettings(BaseModel):
    """One endpoint: where, signed with what, for which events and zones."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="its name in the CLI and the queue")
    url: str = Field(description="https:// URL (http:// only to loopback)")
    secret: SecretStr = Field(description="whsec_ + base64 key, shared with the receiver")
    events: list[ChannelEvent] = Field(
        default_factory=lambda: list(ChannelEvent), description="the events it gets (default: all)"
    )
    zones: list[str] = Field(
        default_factory=list, description="zone slugs: only events in these zones (default: every zone)"
    )
    timeout: float = Field(10.0, gt=0, le=120, description="seconds for one request; longer is a retry")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname in LOOPBACK:
            return value
        raise ValueError("must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)")

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        secret_key(value.get_secret_value())
        return value

    def key(self) -> bytes:
        return secret_key(self.secret.get_secret_value())

    def shown_secret(self) -> str:
        """The secret as the CLI may show it: its first characters only."""
        return self.secret.get_secret_value()[: len(SECRET_PREFIX) + 4] + "…"
