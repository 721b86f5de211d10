"""Secrets of console accounts: argon2id password hashes, TOTP codes, session tokens.

Pure functions (no database): ``store/accounts.py`` keeps what they produce. A session token is
given to the browser once and only its SHA-256 is stored, so a copy of the database opens no session;
SHA-256 is enough there (the token has 256 random bits, nothing to guess), argon2id is for passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, 3 passes).
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    """True if ``password`` matches the stored hash; never raises for a wrong or damaged hash."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A generated password (``users add`` / ``reset`` without one): 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, login: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (shown once, by ``users add`` or ``reset``)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=issuer)


def totp_now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def check_totp(secret: str, code: str) -> bool:
    """The code of this 30-second step or the one before or after (clocks drift)."""
    code = code.strip().replace(" ", "")
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def new_token() -> str:
    """A session token for the cookie: 256 random bits."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: bound to it, derived (nothing more to store or to expire)."""
    return hmac.new(session_token.encode(), b"save-relay csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(session_token), given)
