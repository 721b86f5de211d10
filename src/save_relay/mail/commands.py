"""Moderator replies: find what the moderator typed, then read the commands at its top.

Pure functions, no database or network. Every word list is a module-level constant, so adding a
language is a one-line change per list. ``mailparser_reply`` is not used: it misses the Dutch
"Op ... schreef Name:" and Apple "het volgende geschreven:" headers and '>' blocks, strips the
indentation of every line, and its regexes backtrack quadratically on long "On ..." lines.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

MAX_TEXT_CHARS = 100_000  # longer input is truncated before any parsing
MAX_LIST_ITEMS = 100  # zones/groups beyond this are dropped, with an error
_MAX_HEADER_CHARS = 400  # quote headers are short; a longer line is never taken for one

#: Our notifications carry one of these lines; everything from it down is ours, not the moderator's.
REPLY_MARKERS: tuple[str, ...] = (
    "----- save-relay: reply above this line -----",
    "----- save-relay: antwoord boven deze lijn -----",
    "----- save-relay: répondez au-dessus de cette ligne -----",
)

# Quote headers, signatures and commands: one line per language (en, nl, fr, de), compared
# case- and accent-insensitively.
#: "On <date>, <name> wrote:": a line starting with one of these words and holding one of the verbs.
ATTRIBUTION_STARTS: tuple[str, ...] = ("on", "op", "le", "am")
ATTRIBUTION_VERBS: tuple[str, ...] = ("wrote", "schreef", "geschreven", "a écrit", "schrieb")
#: Outlook header blocks: consecutive lines "From: ...", "Sent: ...", "To: ..." (a From and two more).
FROM_KEYS: tuple[str, ...] = ("from", "van", "de", "von")
HEADER_KEYS: tuple[str, ...] = (
    *("sent", "date", "to", "cc", "subject"),
    *("verzonden", "datum", "aan", "onderwerp"),
    *("envoyé", "à", "a", "objet", "sujet"),
    *("gesendet", "an", "betreff"),
)
#: "-----Original Message-----" and friends, compared without the dashes.
ORIGINAL_MESSAGE: tuple[str, ...] = (
    *("original message", "forwarded message", "begin forwarded message"),
    *("oorspronkelijk bericht", "origineel bericht", "doorgestuurd bericht"),
    *("message d'origine", "message transféré", "début du message réexpédié"),
    *("ursprüngliche nachricht", "weitergeleitete nachricht"),
)
#: Mobile signatures ("Sent from my iPhone"): a prefix plus at most four words, without a comma.
SIGNATURE_PREFIXES: tuple[str, ...] = (
    *("sent from my", "sent from", "get outlook for"),
    *("verzonden vanaf", "verstuurd vanaf", "verzonden vanuit", "verzonden met", "outlook voor"),
    *("envoyé de mon", "envoyé depuis", "envoyé à partir de"),
    *("von meinem", "gesendet von"),
)
APPROVE_WORDS: frozenset[str] = frozenset(
    {
        *("approve", "approved", "ok", "okay", "yes"),
        *("goedgekeurd", "goedkeuren", "akkoord", "ja", "verstuur", "oké"),
        *("approuver", "approuvé", "accepter"),
    }
)
REJECT_WORDS: frozenset[str] = frozenset(
    {
        *("reject", "rejected", "no"),
        *("afwijzen", "afgewezen", "weigeren", "geweigerd", "nee"),
        *("rejeter", "refuser"),
    }
)
EDIT_WORDS: frozenset[str] = frozenset({"edit", "bewerk", "wijzig", "modifier"})
CREDIT_WORDS: frozenset[str] = frozenset({"credit", "vermeld", "met bronvermelding", "citer"})
ZONE_WORDS: frozenset[str] = frozenset({"zones", "zone"})
GROUP_WORDS: frozenset[str] = frozenset({"groups", "group", "groepen", "groep", "groupes", "groupe"})
#: "A, B en C": a conjunction that may stand for the last separator of a list.
LIST_CONJUNCTIONS: tuple[str, ...] = ("en", "and", "et")

_Kind = Literal["approve", "reject", "edit", "credit", "zones", "groups"]


def _fold(text: str) -> str:
    """Casefold and drop accents: 'Approuvé' -> 'approuve'."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _any_of(words: tuple[str, ...] | frozenset[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_COMMANDS: tuple[tuple[_Kind, frozenset[str]], ...] = (
    *(("approve", APPROVE_WORDS), ("reject", REJECT_WORDS), ("edit", EDIT_WORDS)),
    *(("credit", CREDIT_WORDS), ("zones", ZONE_WORDS), ("groups", GROUP_WORDS)),
)
_KEYWORDS: dict[str, _Kind] = {_fold(word): kind for kind, words in _COMMANDS for word in words}
_MARKER_CORES = tuple(" ".join(_fold(m).strip("- ").split()) for m in REPLY_MARKERS)
_SIGNATURE_PREFIXES = tuple(_fold(p) for p in SIGNATURE_PREFIXES)
_ORIGINAL_MESSAGE = frozenset(_fold(m) for m in ORIGINAL_MESSAGE)
# Every pattern is linear: no nested or adjacent unbounded repeats over the same characters.
_ATTR_START = re.compile(rf"(?:{_any_of(ATTRIBUTION_STARTS)})\s", re.IGNORECASE)
_ATTR_VERB = re.compile(rf"\b(?:{_any_of(ATTRIBUTION_VERBS)})\b", re.IGNORECASE)
_ATTR_END = re.compile(rf"\b(?:{_any_of(ATTRIBUTION_VERBS)})\s?:?$", re.IGNORECASE)
_FROM = re.compile(rf"(?:{_any_of(FROM_KEYS)})\s?:", re.IGNORECASE)
_HEADER = re.compile(rf"(?:{_any_of(HEADER_KEYS)})\s?:", re.IGNORECASE)
_HEADER_ANYWHERE = re.compile(rf"(?<!\w)(?:{_any_of(HEADER_KEYS)})\s?:", re.IGNORECASE)
_WORDS = re.compile(r"([^\W\d_]+)(?:[ \t]+([^\W\d_]+))?")
_SEPARATOR = re.compile(r"[ \t]*[:=,\-–—]?[ \t]*")
_CONJUNCTION = re.compile(rf"\s(?:{_any_of(LIST_CONJUNCTIONS)})\s", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _lines(text: str) -> list[str]:
    """Bounded, NFC-normalised lines without CR or invisible characters."""
    text = unicodedata.normalize("NFC", text[:MAX_TEXT_CHARS].translate(_INVISIBLE))
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_attribution(text: str, quoted_below: bool = False) -> bool:
    """'On 24/11/2026 10:12, Name wrote:', 'Name <a@b> schrieb am 24.11.2026:', '2026-11-24 Name <a@b>:'.

    A date or an address is required, so that a sentence of an edited report is not taken for one;
    just above a '>' block (``quoted_below``) 'Name wrote:' is enough.
    """
    core = text.strip("-—= ")
    if not (quoted_below or any(c.isdigit() or c == "@" for c in core)):
        return False
    if _ATTR_VERB.search(core) is None:
        return core[:1].isdigit() and "@" in core and (core.endswith(">:") or quoted_below)
    if _ATTR_START.match(core):
        return core.endswith(":") or _ATTR_END.search(core) is not None
    return core.endswith(":") and ("@" in core or quoted_below)


def _is_header(lines: list[str], i: int, s: str) -> bool:
    """Whether line ``i`` (stripped: ``s``) starts a quote header: attribution, Outlook block, ..."""
    h = s.replace("*", "").strip()  # html-to-text renders Outlook's bold "From:" as "*From:*"
    if _fold(h.strip("-_=: ")) in _ORIGINAL_MESSAGE:
        return True
    if _ATTR_START.match(h) or _ATTR_VERB.search(h) or h[:1].isdigit():  # wrapped over up to 3 lines
        text = h
        for line in lines[i + 1 : i + 3]:
            if _is_attribution(text) or not line.strip() or _is_quoted(line):
                break
            text = f"{text} {line.strip()[:_MAX_HEADER_CHARS]}"
        if _is_attribution(text):
            return True
    if not (_FROM.match(h) or _HEADER.match(h)):
        return False
    if _FROM.match(h) and len(_HEADER_ANYWHERE.findall(h)) >= 2:  # "From: x Sent: y To: z" on one line
        return True
    block = []  # Outlook's header block: consecutive non-blank lines, From and two more keys
    for line in lines[i : i + 8]:
        if not (b := line.strip().replace("*", "")):
            break
        block.append(b)
    keys = sum(_FROM.match(b) is not None or _HEADER.match(b) is not None for b in block)
    return keys >= 3 and any(_FROM.match(b) for b in block)


def _is_signature(s: str) -> bool:
    low, words = _fold(s), len(s.split())
    return s == "--" or (
        "," not in s and any(low.startswith(p) and words <= len(p.split()) + 4 for p in _SIGNATURE_PREFIXES)
    )


def _above(lines: list[str], i: int) -> int:
    """Move a cut at ``i`` up over the blank and separator lines ('_____', '-----') directly above it."""
    while i > 0 and (not (s := lines[i - 1].strip()) or (len(s) >= 2 and not s.strip("_-=*"))):
        i -= 1
    return i


def _quote_start(lines: list[str], i: int) -> int:
    """Cut for a '>' block at ``i``, with the attribution line just above it in any language."""
    k = _above(lines, i) - 1
    s = lines[k].strip() if k >= 0 else ""
    unknown_language = s.endswith(":") and len(s.split()) >= 3 and any(c.isdigit() or c == "@" for c in s)
    quoted = lines[i].strip()
    wrapped = f"{s} {quoted}" if len(quoted.split()) <= 2 else s  # 'Am ... schrieb X <a@b' + '>:'
    attribution = any(_is_attribution(t, quoted_below=True) for t in (s, wrapped))
    if 0 < len(s) <= _MAX_HEADER_CHARS and (unknown_language or attribution):
        return _above(lines, k)
    return _above(lines, i)


def _cut(lines: list[str]) -> int:
    """Index of the first line that is not the moderator's own text."""
    for i, line in enumerate(lines):
        if _is_quoted(line):
            return _quote_start(lines, i)
        s = line.strip()
        if 0 < len(s) <= _MAX_HEADER_CHARS and (
            any(core in " ".join(_fold(s).split()) for core in _MARKER_CORES)
            or _is_signature(s)
            or _is_header(lines, i, s)
        ):
            return _above(lines, i)
    return len(lines)


def _join(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip()


def visible_reply(text: str) -> str:
    """Only what the moderator typed: cut at the first quote header, '>' block, signature or marker.

    A bottom-posted reply (nothing above a '>' quoted block, text below it) yields the text below.
    """
    lines = _lines(text)
    cut = _cut(lines)
    if top := _join(lines[:cut]):
        return top
    quote = next((k for k in range(cut, min(cut + 4, len(lines))) if _is_quoted(lines[k])), None)
    if quote is None:
        return ""
    while quote < len(lines) and (_is_quoted(lines[quote]) or not lines[quote].strip()):
        quote += 1
    rest = lines[quote:]
    return _join(rest[: _cut(rest)])


@dataclass(frozen=True, slots=True)
class ModeratorCommand:
    """What a moderator's reply asks for; see :func:`parse_commands`."""

    action: Literal["approve", "reject"] | None
    reason: str | None = None
    zones: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    edit_text: str | None = None
    credit: bool = False
    errors: tuple[str, ...] = ()

    @property
    def is_decision(self) -> bool:
        """Approve or reject was resolved and nothing in the reply was wrong."""
        return self.action is not None and not self.errors


@dataclass(slots=True)
class _State:
    kinds: set[_Kind] = field(default_factory=set)
    reason: str | None = None
    zones: list[str] | None = None
    groups: list[str] | None = None
    errors: list[str] = field(default_factory=list)


def _keyword(line: str) -> tuple[_Kind, str] | None:
    """The command a line starts with (one or two words), and the rest of the line after a separator.

    Zones, groups and edit text on the command's line need a ':' or '=', so that a sentence such as
    "Zone Noord heeft dit al gemeld" or "Wijzig de tekst" is not read as a command.
    """
    m = _WORDS.match(line)
    if m is None:
        return None
    end = m.end()
    kind = _KEYWORDS.get(_fold(f"{m.group(1)} {m.group(2)}")) if m.group(2) else None
    if kind is None:
        kind, end = _KEYWORDS.get(_fold(m.group(1))), m.end(1)
    sep = _SEPARATOR.match(line, end)
    if kind is None or sep is None:
        return None
    rest = line[sep.end() :].strip()
    if rest and kind in ("zones", "groups", "edit") and sep.group().strip() not in (":", "="):
        return None
    return kind, rest


def _split_list(text: str) -> list[str]:
    """'A, B; C en D' -> ['A', 'B', 'C', 'D']: split, stripped, without empty items."""
    items = re.split(r"[,;]", text.rstrip(".!? \t"))
    if conjunctions := list(_CONJUNCTION.finditer(items[-1])):
        last = conjunctions[-1]
        items[-1:] = [items[-1][: last.start()], items[-1][last.end() :]]
    return [item.strip() for item in items if item.strip()]


def _apply(state: _State, kind: _Kind, rest: str) -> None:
    """Record one command line (not edit) in ``state``."""
    state.kinds.add(kind)
    if kind == "reject" and state.reason is None and any(c.isalnum() for c in rest):
        state.reason = rest
    elif kind in ("zones", "groups"):
        items = _split_list(rest)
        if not items:
            state.errors.append(f"{kind}: no {kind} given")
        unique: dict[str, str] = {}  # case-insensitive, first spelling and order kept
        for item in [*(getattr(state, kind) or []), *items]:
            unique.setdefault(item.casefold(), item)
        if len(unique) > MAX_LIST_ITEMS:
            state.errors.append(f"{kind}: more than {MAX_LIST_ITEMS} given")
        if unique:
            setattr(state, kind, list(unique.values())[:MAX_LIST_ITEMS])


def parse_commands(visible: str) -> ModeratorCommand:
    """Read the commands at the top of a moderator's visible reply (see :func:`visible_reply`).

    One command per line, case-insensitive, trailing punctuation and blank lines ignored: an approve
    word; a reject word with an optional reason on the same line; ``zones:``/``groups:`` lists; a
    credit word; an edit word, whose following text (all of it) replaces the report's text.
    Reading stops at the first line that is not a command: free text after a command (a greeting)
    is ignored, an unknown first line is an error. A reply with no approve/reject word but with
    edit, zones, groups or credit counts as approve: saying where or how to send it means send it.
    Approve and reject together resolve to no action, with an error.
    """
    state, edit_text = _State(), None
    lines = _lines(visible)
    for i, raw in enumerate(lines):
        if not (line := raw.strip()):
            continue
        if (hit := _keyword(line)) is None:
            if not state.kinds:
                state.errors.append(f"unknown command: {line.split()[0][:40]!r}")
            break
        kind, rest = hit
        if kind == "edit":
            state.kinds.add(kind)
            if not (edit_text := _join([rest, *lines[i + 1 :]]) or None):
                state.errors.append("edit: no text given")
            break
        _apply(state, kind, rest)
    if not state.kinds and not state.errors:
        state.errors.append("empty reply: no command given")
    action: Literal["approve", "reject"] | None = None
    if {"approve", "reject"} <= state.kinds:
        state.errors.insert(0, "both approve and reject given")
    elif state.kinds:
        action = "reject" if "reject" in state.kinds else "approve"
    return ModeratorCommand(
        action=action,
        reason=state.reason if action == "reject" else None,
        zones=tuple(state.zones) if state.zones else None,
        groups=tuple(state.groups) if state.groups else None,
        edit_text=edit_text,
        credit="credit" in state.kinds,
        errors=tuple(state.errors),
    )


def first_word(visible: str) -> str | None:
    """The lowercased first word of the first non-empty line (for request/canvass replies), if any."""
    for line in _lines(visible):
        if line.strip():
            return line.split()[0].strip(string.punctuation).lower() or None
    return None
