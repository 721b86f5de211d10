"""Attachments read from a raw message kept whole (a report's photos, a canvass answer's stills).

Messages are stored as received (``inbound_messages.raw``); their attachments are numbered 1, 2, ...
in the order found here: the order of ``canvass_answers.attachments`` and of a report's attachments,
used by ``save-relay canvass attachment ANSWER N`` and ``queue attachment REF N``.
"""

from __future__ import annotations

import email.policy
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any

from save_relay.mail.compose import _attachment_parts  # the same parts a distribution carries over

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 50
_UNSAFE = re.compile(r"[^\w.\-+ ()]+")
# A part is an attachment by ``Content-Disposition: attachment`` or by a file name (the ``filename``
# parameter there or ``name`` in Content-Type); parameter names are never encoded, so a mail without
# either word has no attachment and need not be parsed (most answers are a few lines of text).
_MAYBE_ATTACHED = re.compile(rb"attachment|name", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Extracted:
    """One attachment: a path-free file name (never empty), its MIME type, its decoded bytes."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "size": len(self.data)}


def safe_filename(name: str, fallback: str) -> str:
    """A file name without folders or odd characters, usable on any disk."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", " ".join(base.split())).strip(" ._")
    return cleaned[:120] or fallback


def extract(raw: bytes, about: Mapping[str, Any] | None = None) -> list[Extracted]:
    """The attachments of ``raw`` in order; a part that cannot be decoded is skipped (and logged, with
    ``about``'s fields: the report's ``reference`` or the answer's ``canvass_id``)."""
    fields = dict(about or {})
    if not _MAYBE_ATTACHED.search(raw):
        return []
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
    except Exception:  # evidence we keep whole; a broken one simply has no attachments to list
        log.warning(
            "mail not parseable for attachments", extra={"action": "attachments_unreadable", **fields}
        )
        return []
    found: list[Extracted] = []
    for part in _attachment_parts(message):
        if len(found) >= MAX_ATTACHMENTS:
            break
        try:
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            name = safe_filename(part.get_filename() or "", f"attachment-{len(found) + 1}")
            found.append(Extracted(name, part.get_content_type(), payload))
        except Exception as exc:  # a malformed part: keep the others
            log.warning("attachment skipped: %s", exc, extra={"action": "attachment_skipped", **fields})
    return found
