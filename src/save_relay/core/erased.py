"""Erased people, pure: their pseudonyms, and the keyed hashes that keep them from coming back.

An erasure replaces an address with ``erased-XXXXXXXXXXXX@erased.invalid`` (RFC 2606 reserves
``.invalid``: such an address can never be delivered, and the outbound worker refuses it before
trying). The suppression list holds ``HMAC-SHA256(key, address)``, not the address: it can answer "was
this address erased?" for an address one already has, and gives nothing back to whoever reads the
table without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ERASED_DOMAIN = "erased.invalid"


def pseudonym() -> str:
    return f"erased-{secrets.token_hex(6)}@{ERASED_DOMAIN}"


def is_erased(address: str) -> bool:
    return address.strip().lower().endswith("@" + ERASED_DOMAIN)


def keyed_hash(key: bytes, address: str) -> str:
    return hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def derive_key(secret: str | None, fallback: str) -> bytes:
    """The HMAC key: the configured secret, else one derived from ``fallback`` (the database URL), so
    that every process on one database agrees without configuration."""
    material = secret if secret else f"save-relay suppression list\0{fallback}"
    return hashlib.sha256(material.encode("utf-8")).digest()
