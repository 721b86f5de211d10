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
from itertools import pairwise
from typing import Literal

from save_relay.core.addresses import normalize_address
from save_relay.core.tlp import Label
from save_relay.core.tlp import parse as parse_label
from save_relay.mail.i18n import REPLY_MARKER, Reason, Refusal, reason_text

MAX_TEXT_CHARS = 100_000  # longer input is truncated before any parsing
MAX_LIST_ITEMS = 100  # zones/groups beyond this are dropped, with an error
_MAX_HEADER_CHARS = 400  # quote headers are short; a longer line is never taken for one

#: Our notifications carry one of these lines; everything from it down is ours, not the moderator's.
#: English first (``REPLY_MARKERS[0]``), then every other language of ``i18n.REPLY_MARKER``.
REPLY_MARKERS: tuple[str, ...] = (REPLY_MARKER["en"], *(m for k, m in REPLY_MARKER.items() if k != "en"))

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
# Commands: a whole line of these words (one to three words), in nl, fr, en and de.
APPROVE_WORDS: frozenset[str] = frozenset(
    {
        *("approve", "approved", "ok", "okay", "yes"),
        *("goedgekeurd", "goedkeuren", "akkoord", "ja", "verstuur", "oké"),
        *("approuver", "approuvé", "accepter", "d'accord", "oui"),
        *("genehmigen", "genehmigt", "einverstanden"),
    }
)
REJECT_WORDS: frozenset[str] = frozenset(
    {
        *("reject", "rejected"),
        *("afwijzen", "afgewezen", "weigeren", "geweigerd"),
        *("rejeter", "rejeté", "refuser", "refusé"),
        *("ablehnen", "abgelehnt"),
    }
)
EDIT_WORDS: frozenset[str] = frozenset({"edit", "bewerk", "wijzig", "modifier", "bearbeiten", "ändern"})
CREDIT_WORDS: frozenset[str] = frozenset({"credit", "vermeld", "met bronvermelding", "citer", "nennen"})
#: Only a reporter's reply to the acknowledgement may withdraw (``parse_commands(..., role="reporter")``).
WITHDRAW_WORDS: frozenset[str] = frozenset({"withdraw", "intrekken", "retirer", "zurückziehen"})
ZONE_WORDS: frozenset[str] = frozenset({"zones", "zone", "zonen"})
GROUP_WORDS: frozenset[str] = frozenset(
    {"groups", "group", "groepen", "groep", "groupes", "groupe", "gruppen", "gruppe"}
)
#: The incident as data (statistics): ``categorie: koperdiefstal``, ``tijdstip: 21/11 03:00``,
#: ``plaats: 51.24, 5.31`` (or a subscriber's name, or a zone), ``oefening`` (an exercise: not counted).
#: They set a field; alone they decide nothing (the report stays pending), and after a decision they still
#: correct the statistics.
CATEGORY_WORDS: frozenset[str] = frozenset({"categorie", "category", "catégorie", "kategorie"})
TIME_WORDS: frozenset[str] = frozenset({"tijdstip", "tijd", "time", "heure", "moment", "zeitpunkt", "zeit"})
PLACE_WORDS: frozenset[str] = frozenset({"plaats", "locatie", "place", "location", "lieu", "endroit", "ort"})
EXERCISE_WORDS: frozenset[str] = frozenset({"oefening", "exercise", "exercice", "übung"})
#: The TLP label (``tlp: red``, ``tlp: amber+strict``): set alone (decides nothing) or with a decision;
#: ``ontvangers: a@x, b@y``: the named recipients of a TLP:RED report (saying whom to send to means send).
TLP_WORDS: frozenset[str] = frozenset({"tlp"})
RECIPIENT_WORDS: frozenset[str] = frozenset(
    {"ontvangers", "ontvanger", "recipients", "recipient", "destinataires", "destinataire", "empfänger"}
)
#: ``dringend``: approve as urgent, i.e. also by SMS to the recipients' opted-in numbers; ``sms: ...``:
#: the SMS's essence (and urgent too: saying what to text means text it).
URGENT_WORDS: frozenset[str] = frozenset({"dringend", "spoed", "urgent", "urgence", "eilig"})
SMS_WORDS: frozenset[str] = frozenset({"sms"})
MAX_SMS_CHARS = 480  # of a moderator's ``sms:`` text (what fits is decided by the SMS's parts)
#: A reporter's answer to a request to lower the TLP label of their report: the whole first line.
CONSENT_WORDS: frozenset[str] = frozenset(
    {
        *("akkoord", "ik ga akkoord", "ja, akkoord", "d'accord", "je suis d'accord", "oui, d'accord"),
        *("agree", "i agree", "agreed", "yes, i agree", "einverstanden", "ich bin einverstanden"),
    }
)
#: ``oefening: nee`` takes an exercise mark back; ``oefening`` alone or ``oefening: ja`` sets it.
YES_WORDS: frozenset[str] = frozenset({"ja", "yes", "oui", "true"})
#: "nee" alone neither approves nor rejects: a reject needs a reject word (and better a reason).
NO_WORDS: frozenset[str] = frozenset({"no", "nee", "neen", "non", "nein"})
#: A line holding one of these ("niet ok", "pas d'accord", "not approved", "nicht ok") is no command.
NEGATION_WORDS: frozenset[str] = frozenset(
    {
        *("not", "don't", "dont", "never"),
        *("niet", "geen", "nooit"),
        *("pas", "ne", "jamais", "n'est"),
        *("nicht", "kein", "keine", "nie"),
    }
)
#: "A, B en C": a conjunction that may stand for the last separator of a list.
LIST_CONJUNCTIONS: tuple[str, ...] = ("en", "and", "et", "und")

_Kind = Literal[
    "approve",
    "reject",
    "edit",
    "credit",
    "withdraw",
    "zones",
    "groups",
    "category",
    "time",
    "place",
    "exercise",
    "tlp",
    "recipients",
    "urgent",
    "sms",
]
Action = Literal["approve", "reject", "withdraw"]
Role = Literal["moderator", "reporter"]


def _fold(text: str) -> str:
    """Casefold and drop accents: 'Approuvé' -> 'approuve'."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _any_of(words: tuple[str, ...] | frozenset[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_COMMANDS: tuple[tuple[_Kind, frozenset[str]], ...] = (
    *(("approve", APPROVE_WORDS), ("reject", REJECT_WORDS), ("edit", EDIT_WORDS)),
    *(("credit", CREDIT_WORDS), ("withdraw", WITHDRAW_WORDS)),
    *(("zones", ZONE_WORDS), ("groups", GROUP_WORDS)),
    *(("category", CATEGORY_WORDS), ("time", TIME_WORDS), ("place", PLACE_WORDS)),
    ("exercise", EXERCISE_WORDS),
    *(("tlp", TLP_WORDS), ("recipients", RECIPIENT_WORDS)),
    *(("urgent", URGENT_WORDS), ("sms", SMS_WORDS)),
)
_KEYWORDS: dict[str, _Kind] = {_fold(w).replace("’", "'"): kind for kind, words in _COMMANDS for w in words}
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
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")  # a word, with inner apostrophes ("d'accord")
_SEPARATOR = re.compile(r"[ \t]*([:=,\-–—]?)[ \t]*")
_FIELD_HEAD = re.compile(r"([^\W\d_][\w-]{0,30})[ \t]*[:=]")  # "kleur: rood": a one-word field name
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


def quote_start(lines: list[str]) -> int:
    """Index of the first line of a quoted or forwarded message in ``lines`` (a '>' block with its
    attribution, an "On ... wrote:" line, an Outlook header block, "-----Original Message-----"), or
    ``len(lines)``. Signatures and our reply markers are not looked for (see :func:`visible_reply`)."""
    for i, line in enumerate(lines):
        if _is_quoted(line):
            return _quote_start(lines, i)
        s = line.strip()
        if 0 < len(s) <= _MAX_HEADER_CHARS and _is_header(lines, i, s):
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
class IncidentChange:
    """The incident fields a reply sets (None: left as they are), as the moderator wrote them; the
    category, time and place are resolved against the network by ``moderation/incident.py``."""

    category: str | None = None
    time: str | None = None
    place: str | None = None
    exercise: bool | None = None


@dataclass(frozen=True, slots=True)
class ModeratorCommand:
    """What a reply asks for; see :func:`parse_commands`. ``refusals`` say why it cannot be carried out."""

    action: Action | None
    reason: str | None = None
    zones: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    edit_text: str | None = None
    credit: bool = False
    refusals: tuple[Refusal, ...] = ()
    incident: IncidentChange | None = None
    tlp: Label | None = None
    recipients: tuple[str, ...] | None = None
    urgent: bool = False
    sms_text: str | None = None

    @property
    def is_correction(self) -> bool:
        """Only incident fields or a TLP label, nothing wrong: set them and decide nothing."""
        return (
            self.action is None and (self.incident is not None or self.tlp is not None) and not self.refusals
        )

    @property
    def is_decision(self) -> bool:
        """Approve, reject or withdraw was resolved and nothing in the reply was wrong."""
        return self.action is not None and not self.refusals

    @property
    def errors(self) -> tuple[str, ...]:
        """The refusals in English, for callers that do not render :attr:`refusals` in the network's
        language yet (``i18n.reason_text(refusal, language)`` does)."""
        return tuple(reason_text(refusal, "en") for refusal in self.refusals)


@dataclass(slots=True)
class _State:
    kinds: set[_Kind] = field(default_factory=set)
    reason: str | None = None
    zones: list[str] | None = None
    groups: list[str] | None = None
    refusals: list[Refusal] = field(default_factory=list)
    incident: dict[str, str | bool] = field(default_factory=dict)
    recipients: list[str] | None = None
    tlp: Label | None = None
    sms_text: str | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    """One line read: the command word it starts with (if any), its argument, or why it is no command."""

    kind: _Kind | None
    rest: str = ""
    refusal: Refusal | None = None


_HEAD_CHARS = 200  # a command word is at the start of its line: only this much is folded
_SHOWN_CHARS = 60  # of a refused line, in the refusal
_LIST_KINDS: frozenset[_Kind] = frozenset({"zones", "groups", "recipients"})
_VALUE_KINDS: frozenset[_Kind] = frozenset({"category", "time", "place", "tlp"})  # need "name: value"
_INCIDENT_KINDS: frozenset[_Kind] = frozenset({"category", "time", "place", "exercise"})
_FIELD_KINDS: frozenset[_Kind] = frozenset({*_INCIDENT_KINDS, "tlp"})  # set a field, decide nothing
_APOSTROPHES = str.maketrans("’‘ʼ`´", "'''''")  # typographic apostrophes
_MAX_PHRASE_WORDS = max(len(w.split()) for _, words in _COMMANDS for w in words)


def _normalised(text: str) -> tuple[str, list[int]]:
    """``text`` folded (casefold, no accents, plain apostrophes), and for each folded character the
    index of the character of ``text`` it came from (plus one past the end)."""
    out: list[str] = []
    index: list[int] = []
    for i, char in enumerate(text):
        folded = _fold(char).translate(_APOSTROPHES)
        out.append(folded)
        index.extend([i] * len(folded))
    index.append(len(text))
    return "".join(out), index


def _command_word(norm: str) -> tuple[_Kind, int] | None:
    """The longest command word or phrase (up to three words) at the start of ``norm``, and its end."""
    tokens = list(_TOKEN.finditer(norm, 0, _HEAD_CHARS))[:_MAX_PHRASE_WORDS]
    if not tokens or tokens[0].start() != 0:
        return None
    for n in range(len(tokens), 0, -1):
        if any(norm[a.end() : b.start()].strip(" \t") for a, b in pairwise(tokens[:n])):
            continue  # only blanks may stand between the words of a phrase
        kind = _KEYWORDS.get(" ".join(t.group() for t in tokens[:n]))
        if kind is not None:
            return kind, tokens[n - 1].end()
    return None


def _no_command(text: str, norm: str, *, command_word: bool = False) -> Refusal:
    """Why a line that is no command (or a command word followed by other words) is refused."""
    shown = text[:_SHOWN_CHARS]
    words = _TOKEN.findall(norm[:_HEAD_CHARS])
    if words and words[0] in NO_WORDS:
        return Refusal.of(Reason.BARE_NO, word=text.split()[0].strip(string.punctuation)[:_SHOWN_CHARS])
    if any(w in NEGATION_WORDS for w in words):
        return Refusal.of(Reason.NEGATION, text=shown)
    if "?" in text:
        return Refusal.of(Reason.QUESTION, text=shown)
    if not command_word and (head := _FIELD_HEAD.match(text)):
        return Refusal.of(Reason.UNKNOWN_FIELD, name=head.group(1))
    return Refusal.of(Reason.UNKNOWN_COMMAND, text=shown)


def _read_line(text: str) -> _Line:
    """Read one stripped, non-empty line: a whole line of the vocabulary, or a refusal."""
    norm, index = _normalised(text[:_HEAD_CHARS])
    found = _command_word(norm)
    if found is None:
        return _Line(None, refusal=_no_command(text, norm))
    kind, end = found
    sep = _SEPARATOR.match(text, index[end])
    assert sep is not None  # the pattern matches the empty string
    rest, colon = text[sep.end() :].strip(), sep.group(1) in (":", "=")
    words = rest.strip(".! \t")  # "OK!", "Akkoord." are whole commands
    if (kind in _VALUE_KINDS or (kind == "exercise" and words)) and not colon:
        # "Tijd voor koffie", "Plaats genoeg": ordinary words, not a field (after a command: a greeting)
        return _Line(None, refusal=_no_command(text, norm, command_word=True))
    if kind == "sms":  # free text after "sms:", as typed
        if not colon:
            return _Line(None, refusal=_no_command(text, norm, command_word=True))
        if not rest:
            return _Line(kind, refusal=Refusal.of(Reason.EMPTY_VALUE, field=kind))
        return _Line(kind, rest)
    if kind in _FIELD_KINDS:
        if "?" in words:
            return _Line(kind, refusal=_no_command(text, norm, command_word=True))
        return _Line(kind, rest.rstrip(". \t"))
    if kind == "reject":  # the reason is free text; "afwijzen?" is a question
        if "?" in rest and not any(c.isalnum() for c in rest):
            return _Line(kind, refusal=_no_command(text, norm, command_word=True))
        return _Line(kind, rest)
    if not words:
        return _Line(kind)
    if "?" in words or (kind not in ("edit", *_LIST_KINDS)) or not colon:
        # "ok?", "ok, bedankt", "Zone Noord heeft dit gemeld": text on the line needs "zones:"/"bewerk:"
        return _Line(kind, refusal=_no_command(text, norm, command_word=True))
    return _Line(kind, rest)


def _split_list(text: str) -> list[str]:
    """'A, B; C en D' -> ['A', 'B', 'C', 'D']: split, stripped, without empty items."""
    items = re.split(r"[,;]", text.rstrip(".! \t"))
    if conjunctions := list(_CONJUNCTION.finditer(items[-1])):
        last = conjunctions[-1]
        items[-1:] = [items[-1][: last.start()], items[-1][last.end() :]]
    return [item.strip() for item in items if item.strip()]


def _apply_incident(state: _State, kind: _Kind, rest: str) -> None:
    """Record an incident field (the last line of a field counts)."""
    if kind == "exercise":
        answer = _fold(rest).strip(" .!")
        if answer and answer not in YES_WORDS and answer not in NO_WORDS:
            state.refusals.append(Refusal.of(Reason.INVALID_YES_NO, field=kind, value=rest[:_SHOWN_CHARS]))
        state.incident[kind] = answer not in NO_WORDS
    elif not rest:
        state.refusals.append(Refusal.of(Reason.EMPTY_VALUE, field=kind))
    else:
        state.incident[kind] = rest[:_HEAD_CHARS]


def _apply(state: _State, kind: _Kind, rest: str) -> None:
    """Record one command line (not edit) in ``state``."""
    state.kinds.add(kind)
    if kind in _INCIDENT_KINDS:
        _apply_incident(state, kind, rest)
    elif kind == "tlp":
        state.tlp = parse_label(rest)
        if state.tlp is None:
            state.refusals.append(Refusal.of(Reason.INVALID_TLP, value=rest[:_SHOWN_CHARS]))
    elif kind == "sms":
        state.sms_text = " ".join(rest.split())[:MAX_SMS_CHARS]
    elif kind == "reject" and state.reason is None and any(c.isalnum() for c in rest):
        state.reason = rest
    elif kind in _LIST_KINDS:
        items = _split_list(rest)
        if not items:
            state.refusals.append(Refusal.of(Reason.EMPTY_LIST, field=kind))
        unique: dict[str, str] = {}  # case-insensitive, first spelling and order kept
        for item in [*(getattr(state, kind) or []), *items]:
            unique.setdefault(item.casefold(), item)
        if len(unique) > MAX_LIST_ITEMS:
            state.refusals.append(Refusal.of(Reason.TOO_MANY_ITEMS, field=kind, limit=MAX_LIST_ITEMS))
        if unique:
            setattr(state, kind, list(unique.values())[:MAX_LIST_ITEMS])
        if kind == "recipients" and (bad := [i for i in items if normalize_address(i) is None]):
            state.refusals.append(Refusal.of(Reason.INVALID_RECIPIENTS, names=", ".join(bad)[:_HEAD_CHARS]))


def _allowed(kind: _Kind, role: Role) -> bool:
    return (kind == "withdraw") == (role == "reporter")


def _action(state: _State) -> Action | None:
    if {"approve", "reject"} <= state.kinds:
        state.refusals.insert(0, Refusal.of(Reason.BOTH_APPROVE_AND_REJECT))
        return None
    if "reject" in state.kinds:
        return "reject"
    if "withdraw" in state.kinds:
        return "withdraw"
    return "approve" if state.kinds - _FIELD_KINDS else None


def _incident(state: _State) -> IncidentChange | None:
    if not state.incident:
        return None
    found = state.incident
    exercise = found.get("exercise")
    return IncidentChange(
        category=str(found["category"]) if "category" in found else None,
        time=str(found["time"]) if "time" in found else None,
        place=str(found["place"]) if "place" in found else None,
        exercise=exercise if isinstance(exercise, bool) else None,
    )


def parse_commands(visible: str, *, role: Role = "moderator") -> ModeratorCommand:
    """Read the commands at the top of a visible reply (see :func:`visible_reply`).

    The first non-empty line must be a whole line of the vocabulary, in nl, fr, en or de, case- and
    accent-insensitive, optionally ended by '.' or '!': an approve word; a reject word with an optional
    reason after it; ``zones:``/``groups:`` lists; a credit word; an edit word, whose following text
    (all of it) replaces the report's text; for a reporter (``role="reporter"``) only a withdraw word.
    A question ("ok?"), a negation ("niet ok", "pas d'accord"), a bare "nee"/"non"/"no"/"nein", an
    unknown ``name:`` field or other words on the line are no command: the result has no action and a
    :class:`~save_relay.mail.i18n.Refusal` saying why. After the first line, further command lines
    are read; reading stops at the first other line (a greeting is ignored), except that an unknown
    field, a bare "nee" or a malformed command line there is refused too. A reply with no
    approve/reject word but with edit, zones, groups or credit counts as approve: saying where or how
    to send it means send it. Approve and reject together resolve to no action, with a refusal.
    Incident fields (``categorie:``, ``tijdstip:``, ``plaats:``, ``oefening``) go with a decision or
    alone (:attr:`ModeratorCommand.is_correction`): alone they decide nothing. ``dringend`` (``urgent``,
    ``urgence``) approves as urgent; ``sms: TEXT`` gives the SMS's text (and is urgent too).
    """
    state, edit_text = _State(), None
    lines = _lines(visible)
    for i, raw in enumerate(lines):
        if not (text := raw.strip()):
            continue
        line = _read_line(text)
        if line.kind is not None and line.refusal is None and not _allowed(line.kind, role):
            line = _Line(line.kind, refusal=Refusal.of(Reason.NOT_ALLOWED, command=line.kind))
        if line.refusal is not None:
            counts = line.kind is not None or line.refusal.code in (Reason.UNKNOWN_FIELD, Reason.BARE_NO)
            if not state.kinds or counts:
                state.refusals.append(line.refusal)
            break
        assert line.kind is not None
        if line.kind == "edit":
            state.kinds.add("edit")
            if not (edit_text := _join([line.rest, *lines[i + 1 :]]) or None):
                state.refusals.append(Refusal.of(Reason.EDIT_WITHOUT_TEXT))
            break
        _apply(state, line.kind, line.rest)
    if not state.kinds and not state.refusals:
        state.refusals.append(Refusal.of(Reason.EMPTY_REPLY))
    action = _action(state)
    return ModeratorCommand(
        action=action,
        reason=state.reason if action == "reject" else None,
        zones=tuple(state.zones) if state.zones else None,
        groups=tuple(state.groups) if state.groups else None,
        edit_text=edit_text,
        credit="credit" in state.kinds,
        refusals=tuple(state.refusals),
        incident=_incident(state),
        tlp=state.tlp,
        recipients=tuple(a.lower() for a in state.recipients) if state.recipients else None,
        urgent=action == "approve" and bool({"urgent", "sms"} & state.kinds),
        sms_text=state.sms_text if action == "approve" else None,
    )


def withdraw_requested(visible: str) -> bool:
    """Whether a reporter's reply (to the acknowledgement) withdraws the report: its first line is a
    withdraw word. Any other reply of a reporter is a follow-up, not a refused command."""
    return parse_commands(visible, role="reporter").action == "withdraw"


def consent_given(visible: str) -> bool:
    """Whether a reporter's reply agrees to a lower TLP label: its first line is a consent word
    (``akkoord``, ``d'accord``, ``agree``, ``einverstanden``), case, accents and a final '.'/'!' aside."""
    for line in _lines(visible):
        if text := line.strip():
            folded = " ".join(_fold(text).translate(_APOSTROPHES).strip(" .!").split())
            return folded in {_fold(w) for w in CONSENT_WORDS}
    return False


def first_word(visible: str) -> str | None:
    """The lowercased first word of the first non-empty line (for request/canvass replies), if any."""
    for line in _lines(visible):
        if line.strip():
            return line.split()[0].strip(string.punctuation).lower() or None
    return None
