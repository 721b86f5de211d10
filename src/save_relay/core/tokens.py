"""Random tokens for sub-addresses: 128 bits, base32 lower-case (mail systems may fold case), kept hashed.

A delivery's tokens (its VERP return path, its unsubscribe links) also carry the delivery's id after
the random part (``delivery_token``): the database finds the delivery by its primary key and checks
the token's hash, so it needs no index on hashes, which random keys make costly to maintain for every
message of a large fan-out. The id is no secret; the random part is what cannot be guessed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 16  # 128 bits
RANDOM_LENGTH = 26  # base32 characters of TOKEN_BYTES
TOKEN_RE = re.compile(r"^[a-z2-7]{26}(?:[a-z2-7]{1,13})?$")  # 13 base32 digits hold any 64-bit id
_DIGITS = "abcdefghijklmnopqrstuvwxyz234567"


def new_token() -> str:
    """A fresh random token, safe in a local part whatever the case handling of the MTA."""
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").rstrip("=").lower()


def delivery_token(delivery_id: int) -> str:
    """A fresh random token for the delivery ``delivery_id``: the random part, then the id in base32."""
    if delivery_id <= 0:
        raise ValueError(f"not a delivery id: {delivery_id}")
    digits = []
    while delivery_id:
        delivery_id, digit = divmod(delivery_id, 32)
        digits.append(_DIGITS[digit])
    return new_token() + "".join(reversed(digits))


def delivery_id_of(token: str) -> int | None:
    """The delivery id a ``delivery_token`` carries; None for a plain token (or not a token at all)."""
    value = token.lower()
    if len(value) <= RANDOM_LENGTH or not TOKEN_RE.match(value):
        return None
    number = 0
    for char in value[RANDOM_LENGTH:]:
        number = number * 32 + _DIGITS.index(char)
    return number if 0 < number < 2**63 else None


def token_hash(token: str) -> str:
    """What the database keeps: the SHA-256 of the token (lower-cased first)."""
    return hashlib.sha256(token.lower().encode("ascii", "replace")).hexdigest()


def looks_like_token(value: str) -> bool:
    return bool(TOKEN_RE.match(value.lower()))


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
