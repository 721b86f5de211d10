"""Mail to ``industrie+request@...``: which command it holds and which details. Pure, no database.

The command is the first word of the visible text, else of the subject (``Re:`` stripped), in Dutch,
English or French: ``subscribe``/``aanmelden``, ``unsubscribe``/``afmelden``, ``help``/``hulp``.
Details are ``key: value`` lines anywhere in the visible text (the same lines fill in a confirmation
reply or a moderator's approval)::

    bedrijf: Metaalwerken Vos NV          (company, firma, entreprise)
    contact: Jan Vos                      (naam, name, nom)
    adres:   Balendijk 112, 3920 Lommel   (address, straat, adresse)
    locatie: 51.23988, 5.28620            (location, ligging, coördinaten, position)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from save_relay.core.geo import parse_location
from save_relay.mail.autoreply import bare_subject
from save_relay.mail.commands import first_word

Action = Literal["subscribe", "unsubscribe", "help"]

SUBSCRIBE_WORDS = frozenset(
    {
        "subscribe",
        "join",
        "aanmelden",
        "inschrijven",
        "abonneren",
        "aanmelding",
        "inschrijving",
        "inscrire",
        "inscription",
        "abonner",
    }
)
UNSUBSCRIBE_WORDS = frozenset(
    {
        "unsubscribe",
        "leave",
        "afmelden",
        "uitschrijven",
        "afmelding",
        "uitschrijving",
        "desinscrire",
        "desinscription",
        "desabonner",
        "signoff",
    }
)
HELP_WORDS = frozenset({"help", "hulp", "info", "aide", "informatie", "information"})
NO_WORDS = frozenset({"no", "nee", "non", "cancel", "annuleer", "annuleren", "stop", "annuler"})
FIELD_KEYS: dict[str, str] = {
    **dict.fromkeys(("company", "bedrijf", "firma", "onderneming", "entreprise", "societe"), "company"),
    **dict.fromkeys(("contact", "naam", "name", "nom", "contactpersoon", "contactperson"), "contact"),
    **dict.fromkeys(("address", "adres", "straat", "street", "adresse", "rue"), "street"),
    **dict.fromkeys(
        ("location", "locatie", "ligging", "coordinaten", "coordinates", "position", "coordonnees", "gps"),
        "location",
    ),
}
MAX_FIELD = 300
_FIELD = re.compile(r"^\s*([^\W\d_][\w -]{0,30}?)\s*[:=]\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Details:
    """What a mail says about the subscriber; empty strings and None where it says nothing."""

    company: str = ""
    contact: str = ""
    street: str = ""
    latitude: float | None = None
    longitude: float | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestCommand:
    action: Action | None
    details: Details


def fold(word: str) -> str:
    """Casefold and drop accents: 'Désinscrire' -> 'desinscrire'."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _action(word: str | None) -> Action | None:
    folded = fold(word or "").strip("-'")
    if folded in SUBSCRIBE_WORDS:
        return "subscribe"
    if folded in UNSUBSCRIBE_WORDS:
        return "unsubscribe"
    if folded in HELP_WORDS:
        return "help"
    return None


def parse_details(visible: str) -> Details:
    """The ``key: value`` lines of ``visible``; the first of each key counts."""
    found: dict[str, str] = {}
    for line in visible.splitlines():
        match = _FIELD.match(line)
        if match is None:
            continue
        key = FIELD_KEYS.get(fold(match.group(1)).replace(" ", "").replace("-", ""))
        if key is not None and key not in found and match.group(2):
            found[key] = " ".join(match.group(2).split())[:MAX_FIELD]
    problems: list[str] = []
    latitude = longitude = None
    if "location" in found:
        location = parse_location(found["location"])
        if location is None:
            problems.append(f"location {found['location']!r} is not 'latitude, longitude' in degrees")
        else:
            latitude, longitude = location
    return Details(
        company=found.get("company", "")[:200],
        contact=found.get("contact", "")[:200],
        street=found.get("street", ""),
        latitude=latitude,
        longitude=longitude,
        problems=tuple(problems),
    )


def parse_request(subject: str, visible: str) -> RequestCommand:
    """The command of a mail to ``+request`` (body first, then subject) and its details."""
    action = _action(first_word(visible)) or _action(first_word(bare_subject(subject)))
    return RequestCommand(action=action, details=parse_details(visible))


def says_no(visible: str) -> bool:
    """A confirmation reply that declines ("nee", "no", "cancel") instead of confirming."""
    return fold(first_word(visible) or "") in NO_WORDS


def without_details(visible: str) -> str:
    """``visible`` without its detail lines (for the moderator's command parser)."""
    kept = []
    for line in visible.splitlines():
        match = _FIELD.match(line)
        if match and FIELD_KEYS.get(fold(match.group(1)).replace(" ", "").replace("-", "")):
            continue
        kept.append(line)
    return "\n".join(kept)
