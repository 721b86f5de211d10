"""Our Message-IDs name their report, so a reply to the plain network address finds it. Pure.

Every mail about a report that goes to a subscriber or to the reporter (a distribution copy, the
acknowledgement, the outcome) has the Message-ID ``<save-relay.REF.RANDOM@domain>``. A reply names it in
``In-Reply-To`` or ``References``, even from a mail program that ignores our Reply-To or when the
subscriber writes to the network address by hand from the thread: the intake then stores the mail as a
follow-up, never as a new report (``intake/service.py``), and the processor looks the reference up.

Only the header block is read, by a linear pattern: the intake calls this for every post.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "save-relay"
_HEADER_LIMIT = 65_536  # a header block longer than this is not searched further
_THREAD_HEADER = re.compile(rb"^(?:in-reply-to|references)[ \t]*:", re.IGNORECASE)
_OURS = re.compile(r"<save-relay\.([A-Za-z0-9-]{1,40})\.[A-Za-z0-9.]{1,80}@([A-Za-z0-9.-]{1,253})>")


def message_id(reference: str, domain: str, tag: str | None = None) -> str:
    """``<save-relay.REF.[tag.]RANDOM@domain>``: a fresh Message-ID that names ``reference``."""
    middle = f"{tag}." if tag else ""
    return f"<{PREFIX}.{reference}.{middle}{secrets.token_hex(8)}@{domain}>"


def _thread_headers(raw: bytes) -> str:
    """The values of In-Reply-To and References in ``raw``'s header block, unfolded, as text."""
    head = raw[:_HEADER_LIMIT]
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=len(head))
    values: list[bytes] = []
    taking = False
    for line in head[:end].splitlines():
        if line[:1] in (b" ", b"\t"):
            if taking:
                values.append(line)
            continue
        taking = bool(_THREAD_HEADER.match(line))
        if taking:
            values.append(line.split(b":", 1)[1])
    return b" ".join(values).decode("ascii", "replace")


def references_named(raw: bytes, domain: str, reference_prefix: str) -> list[str]:
    """The report references of this network (``reference_prefix``, ``domain``) that ``raw``'s
    In-Reply-To and References name through our Message-IDs, the last named first (References lists
    a thread oldest first), without repeats."""
    found: list[str] = []
    wanted = re.compile(rf"{re.escape(reference_prefix)}-\d{{4}}-\d{{1,12}}", re.IGNORECASE)
    for match in reversed(list(_OURS.finditer(_thread_headers(raw)))):
        reference, at = match.group(1), match.group(2)
        if at.lower() == domain.lower() and wanted.fullmatch(reference) and reference not in found:
            found.append(reference)
    return found
