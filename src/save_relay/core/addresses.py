"""Strict e-mail address handling.

Nothing here uses ``email.utils.parseaddr``/``getaddresses``: before the CVE-2023-27043 fix (Python
3.11.7 has not got it) they return the wrong addr-spec for inputs such as
``alice@example.org)<bob@example.org>``. Header values are parsed with the RFC 5322 parser behind
``email.headerregistry`` instead, every defect that makes the result ambiguous rejects the value, and
the addr-spec is validated again with ``email_validator``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email import _header_value_parser as hvp
from email import errors

from email_validator import validate_email

__all__ = [
    "Mailbox",
    "header_safe",
    "is_mailer_daemon",
    "normalize_address",
    "parse_mailbox",
    "sanitize_header_text",
    "split_subaddress",
]

# A From header longer than this is not a real sender; refusing it bounds the parser's work.
MAX_HEADER_VALUE = 2048

# Local parts that MTAs use for delivery status notifications (RFC 5321 section 4.5.5, common practice).
_DAEMON_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "double-bounce"}
)

# Defects that make the address list ambiguous or invalid; obsolete syntax and bad encoded words in
# the display name are tolerated (the address itself is validated again below).
_FATAL_DEFECTS = (errors.InvalidHeaderDefect, errors.HeaderMissingRequiredValue)

# Characters that end a line for str.splitlines() (and so for parts of the email package), plus NUL.
_LINE_BREAKING = frozenset("\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

# Bidirectional overrides and isolates: used to make a display name read differently than it is.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Non-conforming but common: an RFC 2047 encoded word inside a quoted display name.
_QUOTED_ENCODED_WORD = re.compile(r'^\s*"(=\?[^"\\]*\?=)"\s*(<[^<>"\\]*>)\s*$')


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One sender or recipient: a display name (decoded, single line; may be empty) and an address."""

    name: str
    address: str

    @property
    def local_part(self) -> str:
        """The part before the last ``@``, as given (compare case-insensitively where that matters)."""
        return self.address.rpartition("@")[0]

    @property
    def domain(self) -> str:
        """The domain, lowercased and IDNA-normalised."""
        return self.address.rpartition("@")[2]


def _count_unquoted_at(addr: str) -> int:
    count = 0
    quoted = escaped = False
    for ch in addr:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "@" and not quoted:
            count += 1
    return count


def normalize_address(addr: str, *, test_environment: bool = False) -> str | None:
    """Validate a bare addr-spec and return its normalised form, or ``None`` when it is not valid.

    The local part is kept as given (NFC), the domain is lowercased and IDNA-normalised. Display names,
    angle brackets, whitespace, control characters, quoted local parts, domain literals and
    special-use domains (``.local``, ``localhost``, ``.invalid``; ``.test`` unless ``test_environment``)
    are refused.
    """
    if not isinstance(addr, str) or not addr or len(addr) > 320:
        return None
    if any(ch.isspace() or ch in _LINE_BREAKING for ch in addr) or _count_unquoted_at(addr) != 1:
        return None
    try:
        result = validate_email(
            addr, check_deliverability=False, allow_smtputf8=True, test_environment=test_environment
        )
    except Exception:  # EmailNotValidError, and whatever its IDNA handling may raise: all mean "invalid"
        return None
    return result.normalized


def _single_mailbox(value: str) -> tuple[str, str] | None:
    """(display name, addr-spec) when ``value`` is exactly one well-formed mailbox."""
    address_list, rest = hvp.get_address_list(value)
    if rest.strip() or any(isinstance(d, _FATAL_DEFECTS) for d in address_list.all_defects):
        return None
    addresses = address_list.addresses
    if len(addresses) != 1 or not isinstance(addresses[0][0], hvp.Mailbox):
        return None  # nothing, a list, a group or an invalid mailbox
    mailboxes = address_list.mailboxes
    if len(mailboxes) != 1 or len(address_list.all_mailboxes) != 1:
        return None
    box = mailboxes[0]
    return box.display_name or "", box.addr_spec


def parse_mailbox(header_value: str | None, *, test_environment: bool = False) -> Mailbox | None:
    """Parse a From/Sender/Reply-To value into exactly one mailbox, or ``None``; never raises.

    Groups, several addresses, empty or garbage values, header injection and the CVE-2023-27043 tricks
    all give ``None``. RFC 2047 display names are decoded and made safe for display.
    """
    if not isinstance(header_value, str) or len(header_value) > MAX_HEADER_VALUE:
        return None
    value = _FOLD.sub("", header_value)
    if any(ch in _LINE_BREAKING for ch in value):
        return None
    rescued = _QUOTED_ENCODED_WORD.match(value)
    if rescued:
        value = f"{rescued.group(1)} {rescued.group(2)}"
    try:
        found = _single_mailbox(value)
    except Exception:  # the header parser has had IndexError/ValueError bugs on hostile input
        return None
    if found is None:
        return None
    address = normalize_address(found[1], test_environment=test_environment)
    if address is None:
        return None
    return Mailbox(name=sanitize_header_text(found[0]), address=address)


def split_subaddress(address: str, delimiter: str = "+") -> tuple[str, str | None, str]:
    """Split ``local+detail@domain`` into (local, detail or None, lowercased domain).

    The local part is split at the first delimiter. Raises ``ValueError`` when there is no ``@`` or
    the delimiter is empty.
    """
    if not delimiter:
        raise ValueError("empty sub-address delimiter")
    local, at, domain = address.rpartition("@")
    if not at:
        raise ValueError(f"not an address: {address!r}")
    base, sep, detail = local.partition(delimiter)
    return base, (detail if sep else None), domain.lower()


def is_mailer_daemon(address: str) -> bool:
    """True for the null reverse path (``""``, ``<>``) and MAILER-DAEMON/postmaster-style senders.

    ``noreply``-style addresses are ordinary senders (they are humans' robots, not MTAs).
    """
    value = address.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if not value:
        return True
    local = value.rpartition("@")[0] if "@" in value else value
    return local.strip('"').lower() in _DAEMON_LOCAL_PARTS


def header_safe(value: str) -> str:
    """Return ``value`` for use in an outgoing header; ``ValueError`` if it could break the header.

    Refuses CR, LF, NUL and the other characters ``str.splitlines`` treats as line ends (defence
    against header injection, CVE-2024-6923). Use ``sanitize_header_text`` first for untrusted text.
    """
    bad = sorted({ch for ch in value if ch in _LINE_BREAKING})
    if bad:
        raise ValueError(f"header value contains line-breaking characters: {bad!r}")
    return value


def sanitize_header_text(value: str, limit: int = 200) -> str:
    """Make untrusted text (a subject, a display name) one safe line of at most ``limit`` characters.

    All whitespace runs (CR and LF included) become one space; control, bidi-override and lone
    surrogate characters (from undecodable bytes) are dropped or replaced by U+FFFD.
    """
    if limit <= 0:
        return ""
    chars: list[str] = []
    for ch in value[: limit * 8 + 1024]:  # enough input for ``limit`` characters of any real text
        if ch.isspace():
            chars.append(" ")
            continue
        category = unicodedata.category(ch)
        if category == "Cs":
            chars.append("\ufffd")
        elif category != "Cc" and ch not in _BIDI_CONTROLS:
            chars.append(ch)
    text = " ".join("".join(chars).split())
    return text[:limit].rstrip()
