"""DKIM in tests: a generated RSA key, signing with dkimpy, and an offline DNS (a dict)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import lru_cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@lru_cache(maxsize=4)
def keypair(label: str = "default") -> tuple[bytes, bytes]:
    """(PEM private key, TXT record) of a 2048-bit RSA key; one per label per run."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@dataclass
class FakeDns:
    """TXT records by name; ``lookups`` records every query (to prove the DNS function was used)."""

    records: dict[str, bytes] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def publish(self, selector: str, domain: str, label: str = "default") -> None:
        self.records[f"{selector}._domainkey.{domain}."] = keypair(label)[1]

    def __call__(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode() if isinstance(name, bytes) else name
        self.lookups.append(text)
        return self.records.get(text if text.endswith(".") else text + ".")


def sign(raw: bytes, selector: str, domain: str, label: str = "default") -> bytes:
    """``raw`` with a DKIM-Signature by ``domain`` prepended (relaxed/relaxed, From and Subject signed)."""
    private, _ = keypair(label)
    signature = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        private,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"from", b"to", b"subject", b"message-id"],
    )
    return bytes(signature) + raw
