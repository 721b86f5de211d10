"""Random tokens for sub-addresses: 128 bits, base32 lower-case (mail systems may fold case), kept hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 16  # 128 bits
TOKEN_RE = re.compile(r"^[a-z2-7]{26}$")


def new_token() -> str:
    """A fresh random token, safe in a local part whatever the case handling of the MTA."""
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").rstrip("=").lower()


def token_hash(token: str) -> str:
    """What the database keeps: the SHA-256 of the token (lower-cased first)."""
    return hashlib.sha256(token.lower().encode("ascii", "replace")).hexdigest()


def looks_like_token(value: str) -> bool:
    return bool(TOKEN_RE.match(value.lower()))


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
