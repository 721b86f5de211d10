"""The words of an alert in the network's language, and the paste-ready text for a BE-Alert operator.

The short text fits one SMS (at most 160 characters): ``[OEFENING] `` for an exercise, the network's
name, the report's text cut at a word with an ellipsis, the reference, and where to call in an
emergency. It is plain text for the operator to paste; what BE-Alert then sends is theirs to decide.
"""

from __future__ import annotations

import re

from save_relay.mail.i18n import field_name

LIMIT = 160

WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "instruction": "Meld wat u ziet aan de politie. Dringend? Bel 112 (of 101).",
        "call": "Nood: 112",
        "Update": "Bijgewerkt",
        "Cancel": "Ingetrokken",
        "restricted": "Alleen voor de deelnemers van {network}",
    },
    "fr": {
        "instruction": "Signalez ce que vous voyez à la police. Urgent ? Appelez le 112 (ou le 101).",
        "call": "Urgence : 112",
        "Update": "Mise à jour",
        "Cancel": "Retiré",
        "restricted": "Réservé aux participants de {network}",
    },
    "en": {
        "instruction": "Report what you see to the police. Urgent? Call 112 (or 101).",
        "call": "Emergency: 112",
        "Update": "Updated",
        "Cancel": "Withdrawn",
        "restricted": "Only for the members of {network}",
    },
    "de": {
        "instruction": "Melden Sie Beobachtungen der Polizei. Dringend? Rufen Sie 112 (oder 101).",
        "call": "Notruf: 112",
        "Update": "Aktualisiert",
        "Cancel": "Zurückgezogen",
        "restricted": "Nur für die Teilnehmer von {network}",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def exercise_mark(language: str) -> str:
    """``[OEFENING] ``: what an exercise carries first, in the network's language."""
    return f"[{field_name('exercise', language).upper()}] "


def _cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, cut after a whole word with an ellipsis."""
    if len(text) <= room:
        return text
    if room <= 1:
        return "…"[:room]
    cut = text[: room - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def short_text(*, language: str, network: str, text: str, reference: str, exercise: bool, kind: str) -> str:
    """The BE-Alert operator's text: at most ``LIMIT`` characters, whitespace folded to single spaces."""
    said = words(language)
    head = exercise_mark(language) if exercise else ""
    if kind != "Alert":
        head += f"{said[kind]}: "
    head += f"{network}: "
    tail = f" ({reference}) {said['call']}"
    body = re.sub(r"\s+", " ", text).strip()
    return head + _cut(body, LIMIT - len(head) - len(tail)) + tail
