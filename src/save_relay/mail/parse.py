"""Parse raw inbound mail into a ``ParsedMessage``; never raises, whatever the bytes.

The stdlib parser runs with ``policy.compat32``: it keeps header values raw and does no lazy parsing
that could raise later. Headers are decoded here (8-bit bytes as UTF-8, else Latin-1; RFC 2047 with
``policy.default``'s tolerant unstructured-header parser), parts are walked iteratively with a depth
and a count limit, and every access to the parsed tree is guarded.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser as StdlibHTMLParser
from typing import Any, TypeVar

from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.html_properties import Display, WhiteSpace
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement
from lxml.etree import ParserError
from lxml.html import Element, HTMLParser, document_fromstring
from lxml.html import HtmlElement as LxmlElement

from save_relay.core.addresses import Mailbox, is_mailer_daemon, parse_mailbox, sanitize_header_text

__all__ = ["Attachment", "ParsedMessage", "html_to_text", "parse_message"]

MAX_DEPTH = 50  # nesting of multiparts below the top-level message
MAX_PARTS = 1000
MAX_TEXT = 1_000_000  # characters of text (and of html) kept
MAX_HEADERS = 200  # headers kept in ParsedMessage.headers
MAX_REFERENCES = 100

_T = TypeVar("_T")
_MSG_ID = re.compile(r"<([^<>]*)>")
_AUTO_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
# Present at all: an autoresponder's reply, or list mail (X-Auto-Response-Suppress alone is not enough).
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe")
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_ATTACHED_MESSAGE = frozenset({"message/rfc822", "message/global"})


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body part: its (decoded, path-free) file name or "", type, decoded size and Content-ID."""

    filename: str
    content_type: str
    size: int
    content_id: str | None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What the relay needs from one inbound message; every string is decoded and display-safe."""

    message_id: str | None
    sender: Mailbox | None
    reply_to: Mailbox | None
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    auto_submitted: bool
    from_mailer_daemon: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    defects: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]  # the first MAX_HEADERS, single-line, RFC 2047 left encoded

    def header(self, name: str) -> str | None:
        """The first kept header called ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _safe(func: Callable[[], _T], default: _T) -> _T:
    """``func()``, or ``default`` when the email package trips over hostile input."""
    try:
        return func()
    except Exception:  # parsing untrusted input: any exception means "no usable value"
        return default


def _utf8_or_latin1(raw: bytes) -> str:
    """UTF-8 when the bytes are (mostly: truncated or slightly damaged) UTF-8, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        lossy = raw.decode("utf-8", errors="replace")
        high = sum(1 for byte in raw if byte > 0x7F)
        return lossy if 4 * lossy.count("\ufffd") < high else raw.decode("latin-1")


def _unraw(value: object) -> str:
    """A header value as text: unfolded, undecodable (surrogate-escaped) bytes read as UTF-8 or Latin-1."""
    text = re.sub(r"\r?\n(?=[ \t])", "", str(value))
    return _utf8_or_latin1(text.encode("utf-8", "surrogateescape"))


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words leniently (unknown charsets and bad base64 are defects there)."""
    if "=?" not in value:
        return value
    return _safe(lambda: str(policy.default.header_factory("subject", value[:16_000])), value)


def _decode_text(payload: bytes, charset: str | None) -> str:
    """Body bytes to text: the declared charset, else UTF-8, else the declared one lossily, else Latin-1."""
    for candidate in (charset, "utf-8"):
        if candidate:
            try:
                return payload.decode(candidate)
            except (LookupError, UnicodeError, ValueError, TypeError):
                pass
    if charset and charset.replace("_", "-") not in {"utf-8", "utf8", "us-ascii", "ascii"}:
        try:
            return payload.decode(charset, errors="replace")
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    return _utf8_or_latin1(payload)


# HTML to text: inscriptis (maintained, lays out tables and lists like a browser's text view), with the
# strict CSS profile (no extra indentation of divs and spans), " | " between table cells, and
# blockquotes rendered as "> " lines so that visible_reply() finds quoted text in HTML-only replies.
_QUOTE_TAG = "save-relay-quote"
_CSS = {
    **CSS_PROFILES["strict"],
    _QUOTE_TAG: HtmlElement(
        display=Display.block, whitespace=WhiteSpace.pre, margin_before=1, margin_after=1
    ),
}
_HTML_CONFIG = ParserConfig(css=_CSS, table_cell_separator=" | ")
MAX_QUOTES = 200  # blockquotes rendered as "> " lines; deeper or further ones are plain blocks
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONTROL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127])  # lxml refuses these


class _TooDeep(Exception):
    """libxml2 dropped what is nested deeper than 256 elements."""


def _html_tree(html: str) -> LxmlElement | None:
    html = _XML_DECLARATION.sub("", html[: 4 * MAX_TEXT].translate(_CONTROL), count=1)
    if not html.strip():
        return None
    parser = HTMLParser()
    try:
        tree = document_fromstring(html, parser=parser)
    except ParserError:  # "Document is empty": only comments, or a bare doctype
        return None
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        raise _TooDeep
    return tree


class _PlainText(StdlibHTMLParser):
    """The last resort for HTML that libxml2 or the converter refuse (absurd nesting): the text of
    the data between tags, a line per block, without layout."""

    _SKIP = frozenset({"script", "style", "title", "template", "head"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "h1", "h2"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in self._SKIP
        if tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip = max(0, self.skip - (tag in self._SKIP))

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"[ \t\r\f\v]+", " ", data))


def _plain_text(html: str) -> str:
    converter = _PlainText()
    with contextlib.suppress(Exception):  # html.parser raises AssertionError on some "<![" sections
        converter.feed(html[: 4 * MAX_TEXT])
        converter.close()
    return "\n".join(line.strip() for line in "".join(converter.parts).split("\n"))


def _quote(lines: str) -> str:
    return "\n".join(f"> {line}".rstrip() if line.strip() else ">" for line in lines.strip("\n").split("\n"))


def _render_blockquotes(root: LxmlElement) -> None:
    """Replace each blockquote (innermost first) by a preformatted block of its text in "> " lines."""
    quotes = [q for q in root.iter("blockquote") if q.getparent() is not None][:MAX_QUOTES]
    for quote in reversed(quotes):
        tail, quote.tail = quote.tail, None
        quote.tag = "div"
        rendered = Element(_QUOTE_TAG)
        rendered.text = _quote(Inscriptis(quote, _HTML_CONFIG).get_text())
        rendered.tail = tail
        parent = quote.getparent()
        if parent is not None:
            parent.replace(quote, rendered)


def _tidy(text: str) -> str:
    """Lines without trailing blanks, at most one empty line in a row, none at either end."""
    lines = [line.rstrip() for line in text.replace("\u00a0", " ").split("\n")]
    kept = [line for i, line in enumerate(lines) if line or (i > 0 and lines[i - 1])]
    return "\n".join(kept).strip("\n")


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: script/style dropped, blocks as lines, table cells apart (" | "),
    list items as "* " / "1. " lines, blockquotes as "> " lines."""
    try:
        tree = _html_tree(html)
        if tree is None:
            return ""
        _render_blockquotes(tree)
        return _tidy(Inscriptis(tree, _HTML_CONFIG).get_text())
    except Exception:  # _TooDeep, RecursionError on absurd nesting, a converter bug: the bare text
        return _tidy(_plain_text(html))


def _part_header(part: Message, name: str) -> str | None:
    wanted = name.lower()
    found = _safe(lambda: next((v for k, v in part.raw_items() if k.lower() == wanted), None), None)
    return None if found is None else _unraw(found)


def _msg_id(value: str | None) -> str | None:
    if value is None:
        return None
    match = _MSG_ID.search(value)
    found = "".join((match.group(1) if match else value).split())
    return sanitize_header_text(found, limit=500) or None


def _get_filename(part: Message) -> str | None:
    # compat32 turns 8-bit header bytes into U+FFFD when it reads parameters, so read them from a copy of
    # the two headers that holds the bytes already decoded (raw UTF-8 file names are common).
    holder = Message()
    for name in ("Content-Type", "Content-Disposition"):
        value = _part_header(part, name)
        if value is not None:
            holder[name] = value
    found = holder.get_filename()
    return found if isinstance(found, str) else None


def _filename(part: Message) -> str:
    name = _safe(lambda: _get_filename(part), None)
    if name is None:
        return ""
    name = _decode_words(name).replace("\\", "/").rsplit("/", 1)[-1]
    return sanitize_header_text(name, limit=255)


def _payload(part: Message) -> bytes:
    payload = _safe(lambda: part.get_payload(decode=True), None)
    return payload if isinstance(payload, bytes) else b""


@dataclass
class _Body:
    """What the walk over the parts collects."""

    plain: list[str]
    html: list[str]
    other: list[str]  # last-resort text
    attachments: list[Attachment]
    defects: list[str]

    def add_defects(self, part: Message) -> None:
        no_defects: list[object] = []
        for defect in _safe(lambda: list(part.defects), no_defects):
            self.defects.append(type(defect).__name__)

    def attach(self, part: Message, ctype: str, size: int, filename: str) -> None:
        cid = _part_header(part, "Content-ID")
        cid = sanitize_header_text(cid.strip().strip("<>"), limit=500) if cid else None
        self.attachments.append(Attachment(filename, ctype, size, cid or None))

    def leaf(self, part: Message, ctype: str) -> None:
        filename = _filename(part)
        is_file = bool(filename) or _safe(part.get_content_disposition, None) == "attachment"
        if not is_file and ctype in ("text/plain", "text/html"):
            charset = _safe(part.get_content_charset, None)
            text = _decode_text(_payload(part), charset if isinstance(charset, str) else None)
            (self.plain if ctype == "text/plain" else self.html).append(text)
        elif ctype.startswith("multipart/") or (not is_file and ctype.startswith("text/")):
            # a multipart whose boundary is missing or never found, text/enriched, text/calendar...
            self.other.append(_decode_text(_payload(part), _safe(part.get_content_charset, None)))
        elif is_file or not ctype.startswith(("text/", "message/")):
            self.attach(part, ctype, len(_payload(part)), filename)


def _walk(message: Message) -> _Body:
    body = _Body([], [], [], [], [])
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            body.defects.append("too many parts")
            break
        body.add_defects(part)
        ctype = _safe(part.get_content_type, "")
        if not _MIME_TYPE.fullmatch(ctype):  # RFC 2045 5.2: an invalid type means the default one
            ctype = _safe(part.get_default_type, "text/plain")
        children = _safe(part.get_payload, None)
        if not isinstance(children, list):
            body.leaf(part, ctype)
        elif ctype in _ATTACHED_MESSAGE:
            size = _safe(lambda: len(part.as_bytes()), 0)  # noqa: B023 - called at once
            body.attach(part, ctype, size, _filename(part))
        elif ctype.startswith("message/"):
            pass  # delivery-status, disposition-notification...: neither body nor file
        elif depth >= MAX_DEPTH:
            body.defects.append("nesting too deep")
        else:  # a multipart, whatever its (possibly invalid) subtype
            stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
    return body


def _lines(text: str) -> str:
    """Unix line ends and no NUL (PostgreSQL text columns refuse it)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _is_auto(first: Callable[[str], str | None]) -> bool:
    auto = (first("Auto-Submitted") or "no").split(";")[0].strip().lower()
    precedence = (first("Precedence") or "").strip().lower()
    flagged = any(first(name) is not None for name in _AUTO_HEADERS)
    return auto != "no" or precedence in _AUTO_PRECEDENCE or flagged


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = _safe(lambda: parsedate_to_datetime(value), None)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # "-0000": zone unknown, read as UTC


def _parse(raw: bytes, test_environment: bool) -> ParsedMessage:
    defects: list[str] = []
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        body = _walk(message)
    except Exception as exc:  # e.g. RecursionError from the parser on absurdly deep nesting
        defects.append(f"parse failed: {type(exc).__name__}")
        message = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        body = _Body([], [], [], [], [])
    defects.extend(body.defects)

    index: dict[str, list[str]] = {}
    kept: list[tuple[str, str]] = []
    no_headers: list[tuple[str, str]] = []
    for name, value in _safe(lambda: list(message.raw_items()), no_headers):
        index.setdefault(name.lower(), []).append(value)
        if len(kept) < MAX_HEADERS:
            kept.append((sanitize_header_text(name, 100), sanitize_header_text(_unraw(value), 2000)))

    def first(name: str) -> str | None:
        values = index.get(name.lower())
        return _unraw(values[0]) if values else None

    def mailbox(name: str) -> Mailbox | None:
        values = index.get(name.lower(), [])
        if len(values) > 1:
            defects.append(f"multiple {name} headers")
            return None
        found = parse_mailbox(_unraw(values[0]), test_environment=test_environment) if values else None
        if values and found is None:
            defects.append(f"invalid {name}")
        return found

    sender, reply_to = mailbox("From"), mailbox("Reply-To")
    if "from" not in index:
        defects.append("no From")
    raw_from = first("From")
    if sender is not None:
        from_daemon = is_mailer_daemon(sender.address)
    else:
        angle = re.findall(r"<([^<>]*)>", raw_from or "")
        from_daemon = raw_from is not None and is_mailer_daemon(angle[-1] if angle else raw_from)

    plain = _lines("\n".join(body.plain))
    html = _lines("\n".join(body.html)) or None
    text = plain if plain.strip() else (html_to_text(html) if html else _lines("\n".join(body.other)))
    if len(text) > MAX_TEXT or (html and len(html) > MAX_TEXT):
        defects.append("text truncated")
    refs = [r for r in map(_msg_id, re.findall(r"<[^<>]*>", first("References") or "")) if r]
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[1 - MAX_REFERENCES :]  # keep the thread's root and the latest ancestors
    return ParsedMessage(
        message_id=_msg_id(first("Message-ID")),
        sender=sender,
        reply_to=reply_to,
        subject=sanitize_header_text(_decode_words(first("Subject") or ""), limit=1000),
        date=_date(first("Date")),
        text=text[:MAX_TEXT],
        html=html[:MAX_TEXT] if html else None,
        attachments=tuple(body.attachments),
        auto_submitted=_is_auto(first),
        from_mailer_daemon=from_daemon,
        in_reply_to=_msg_id(first("In-Reply-To")),
        references=tuple(refs),
        defects=tuple(dict.fromkeys(defects))[:100],
        headers=tuple(kept),
    )


def parse_message(raw: bytes | bytearray | memoryview, *, test_environment: bool = False) -> ParsedMessage:
    """Parse raw message bytes; never raises (a hopeless input gives an empty result with a defect).

    ``test_environment`` lets ``.test`` sender domains through (see ``normalize_address``).
    """
    try:
        return _parse(bytes(raw), test_environment)
    except Exception as exc:  # last line of defence: intake must never crash on a message
        nothing: dict[str, Any] = dict.fromkeys(
            ("message_id", "sender", "reply_to", "date", "html", "in_reply_to")
        )
        nothing |= {"subject": "", "text": "", "attachments": (), "references": (), "headers": ()}
        defects = (f"internal error: {type(exc).__name__}",)
        return ParsedMessage(**nothing, auto_submitted=False, from_mailer_daemon=False, defects=defects)
