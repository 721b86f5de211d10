"""Outgoing mail: Jinja2 templates rendered into messages whose every header is checked for CR/LF."""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import quoprimime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from save_relay.core.addresses import header_safe
from save_relay.core.resources import templates_dir
from save_relay.mail.i18n import field_name

log = logging.getLogger(__name__)

SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)
LANGUAGES = ("nl", "en", "fr", "de")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """One Jinja2 environment; HTML templates are autoescaped, missing variables are errors.

    The filter ``field_name`` names a field key in a language: ``missing | map("field_name", "nl")``.
    """
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["field_name"] = field_name
    return env


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
    for name, value in _headers(sender, to, rendered.subject, reply_to, in_reply_to, extra_headers):
        message[name] = value
    message.set_content(rendered.body, charset="utf-8", cte="quoted-printable")
    return message


_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words, single spaces
_ADDR_SPEC = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_MSG_ID = re.compile(r"<[!-;=?-~]+>")  # one <id>: no space, no nested angle brackets
_UNSTRUCTURED = frozenset({"subject", "auto-submitted", "comments"})
_ADDRESS = frozenset({"to", "cc", "reply-to", "from", "sender"})
_MSG_IDS = frozenset({"message-id", "in-reply-to", "references"})
_TEXT_HEADERS = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n"
)


def text_message_bytes(
    *,
    sender: str,
    to: str | None,
    rendered: Rendered,
    domain: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """``as_bytes(build_message(...))``, byte for byte, without building an ``EmailMessage``.

    Composing through ``email`` parses every header again and encodes the body per message (most of
    the CPU of an acknowledgement or a notification). Here a header whose value the policy would
    render unchanged (plain ASCII text, a bare address, a ``<message-id>``) is written as it is; any
    other goes through the policy's own header classes (cached: the From and the moderators repeat).
    """
    headers = _headers(sender, to, rendered.subject, reply_to, in_reply_to, extra_headers)
    return (
        b"".join(_header_line(name, value) for name, value in headers)
        + _TEXT_HEADERS
        + _qp_body(rendered.body)
    )


def _headers(
    sender: str,
    to: str | None,
    subject: str,
    reply_to: str | None,
    in_reply_to: str | None,
    extra_headers: Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """The headers of a notice, in order, each checked by ``header_safe``."""
    headers = [("From", sender), *([("To", to)] if to is not None else [])]
    headers += [("Subject", subject), ("Date", email.utils.formatdate(localtime=False, usegmt=True))]
    if reply_to:
        headers.append(("Reply-To", reply_to))
    if in_reply_to:
        reference = f"<{in_reply_to.strip('<>')}>"
        headers += [("In-Reply-To", reference), ("References", reference)]
    headers += extra_headers
    return [(header_safe(name), header_safe(value)) for name, value in headers]


def _header_line(name: str, value: str) -> bytes:
    key = name.lower()
    if len(name) + len(value) < 900 and (
        (key in _MSG_IDS and _MSG_ID.fullmatch(value))
        or (key in _ADDRESS and _ADDR_SPEC.fullmatch(value))
        or (
            (key in _UNSTRUCTURED or key.startswith("x-"))
            and _PLAIN_TEXT.fullmatch(value)
            and "=?" not in value
        )
    ):
        return f"{name}: {value}\r\n".encode("ascii")
    return _folded(name, value)


@lru_cache(maxsize=512)
def _folded(name: str, value: str) -> bytes:
    """The header as ``EmailMessage`` writes it with ``SMTP_POLICY`` (parsed, then folded)."""
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_store_parse(name, value)[1])


@lru_cache(maxsize=8)
def _qp_body(body: str) -> bytes:
    """The body as ``set_content(body, charset="utf-8", cte="quoted-printable")`` encodes it (one
    notification body serves every moderator)."""
    lines = body.encode("utf-8").splitlines()
    text = (b"\n".join(lines) + b"\n").decode("latin-1")
    encoded = quoprimime.body_encode(text, SMTP_POLICY.max_line_length or 78)
    return encoded.replace("\n", "\r\n").encode("ascii")


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
