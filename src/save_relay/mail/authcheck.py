"""Is a message really from its From domain? DKIM (dkimpy) or a trusted Authentication-Results header.

Used for moderator replies when a network sets ``require_dkim = true`` (docs/design.md invariant 3). A
message passes when

(a) dkimpy verifies one of its DKIM signatures and the signature's ``d=`` domain is aligned with the
    From domain (relaxed alignment: equal, or the From domain is a subdomain of ``d=``), or
(b) the topmost ``Authentication-Results`` header whose authserv-id is one of ``trusted_authserv_ids``
    (headers written by *our own* MTA, e.g. ``mx.politie.lommel.be``) says ``dkim=pass`` with an
    aligned ``header.d`` (or ``header.i``), or ``dmarc=pass`` with an aligned ``header.from``.

Authentication-Results from any other host are ignored: anybody can write one. Our MTA must remove
(or rename) incoming headers that carry its own authserv-id (RFC 8601 section 5; Postfix with
OpenDKIM/OpenDMARC or rspamd do this), otherwise a forged one could be the topmost.

Relaxed alignment is approximated without the public suffix list: ``d=`` must contain a dot, so a
signature by a bare TLD never aligns. The DNS lookup is injectable (``dnsfunc``, dkimpy's signature:
``dnsfunc(name: bytes, timeout: float) -> bytes | str | None``) so tests verify offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dkim

__all__ = ["AuthResult", "DnsFunc", "aligned", "authenticate", "trusted_results", "verify_dkim"]

DnsFunc = Callable[..., Any]

MAX_SIGNATURES = 5  # a message with more is not worth the DNS lookups
_COMMENT = re.compile(r"\([^()]*\)")
_HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$")


@dataclass(frozen=True, slots=True)
class AuthResult:
    """``ok``: authenticated; ``how``: by what (or why not), for the audit log."""

    ok: bool
    how: str


def aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: ``from_domain`` is ``signing_domain`` or one of its subdomains."""
    d = signing_domain.strip().strip(".").lower()
    f = from_domain.strip().strip(".").lower()
    if not d or "." not in d or not f:
        return False
    return f == d or f.endswith("." + d)


def verify_dkim(raw: bytes, from_domain: str, dnsfunc: DnsFunc | None = None) -> AuthResult:
    """Verify the message's DKIM signatures (at most ``MAX_SIGNATURES``); pass on the first valid,
    aligned one. Blocking (DNS): call it in a thread."""
    try:
        checker = dkim.DKIM(raw, minkey=1024, timeout=5)
        count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    except Exception as exc:  # a message dkimpy cannot even split into headers
        return AuthResult(False, f"dkim: unreadable message ({type(exc).__name__})")
    if count == 0:
        return AuthResult(False, "dkim: no signature")
    seen: list[str] = []
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            valid = (
                checker.verify(idx=index, dnsfunc=dnsfunc)
                if dnsfunc is not None
                else checker.verify(idx=index)
            )
        except Exception as exc:  # DKIMException, and DNS errors: this signature fails
            seen.append(f"fail ({type(exc).__name__}: {str(exc)[:100]})")
            continue
        domain = _text(getattr(checker, "domain", None) or b"")
        if not valid:
            seen.append(f"fail d={domain}")
        elif not aligned(domain, from_domain):
            seen.append(f"pass d={domain} not aligned with {from_domain}")
        else:
            return AuthResult(True, f"dkim: pass d={domain}")
    return AuthResult(False, "dkim: " + "; ".join(seen))


def _text(value: bytes | str) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _headers(raw: bytes, name: str) -> list[str]:
    """The values of every ``name`` header, top to bottom, unfolded (bytes read as UTF-8, lossy)."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    wanted = name.lower().encode()
    found: list[list[bytes]] = []
    current: list[bytes] | None = None
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        match = _HEADER_LINE.match(line)
        current = [match.group(2)] if match and match.group(1).lower() == wanted else None
        if current is not None:
            found.append(current)
    return [b" ".join(part.strip() for part in parts).decode("utf-8", "replace") for parts in found]


def _parse_results(value: str) -> tuple[str, list[dict[str, str]]]:
    """(authserv-id, [{"method": ..., "result": ..., "header.d": ...}, ...]) of one header value."""
    text = value
    for _ in range(5):  # nested comments: strip from the inside out
        text = _COMMENT.sub(" ", text)
    parts = [part.strip() for part in text.split(";")]
    authserv = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results: list[dict[str, str]] = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        entry = {"method": method.lower(), "result": result.strip('"').lower()}
        for token in tokens[1:]:
            key, sep, val = token.partition("=")
            if sep:
                entry[key.lower()] = val.strip('"').lower()
        results.append(entry)
    return authserv, results


def trusted_results(raw: bytes, from_domain: str, trusted: Sequence[str]) -> AuthResult:
    """Case (b): the topmost Authentication-Results of a trusted authserv-id, if it says pass."""
    wanted = {t.strip().lower() for t in trusted if t.strip()}
    if not wanted:
        return AuthResult(False, "authentication-results: no trusted authserv-id configured")
    for value in _headers(raw, "Authentication-Results"):
        authserv, results = _parse_results(value)
        if authserv not in wanted:
            continue  # written by somebody else: ignored
        for entry in results:
            if entry["method"] == "dkim" and entry["result"] == "pass":
                domain = entry.get("header.d") or entry.get("header.i", "").rpartition("@")[2]
                if aligned(domain, from_domain):
                    return AuthResult(True, f"authentication-results {authserv}: dkim=pass d={domain}")
            if entry["method"] == "dmarc" and entry["result"] == "pass":
                domain = entry.get("header.from", "")
                if not domain or aligned(domain, from_domain):
                    return AuthResult(True, f"authentication-results {authserv}: dmarc=pass")
        return AuthResult(False, f"authentication-results {authserv}: no aligned dkim or dmarc pass")
    return AuthResult(False, "authentication-results: none from a trusted host")


def authenticate(
    raw: bytes, from_domain: str | None, trusted: Sequence[str], dnsfunc: DnsFunc | None = None
) -> AuthResult:
    """(a) or (b) above; blocking when ``dnsfunc`` does real DNS: call it in a thread."""
    if not from_domain:
        return AuthResult(False, "no single From address")
    by_header = trusted_results(raw, from_domain, trusted)
    if by_header.ok:
        return by_header
    by_dkim = verify_dkim(raw, from_domain, dnsfunc)
    if by_dkim.ok:
        return by_dkim
    return AuthResult(False, f"{by_dkim.how}; {by_header.how}")
