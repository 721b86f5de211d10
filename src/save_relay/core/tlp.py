"""TLP 2.0 labels (FIRST.org, Traffic Light Protocol): who may receive a report. Pure, no database.

The labels are ordered by strictness, CLEAR < GREEN < AMBER < AMBER+STRICT < RED: a moderator may always
make a report's label stricter, and less strict only with the reporter's consent. The stored value is the
label without its ``TLP:`` prefix (``"AMBER+STRICT"``); mails show it as ``TLP:AMBER+STRICT``.

Parsing is lenient where people type (``tlp: amber``, ``TLP:Amber+Strict``, ``[TLP:GREEN]``) and strict
about what it accepts: only the five labels of TLP 2.0 (``WHITE``, TLP 1.0's name of CLEAR, is read as
CLEAR, since old mail programs and templates still write it).
"""

from __future__ import annotations

import enum
import re


class Label(enum.StrEnum):
    """A TLP 2.0 label; compare strictness with :attr:`rank` (or :func:`stricter`)."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED: a higher rank limits the recipients more."""
        return _ORDER.index(self)

    @property
    def tag(self) -> str:
        """``TLP:AMBER``: how every mail writes it (capitals, as FIRST asks)."""
        return f"TLP:{self.value}"

    def less_strict_than(self, other: Label) -> bool:
        return self.rank < other.rank


_ORDER: tuple[Label, ...] = (Label.CLEAR, Label.GREEN, Label.AMBER, Label.AMBER_STRICT, Label.RED)
_NAMES: dict[str, Label] = {label.value: label for label in Label} | {"WHITE": Label.CLEAR}
# "TLP: amber", "tlp:AMBER+STRICT", "TLP:AMBER + STRICT": the prefix, then one label (longest first).
_TAG = re.compile(r"\bTLP\s*:\s*(AMBER\s*\+\s*STRICT|RED|AMBER|GREEN|CLEAR|WHITE)\b", re.IGNORECASE)


def _label(word: str) -> Label | None:
    return _NAMES.get(re.sub(r"\s+", "", word).upper())


def parse(value: str) -> Label | None:
    """A label written alone, with or without ``TLP:`` and brackets; None when it is none of the five."""
    text = value.strip().strip("[]().!").strip()
    match = _TAG.fullmatch(text)
    return _label(match.group(1)) if match else _label(text)


def find(text: str) -> Label | None:
    """The first ``TLP:<label>`` written anywhere in ``text`` (a subject line, a first body line)."""
    match = _TAG.search(text)
    return _label(match.group(1)) if match else None


def without_tag(text: str) -> str:
    """``text`` with its ``TLP:<label>`` (and brackets around it) taken out, spaces tidied."""
    cleaned = re.sub(rf"[\[(]?\s*{_TAG.pattern}\s*[\])]?", " ", text, flags=re.IGNORECASE)
    return " ".join(cleaned.split())


def stricter(a: Label, b: Label) -> Label:
    """The stricter of two labels."""
    return a if a.rank >= b.rank else b


def subject_with(label: Label, subject: str) -> str:
    """``[TLP:AMBER] subject``: the label first, once."""
    return f"[{label.tag}] {without_tag(subject)}".rstrip()


def body_with(label: Label, body: str) -> str:
    """The label as the body's first line, then a blank line, then the body."""
    return f"{label.tag}\n\n{body}"
