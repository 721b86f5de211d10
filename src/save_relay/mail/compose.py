"""Outgoing mail: Jinja2 templates rendered into messages whose every header is checked for CR/LF."""

from __future__ import annotations

import email.policy
import email.utils
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import BytesParser
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from save_relay.mail.addresses import header_safe
from save_relay.resources import templates_dir

log = logging.getLogger(__name__)

SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)
LANGUAGES = ("nl", "en", "fr")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """One Jinja2 environment; HTML templates are autoescaped, missing variables are errors."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def render(language: str, name: str, context: Mapping[str, Any]) -> Rendered:
    """Render ``templates/<language>/<name>.txt`` whose first line is ``Subject: ...``."""
    lang = language if language in LANGUAGES else "en"
    text = environment().get_template(f"{lang}/{name}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {lang}/{name}.txt must start with a Subject: line")
    subject = " ".join(first.removeprefix("Subject:").split())
    return Rendered(subject=subject, body=body.lstrip("\n"))


def make_message_id(domain: str) -> str:
    return email.utils.make_msgid(domain=domain)


def build_message(
    *,
    sender: str,
    to: str | None,
    rendered: Rendered,
    domain: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> EmailMessage:
    """A text/plain message; raises ValueError if any header value carries CR, LF or NUL."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = header_safe(sender)
    if to is not None:
        message["To"] = header_safe(to)
    message["Subject"] = header_safe(rendered.subject)
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    if reply_to:
        message["Reply-To"] = header_safe(reply_to)
    if in_reply_to:
        reference = header_safe(f"<{in_reply_to.strip('<>')}>")
        message["In-Reply-To"] = reference
        message["References"] = reference
    for name, value in extra_headers:
        message[header_safe(name)] = header_safe(value)
    message.set_content(rendered.body, charset="utf-8", cte="quoted-printable")
    return message


def copy_attachments(original: bytes, into: EmailMessage, limit: int = 50) -> int:
    """Attach the original's attachments to ``into``; a part that cannot be decoded is skipped and logged."""
    try:
        source = BytesParser(policy=email.policy.default).parsebytes(original)
    except Exception:  # a raw message we only keep as evidence must not stop the distribution
        log.warning("could not parse original for attachments", extra={"action": "attachments_skipped"})
        return 0
    copied = 0
    for part in _attachment_parts(source):
        if copied >= limit:
            break
        try:
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            maintype, _, subtype = part.get_content_type().partition("/")
            filename = part.get_filename() or f"attachment-{copied + 1}"
            into.add_attachment(
                payload,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=" ".join(filename.split()),
            )
            copied += 1
        except Exception as exc:  # malformed part: keep going with the others
            log.warning("attachment skipped: %s", exc, extra={"action": "attachment_skipped"})
    return copied


def _attachment_parts(message: Message) -> Iterable[Message]:
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop(0)
        if depth > 30:
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
            continue
        disposition, filename = part.get_content_disposition(), part.get_filename()
        if disposition == "attachment" or (
            filename and (part.get_content_maintype() != "text" or disposition)
        ):
            yield part


def as_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=SMTP_POLICY)
