"""What a message to ``+bounces-TOKEN`` says: a permanent failure, a temporary one, or no bounce at all.

Pure: bytes in, a ``BounceVerdict`` out, never raises. The order of the checks:

1. Reports that are not about delivery (ARF abuse complaints, read receipts) are not bounces.
2. RFC 3464 delivery-status parts are read per recipient: ``Action: failed`` is permanent unless its
   ``Status`` is 4.x.x (a message that expired in a queue failed for a passing reason), ``delayed`` is
   temporary, ``delivered``/``relayed``/``expanded`` are no failure.
3. Without such a part, flufl.bounce's detectors (Mailman's: Exim, Postfix, qmail, Exchange, Yahoo and a
   dozen more non-standard formats) name the failed recipients, permanent or temporary.
4. Mail that still says nothing but looks like a bounce (from a mailer daemon or the null sender, or
   with a bounce's subject) is classified by the first SMTP status code in its text (5.x.x / 5yz:
   permanent; 4.x.x / 4yz: temporary); without one it is an unrecognised, permanent bounce (with VERP
   the failed address is known from the token, so no address need be found).
5. An automatic reply (RFC 3834 ``Auto-Submitted: auto-replied``, X-Autoreply, "Out of Office"
   subjects) and anything else is not a bounce.

On the shared corpus (``../shared/corpus/bounces``) this agrees with the expected kind and addresses
for 94.8 % of the messages that have an expectation (``tests/unit/test_dsn.py``).
"""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from typing import Literal

from flufl.bounce import all_failures

from save_relay.core.addresses import is_mailer_daemon
from save_relay.mail.autoreply import bare_subject, is_auto_reply

log = logging.getLogger(__name__)
# flufl.bounce logs every detector it runs at INFO and a traceback when one trips; we log ourselves.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

Kind = Literal["permanent", "temporary", "none"]

MAX_SCAN = 200_000  # characters of text searched for status codes

#: Subjects of bounces whose body flufl.bounce could not read.
BOUNCE_SUBJECTS: tuple[str, ...] = (
    *("undeliverable", "undelivered mail", "delivery status notification", "delivery failure"),
    *("mail delivery failed", "returned mail", "failure notice", "delivery has failed"),
    *("mail system error", "message not delivered", "delivery notification", "nondeliverable"),
    *("non remis", "non distribuable", "unzustellbar", "onbestelbaar", "niet bezorgd", "kan niet worden"),
    *("warning: could not send", "delayed mail", "delivery delayed", "mail could not be delivered"),
    *("undeliverable mail", "returned to sender", "rejected", "error sending"),
)
_REPORT_NOT_BOUNCE = frozenset({"feedback-report", "disposition-notification"})
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY_CODE = re.compile(r"(?<![\d.\-:/])([45])([0-5]\d)[\s-](?=\D)")
_ADDRESS = re.compile(r"^[^@\s\"<>(),;:]+@[a-z0-9.-]+\.[a-z]{2,}$|^[^@\s\"<>(),;:]+@[a-z0-9.-]+$")


@dataclass(frozen=True, slots=True)
class BounceVerdict:
    """The kind of failure, the failed recipients found (lower-cased, maybe none) and how we know."""

    kind: Kind
    addresses: frozenset[str] = frozenset()
    why: str = ""
    diagnostic: str = ""

    @property
    def is_bounce(self) -> bool:
        return self.kind != "none"


def _parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=policy.compat32)


def _header(msg: Message, name: str) -> str:
    try:
        return " ".join(str(msg.get(name, "") or "").split())
    except Exception:  # a header the email package cannot render: treat as absent
        return ""


def _parts(msg: Message) -> Iterator[Message]:
    try:
        yield from msg.walk()
    except Exception:  # hostile nesting: what was walked so far is all there is
        return


def _report_type(msg: Message) -> str:
    for part in _parts(msg):
        if part.get_content_type() == "multipart/report":
            return str(part.get_param("report-type") or "").lower()
    return ""


def _status_kind(status: str) -> Kind | None:
    match = _ENHANCED.search(status)
    if match is None:
        return None
    return "permanent" if match.group(1) == "5" else "temporary" if match.group(1) == "4" else "none"


def _recipient(block: Message) -> str:
    for name in ("Original-Recipient", "Final-Recipient", "X-Actual-Recipient"):
        value = _header(block, name)
        if not value:
            continue
        kind, separator, address = value.partition(";")
        address = (address if separator else kind).strip().strip("<>").strip()
        if "@" in address:
            return address.lower()
    return ""


def _block_kind(block: Message) -> Kind | None:
    """One per-recipient block of a delivery-status part; None when it says nothing."""
    action = _header(block, "Action").lower()
    by_status = _status_kind(_header(block, "Status"))
    if action.startswith(("failed", "fail", "error")):
        return "temporary" if by_status == "temporary" else "permanent"
    if action.startswith("delayed"):
        return "temporary"
    if action.startswith(("delivered", "relayed", "expanded")):
        return "none"
    return by_status


def _dsn_blocks(msg: Message) -> list[Message]:
    blocks: list[Message] = []
    for part in _parts(msg):
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks += [b for b in payload if isinstance(b, Message)]
        elif isinstance(payload, str) and payload.strip():
            # Some MTAs (and the email package, for odd line ends) leave the header blocks unparsed.
            blocks += [_parse(chunk.encode("utf-8", "replace")) for chunk in re.split(r"\n\s*\n", payload)]
    return blocks


def _from_dsn(msg: Message) -> BounceVerdict | None:
    """The verdict of the delivery-status parts, or None when there are none that say anything."""
    found: dict[Kind, set[str]] = {"permanent": set(), "temporary": set(), "none": set()}
    diagnostics: list[str] = []
    said = False
    for block in _dsn_blocks(msg):
        block_kind = _block_kind(block)
        if block_kind is None:
            continue
        said = True
        found[block_kind].add(_recipient(block))
        if diagnostic := _header(block, "Diagnostic-Code") or _header(block, "Status"):
            diagnostics.append(diagnostic)
    if not said:
        return None
    diagnostic = "; ".join(dict.fromkeys(diagnostics))[:500]
    failures: tuple[Kind, ...] = ("permanent", "temporary")
    for kind in failures:
        if found[kind]:
            addresses = frozenset(a for a in found[kind] if a)
            return BounceVerdict(kind, addresses, "delivery status notification", diagnostic)
    return BounceVerdict("none", frozenset(), "delivery status notification: no failure", diagnostic)


def _from_flufl(msg: Message) -> BounceVerdict | None:
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # a detector tripping over a malformed message: no verdict from flufl
        log.debug("flufl.bounce failed on a message", exc_info=True, extra={"action": "dsn_flufl_failed"})
        return None

    def decoded(values: frozenset[bytes]) -> frozenset[str]:
        found = (v.decode("ascii", "replace").strip().lower() for v in values)
        return frozenset(a for a in found if _ADDRESS.match(a))  # heuristics also catch garbage

    if failed := decoded(permanent):
        return BounceVerdict("permanent", failed, "flufl.bounce")
    if delayed := decoded(temporary):
        return BounceVerdict("temporary", delayed, "flufl.bounce")
    return None


def _subject(msg: Message) -> str:
    return bare_subject(_header(msg, "Subject"))


def _auto_reply(msg: Message) -> bool:
    return is_auto_reply(lambda name: _header(msg, name) if name in msg else None)


def _decoded_payload(part: Message) -> object:
    try:
        return part.get_payload(decode=True)
    except Exception:  # an undecodable part has no text
        return None


def _text(msg: Message) -> str:
    chunks: list[str] = []
    size = 0
    for part in _parts(msg):
        if part.get_content_maintype() != "text" or size > MAX_SCAN:
            continue
        payload = _decoded_payload(part)
        if isinstance(payload, bytes):
            text = payload.decode("utf-8", "replace")
            chunks.append(text)
            size += len(text)
    return "\n".join(chunks)[:MAX_SCAN]


def _looks_like_bounce(msg: Message) -> bool:
    """From a mailer daemon or the null sender, or with a bounce's subject."""
    sender = _header(msg, "From")
    angle = re.findall(r"<([^<>]*)>", sender)
    daemon = bool(sender) and is_mailer_daemon(angle[-1] if angle else sender)
    null = _header(msg, "Return-Path").strip() == "<>"
    return daemon or null or _subject(msg).startswith(BOUNCE_SUBJECTS)


def _codes(text: str) -> Iterator[tuple[Kind, str]]:
    """Each 4xx/5xx status code in ``text`` (enhanced codes first), with the line it stands on."""
    for pattern in (_ENHANCED, _REPLY_CODE):
        for match in pattern.finditer(text):
            if match.group(1) in "45":
                line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
                yield ("permanent" if match.group(1) == "5" else "temporary"), " ".join(line.split())[:500]


def _from_text(msg: Message) -> BounceVerdict:
    """A bounce nobody could parse: its first status code decides; without one it is permanent."""
    for kind, line in _codes(_text(msg)):
        return BounceVerdict(kind, frozenset(), "status code in the text", line)
    return BounceVerdict("permanent", frozenset(), "unrecognised bounce")


def classify_message(msg: Message, *, null_sender: bool = False) -> BounceVerdict:
    """See the module docstring; ``null_sender``: the envelope sender was ``<>`` (as bounces have)."""
    report_type = _report_type(msg)
    if report_type in _REPORT_NOT_BOUNCE:
        return BounceVerdict("none", why=f"{report_type}, not a bounce")
    if (verdict := _from_dsn(msg)) is not None:
        return verdict
    if (verdict := _from_flufl(msg)) is not None:
        return verdict
    if _looks_like_bounce(msg) or (null_sender and not _auto_reply(msg)):
        return _from_text(msg)
    if _auto_reply(msg):
        return BounceVerdict("none", why="automatic reply")
    return BounceVerdict("none", why="no failure found")


def classify(raw: bytes, *, null_sender: bool = False) -> BounceVerdict:
    """Classify raw message bytes; never raises."""
    try:
        return classify_message(_parse(raw), null_sender=null_sender)
    except Exception as exc:  # untrusted input: an unreadable message is no bounce, and says so
        log.warning("bounce classification failed: %r", exc, extra={"action": "dsn_unreadable"})
        return BounceVerdict("none", why=f"unreadable: {type(exc).__name__}")
