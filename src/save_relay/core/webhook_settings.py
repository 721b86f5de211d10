"""A network's webhook endpoints (``[[networks.X.webhooks]]``): organisations' control rooms.

The secret is a Standard Webhooks key (``whsec_`` + base64 of 24 to 64 random bytes), kept as a
``SecretStr`` so that printing the settings shows ``**********``; ``Settings.secrets`` masks it in logs.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Collection
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from save_relay.core.states import ChannelEvent

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
LOOPBACK = ("127.0.0.1", "::1", "localhost")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
KEY_BYTES = 32  # the recommended key length of a generated secret


class Endpoint(Protocol):
    """What the eligibility rules read of an endpoint: the settings' or a managed one (the database's)."""

    @property
    def events(self) -> Collection[str]: ...

    @property
    def zones(self) -> Collection[str]: ...


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` + base64 of 32 bytes from ``secrets``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def check_url(value: str, *, http_loopback: bool = True) -> str:
    """``value`` if it is an https:// URL with a host (or, when ``http_loopback``, http:// to
    127.0.0.1, ::1 or localhost); ValueError otherwise."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme == "https" and host and not parts.username and not parts.password:
        return value
    if http_loopback and parts.scheme == "http" and host in LOOPBACK:
        return value
    if not http_loopback:
        raise ValueError("must be an https:// URL")
    raise ValueError("must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)")


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

    name: str = Field(pattern=NAME_PATTERN, description="its name in the CLI and the queue")
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
        return check_url(value)

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
