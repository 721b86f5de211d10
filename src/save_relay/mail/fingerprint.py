"""A report's content fingerprint: what makes two messages "the same message again".

A mail loop, a client that sends twice or a reporter who presses Send again produces a second message with
the same subject, text and files but new headers (Received, Date, often Message-ID), so the raw bytes'
SHA-256 differs. The fingerprint hashes what the reporter wrote: the subject, the text with line endings
and trailing blanks normalised, and each attachment's name, type and size (the bytes are not at hand
without decoding them again, and a different photo of the same name and size is very unlikely).
"""

from __future__ import annotations

import hashlib
import json

from save_relay.mail.parse import ParsedMessage


def content_digest(parsed: ParsedMessage) -> str:
    """The SHA-256 (hex) of the message's subject, normalised text and attachment list."""
    text = "\n".join(line.rstrip() for line in parsed.text.strip().splitlines())
    files = [[a.filename, a.content_type, a.size] for a in parsed.attachments]
    canonical = json.dumps([parsed.subject.strip(), text, files], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
