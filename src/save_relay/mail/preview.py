"""The text subscribers get: the reporter's text without their signature and identifying details.

Pure functions, no database. :func:`preview_text` is decided when a report is announced and shown to
the moderator as it is (DESIGN, invariant 7): what it removed is listed, so the moderator can judge it
and, with ``bewerk``, change it.

Signatures are found by our own small rules rather than ``talon`` (its signature detection is a
trained classifier for English mail, unmaintained since 2017, pinned to old scikit-learn, and knows
neither Dutch nor French closing formulas). The rules, in this order, on the reporter's own text
(above a quoted or forwarded message, which is kept):

1. mobile-client footers ("Sent from my iPhone", "Verzonden vanaf mijn iPhone", "Envoyé de mon iPhone")
   are removed wherever they stand;
2. everything from a ``-- `` delimiter line on is the signature;
3. else from the last closing formula ("Met vriendelijke groeten", "Cordialement", "Kind regards",
   "Mit freundlichen Grüßen", ...) on, when at most ``_MAX_SIGNATURE_LINES`` short lines follow it;
4. else a last paragraph of short lines that starts with the sender's name.

Then, in the whole text, the sender's name, company, street, known phone numbers and e-mail
addresses, every address of the sender's domain and every phone number (Belgian and international
formats) are replaced by a marker in the network's language ("[verwijderd]"). Vehicle plates
(2-XYZ-987), times, dates and amounts are not phone numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain

from save_relay.mail.commands import SIGNATURE_PREFIXES, quote_start
from save_relay.mail.i18n import Removed, removed_marker

__all__ = ["KnownDetails", "Preview", "RemovedItem", "preview_text"]

MAX_TEXT_CHARS = 200_000  # a longer body is cut before any rule runs
_MAX_SIGNATURE_LINES = 10  # non-empty lines after a closing formula or in a trailing name paragraph
_MAX_SIGNATURE_LINE = 100  # characters; a longer line is prose, not a signature
_MIN_DETAIL = 3  # shorter known details ("NV", "Jo") are never searched for

#: Closing formulas (nl, fr, en, de), compared case- and accent-insensitively, alone on their line or
#: followed by a comma and a name ("Groeten, Jan").
CLOSINGS: tuple[str, ...] = (
    *("met vriendelijke groeten", "met vriendelijke groet", "vriendelijke groeten", "vriendelijke groet"),
    *("met collegiale groeten", "hartelijke groeten", "beste groeten", "groeten", "groetjes", "groet"),
    *("mvg", "m.v.g.", "m.v.g", "vg"),
    *("cordialement", "bien cordialement", "bien à vous", "bien à toi", "salutations", "amicalement"),
    *("meilleures salutations", "sincères salutations", "veuillez agréer"),
    *("kind regards", "best regards", "warm regards", "regards", "sincerely", "yours sincerely"),
    *("yours faithfully", "best wishes", "cheers", "thanks", "many thanks", "thank you"),
    *("mit freundlichen grüßen", "mit freundlichem gruß", "freundliche grüße", "viele grüße"),
    *("beste grüße", "liebe grüße", "grüße", "gruß", "mfg", "lg"),
)
#: Mobile-client footers: the command parser's prefixes plus the German "Von meinem iPhone gesendet".
FOOTER_PREFIXES: tuple[str, ...] = (*SIGNATURE_PREFIXES, "gesendet von meinem", "gesendet mit")
#: Free-mail domains: there, only the sender's own known addresses are removed, not the whole domain.
FREEMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        *("gmail.com", "googlemail.com", "hotmail.com", "hotmail.be", "outlook.com", "outlook.be"),
        *("live.com", "live.be", "yahoo.com", "yahoo.fr", "icloud.com", "me.com", "msn.com"),
        *("telenet.be", "skynet.be", "proximus.be", "scarlet.be", "orange.fr", "free.fr", "gmx.de"),
        *("web.de", "t-online.de", "proton.me", "protonmail.com"),
    }
)
#: Legal forms dropped from a company name so that "Metaalwerken Vos" is found as well.
LEGAL_FORMS: tuple[str, ...] = (
    *("nv", "bv", "bvba", "cvba", "vzw", "sa", "sprl", "srl", "scrl", "asbl", "sas", "sarl"),
    *("gmbh", "ag", "kg", "ltd", "llc", "inc", "plc"),
)


@dataclass(frozen=True, slots=True)
class KnownDetails:
    """What the relay knows about the sender (from their subscriber record); all optional."""

    company: str = ""
    contact: str = ""
    street: str = ""
    phones: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # e-mail addresses


@dataclass(frozen=True, slots=True)
class RemovedItem:
    """One removed part: its kind and the text removed (shown to the moderator, never sent on)."""

    kind: Removed
    text: str


@dataclass(frozen=True, slots=True)
class Preview:
    """The text a distribution sends, and what was taken out of the reporter's text for it."""

    text: str
    removed: tuple[RemovedItem, ...]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


_CLOSINGS = tuple(sorted({_fold(c) for c in CLOSINGS}, key=len, reverse=True))
_FOOTERS = tuple(_fold(p) for p in FOOTER_PREFIXES)
_LEGAL = re.compile(rf"[\s,]+(?:{'|'.join(LEGAL_FORMS)})\.?$", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})(?![\w-])")
# A phone number: international (+32 / 0032, optionally "(0)") or national (leading 0), then groups of
# digits with at most one separator (space, '.', '/', '-') or " / " between them. Digits are counted
# and dates refused afterwards (see _is_phone). Every repeat is bounded: no catastrophic backtracking.
_PHONE = re.compile(
    r"(?<![\w+/.,-])"
    r"(?:(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?\(0\))?[ .\/-]?\d{1,4}|0\d{1,4}|\(0\d{1,4}\))"
    r"(?:(?:[ .\/-]| / )?\d{2,4}){1,5}"
    r"(?![\w-]|[.,/]\d)"
)
_DATE = re.compile(r"\(?\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})\b")
_SEPARATOR_LINE = re.compile(r"[-_=*~ ]{2,}")


def _is_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return 9 <= digits <= 15 and _DATE.match(candidate) is None


def _is_footer(line: str) -> bool:
    low, words = _fold(line), len(line.split())
    return "," not in line and any(low.startswith(p) and words <= len(p.split()) + 4 for p in _FOOTERS)


def _is_closing(line: str) -> bool:
    """'Met vriendelijke groeten,', 'MVG', 'Groeten, Jan', 'Bien à vous.': a closing formula line."""
    low = _fold(line).rstrip(",.!:; ")
    for closing in _CLOSINGS:
        if low == closing:
            return True
        rest = low.removeprefix(closing)
        if rest != low and rest[:1] in (",", " ") and len(rest.split()) <= 3 and closing not in ("vg", "lg"):
            return "," in rest[:2] or len(closing.split()) >= 2
    return False


def _short_block(lines: list[str]) -> bool:
    filled = [line for line in lines if line.strip()]
    return len(filled) <= _MAX_SIGNATURE_LINES and all(len(line) <= _MAX_SIGNATURE_LINE for line in filled)


def _names(display_name: str, known: KnownDetails) -> list[str]:
    """The sender's name spellings: display name and contact, also as "Surname First"."""
    names: list[str] = []
    for name in (display_name, known.contact):
        name = " ".join(name.replace('"', " ").split())
        if len(name) >= _MIN_DETAIL and "@" not in name and any(c.isalpha() for c in name):
            names.append(name)
            parts = name.split()
            if len(parts) == 2:
                names.append(f"{parts[1]} {parts[0]}")
    return names


def _signature_start(own: list[str], names: list[str]) -> int | None:
    """Where the signature of the reporter's own text begins, by rules 2-4 of the module docstring."""
    for i, line in enumerate(own):
        if line.rstrip() in ("-- ", "--") or line == "-- ":
            return i
    for i in range(len(own) - 1, -1, -1):
        if 0 < len(own[i].strip()) <= _MAX_SIGNATURE_LINE and _is_closing(own[i].strip()):
            return i if _short_block(own[i + 1 :]) else None
    end = len(own)
    while end > 0 and not own[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and own[start - 1].strip():
        start -= 1
    first = _fold(own[start]) if start < end else ""
    if start > 0 and _short_block(own[start:end]) and any(first.startswith(_fold(n)) for n in names):
        return start
    return None


def _detail_patterns(
    display_name: str, known: KnownDetails, domain: str
) -> list[tuple[Removed, re.Pattern[str]]]:
    """Patterns for the sender's own details, longest first so that a company wins over a name in it."""
    found: list[tuple[Removed, str]] = [(Removed.NAME, n) for n in _names(display_name, known)]
    company = " ".join(known.company.split())
    for variant in (company, _LEGAL.sub("", company)):
        if len(variant) >= _MIN_DETAIL:
            found.append((Removed.COMPANY, variant))
    street = " ".join(known.street.split())
    for variant in (street, street.split(",")[0]):
        if len(variant) >= _MIN_DETAIL and any(c.isdigit() for c in variant):
            found.append((Removed.STREET, variant))  # a street without its number is a place, kept
    for address in known.addresses:
        if "@" in address:
            found.append((Removed.EMAIL, address.strip()))
    patterns: list[tuple[Removed, re.Pattern[str]]] = []
    for kind, text in sorted(set(found), key=lambda item: len(item[1]), reverse=True):
        words = r"[\s,]+".join(re.escape(w) for w in text.split())
        patterns.append((kind, re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)))
    for phone in known.phones:  # its last eight digits, whatever is written between and before them
        digits = [c for c in phone if c.isdigit()][-8:]
        if len(digits) == 8:
            body = r"[ ./()-]{0,3}".join(digits)
            patterns.append(
                (
                    Removed.PHONE,
                    re.compile(
                        rf"(?<![\d+])(?:(?:\+|00)\d{{1,3}}[ ./()-]{{0,4}})?(?:0[ ./()-]{{0,3}})?{body}(?!\d)"
                    ),
                )
            )
    if domain and domain not in FREEMAIL_DOMAINS:
        site = re.escape(domain)
        patterns.append((Removed.EMAIL, re.compile(rf"[\w.+-]{{1,64}}@{site}(?![\w-]|\.\w)", re.I)))
        host = rf"(?<![\w.@/-])(?:https?://)?(?:[\w-]{{1,63}}\.){{0,5}}{site}(?![\w-]|\.\w)(?:/[^\s<>)\]]*)?"
        patterns.append((Removed.WEBSITE, re.compile(host, re.I)))
    return patterns


class _Scrubber:
    """Replaces details inside lines and keeps what it removed, in order and once each."""

    def __init__(self, marker: str, patterns: list[tuple[Removed, re.Pattern[str]]]) -> None:
        self.marker = marker
        self.patterns = patterns
        self.removed: dict[tuple[Removed, str], None] = {}

    def note(self, kind: Removed, text: str) -> None:
        self.removed.setdefault((kind, text.strip()), None)

    def _replacer(self, kind: Removed, *, check_phone: bool = False) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            if check_phone and not _is_phone(match.group()):
                return match.group()
            self.note(kind, match.group())
            return self.marker

        return replace

    def line(self, text: str) -> str:
        for kind, pattern in self.patterns:
            text = pattern.sub(self._replacer(kind), text)
        return _PHONE.sub(self._replacer(Removed.PHONE, check_phone=True), text)


def preview_text(
    body: str,
    *,
    display_name: str = "",
    sender_address: str = "",
    known: KnownDetails | None = None,
    language: str = "en",
) -> Preview:
    """The text subscribers get for a report whose text is ``body``, and what was removed from it.

    ``display_name`` is the From header's name, ``sender_address`` its address (its domain's addresses
    are removed, unless it is a free-mail domain), ``known`` the sender's subscriber record, and
    ``language`` the network's (for the "[verwijderd]" marker). See the module docstring for the rules.
    """
    known = known or KnownDetails()
    lines = body[:MAX_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    own_end = quote_start(lines)
    domain = sender_address.rpartition("@")[2].strip().lower().rstrip(".")
    scrubber = _Scrubber(removed_marker(language), _detail_patterns(display_name, known, domain))
    own: list[str] = []
    for line in lines[:own_end]:
        if line.strip() and _is_footer(line.strip()):
            scrubber.note(Removed.MOBILE_FOOTER, line)
        else:
            own.append(line)
    start = _signature_start(own, _names(display_name, known))
    if start is not None:
        block = "\n".join(line.rstrip() for line in own[start:]).strip("\n")
        if block.strip():
            scrubber.note(Removed.SIGNATURE, block)
        own = own[:start]
    while own and (not own[-1].strip() or _SEPARATOR_LINE.fullmatch(own[-1].strip())):
        own.pop()
    quoted = lines[own_end:]
    kept = [
        scrubber.line(line)
        for line in chain(own, [""] if own and quoted and quoted[0].strip() else [], quoted)
    ]
    text = "\n".join(line.rstrip() for line in kept).strip("\n")
    removed = tuple(RemovedItem(kind, text) for kind, text in scrubber.removed)
    return Preview(text=text, removed=removed)
