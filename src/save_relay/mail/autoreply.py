"""Automatic replies (out of office, vacation, RFC 3834): never reports, never bounces. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable

#: Subjects of automatic replies, compared case-insensitively at the start (after "Re:", "AW:" ...).
AUTO_REPLY_SUBJECTS: tuple[str, ...] = (
    *("out of office", "out of the office", "automatic reply", "auto reply", "autoreply", "auto-reply"),
    *("away from", "vacation", "on vacation", "i am away", "i'm away"),
    *("afwezig", "automatisch antwoord", "automatisch bericht", "niet aanwezig", "afwezigheid"),
    *("absent", "absence", "réponse automatique", "reponse automatique", "message d'absence"),
    *("abwesenheit", "automatische antwort", "abwesend"),
)
SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|aw|wg|fw|fwd|tr|antw)\s*:\s*)+", re.IGNORECASE)

Header = Callable[[str], "str | None"]


def bare_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, whitespace folded, lower-cased."""
    return " ".join(SUBJECT_PREFIX.sub("", subject).split()).lower()


def is_auto_reply(header: Header) -> bool:
    """True for an automatic reply: ``Auto-Submitted: auto-replied``, X-Autoreply, X-Autorespond,
    ``Precedence: auto_reply``, or an out-of-office subject. ``header(name)`` gives a header or None."""
    auto = (header("Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto == "auto-replied" or header("X-Autoreply") is not None or header("X-Autorespond") is not None:
        return True
    if (header("Precedence") or "").strip().lower() in ("auto_reply", "auto-reply"):
        return True
    return bare_subject(header("Subject") or "").startswith(AUTO_REPLY_SUBJECTS)
