"""What a report's text says about the incident: a suggested category and, where it is clear, the time.

Both are suggestions for the moderator, who has the last word. The time is read only where the text is
clear: an hour written as an hour ("03:00", "22u", "23h", "om 3 uur", "vers 23h", "at 3 am"), with an
optional day ("vannacht", "gisteren", "hier soir", "yesterday", "maandag", "21/11"), relative to when
the mail was received, in the network's time zone. Anything else (a plate like 2-XYZ-987, a phone
number, an amount, "3 mannen") is no time, and the report keeps its received time, marked as such.

Hand-written rather than a date library: dateparser and friends read "3 mannen" or "+32 11" as times
and know no Flemish "22u"; the phrases a report uses are few, and a table of them is the test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from save_relay.core.categories import OTHER, Category

_WHOLE_WORD_MAX = 4  # keywords this short match whole words only ("vol", "car", "man")


def suggest_category(subject: str, text: str, categories: Sequence[Category]) -> str:
    """The category whose keywords the subject and text mention most (earlier wins a tie); ``other``."""
    haystack = f"{subject}\n{text[:5000]}".casefold()
    best, best_hits = OTHER, 0
    for category in categories:
        hits = sum(
            len(_keyword_re(word).findall(haystack)) for words in category.keywords.values() for word in words
        )
        if hits > best_hits:
            best, best_hits = category.slug, hits
    return best


def _keyword_re(word: str) -> re.Pattern[str]:
    escaped = re.escape(word.casefold().strip())
    tail = r"(?!\w)" if len(word.strip()) <= _WHOLE_WORD_MAX else ""
    return re.compile(rf"(?<!\w){escaped}{tail}")


@dataclass(frozen=True, slots=True)
class IncidentTime:
    """A time read from the text: ``at`` (aware, in the network's zone) and the words it came from."""

    at: datetime
    phrase: str


# Day words, by the number of days before the day the mail was received (None: "the night", see _night).
_DAYS: dict[str, int | None] = {
    "eergisteren": 2, "avant-hier": 2, "day before yesterday": 2, "vorgestern": 2,
    "gisterenavond": 1, "gisteravond": 1, "gisterennacht": 1, "gisteren": 1, "hier soir": 1, "hier": 1,
    "yesterday": 1, "gestern": 1, "gisterenmiddag": 1, "gisterenmorgen": 1,
    "vannacht": None, "afgelopen nacht": None, "cette nuit": None, "la nuit dernière": None,
    "last night": None, "overnight": None, "heute nacht": None, "letzte nacht": None, "tonight": None,
    "vandaag": 0, "vanochtend": 0, "vanmorgen": 0, "vanmiddag": 0, "vanavond": 0, "aujourd'hui": 0,
    "ce matin": 0, "cet après-midi": 0, "ce soir": 0, "today": 0, "this morning": 0,
    "this afternoon": 0, "this evening": 0, "heute morgen": 0, "heute abend": 0, "heute": 0,
}  # fmt: skip
_EVENING = ("avond", "soir", "evening", "abend", "tonight")
_WEEKDAYS = {
    **dict.fromkeys(("maandag", "lundi", "monday", "montag"), 0),
    **dict.fromkeys(("dinsdag", "mardi", "tuesday", "dienstag"), 1),
    **dict.fromkeys(("woensdag", "mercredi", "wednesday", "mittwoch"), 2),
    **dict.fromkeys(("donderdag", "jeudi", "thursday", "donnerstag"), 3),
    **dict.fromkeys(("vrijdag", "vendredi", "friday", "freitag"), 4),
    **dict.fromkeys(("zaterdag", "samedi", "saturday", "samstag"), 5),
    **dict.fromkeys(("zondag", "dimanche", "sunday", "sonntag"), 6),
}
_DAY_WORDS = sorted(_DAYS, key=len, reverse=True)
_DAY_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in _DAY_WORDS) + r")(?![\w-])")
_WEEKDAY_RE = re.compile(r"(?<!\w)(" + "|".join(_WEEKDAYS) + r")(?:avond|nacht|ochtend|morgen|middag)?(?!\w)")
_DATE_RE = re.compile(r"(?<![\w/.-])(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?(?![\w/-]|\.\d)")
_PREFIX = r"(?:om|rond|omstreeks|tegen|rond de klok van|vers|à|a|at|around|about|um|gegen|ca\.?)"
_UNIT = r"(?:uur|u|h|heures?|uhr|o'clock)"
# An hour written as one: HH:MM, 22u30, 23h, 3 uur, 3 am; or a prefix word and a bare hour.
_TIME_RES = (
    re.compile(rf"(?<![\w:.+/-])(\d{{1,2}}):(\d{{2}})\s*(?:{_UNIT}|(am|pm|a\.m\.|p\.m\.))?(?![\w:]|\.\d)"),
    re.compile(rf"(?<![\w:.+/-])(\d{{1,2}})\.(\d{{2}})\s*{_UNIT}(?!\w)"),
    re.compile(rf"(?<!\w){_PREFIX}\s+(\d{{1,2}})\.(\d{{2}})(?![\w.:]|\.\d)"),
    re.compile(rf"(?<![\w:.+/-])(\d{{1,2}})\s*{_UNIT}\s*(\d{{2}})?(?!\w)"),
    re.compile(r"(?<![\w:.+/-])(\d{1,2})()\s*(am|pm|a\.m\.|p\.m\.)(?!\w)"),
    re.compile(rf"(?<!\w){_PREFIX}\s+(\d{{1,2}})()(?=\s*(?:[,;!?)]|\.(?!\d)|$|\n))"),
)


def read_incident_time(text: str, received: datetime, zone: tzinfo) -> IncidentTime | None:
    """The incident time the text gives clearly, relative to ``received``; None when it gives none.

    Only the first mention counts; a time later than the mail's arrival is no reading (a typo, or a
    time announced for later), unless no day was named: then it was the day before ("om 23u" read at
    08:00).
    """
    local = received.astimezone(zone)
    lowered = text[:4000].casefold()
    found = _first_time(lowered)
    if found is None:
        return None
    clock, start, end = found
    window = lowered[max(0, start - 60) : min(len(lowered), end + 40)]
    day, evening, day_phrase = _day(window, local.date())
    hour = clock.hour
    if evening and 1 <= hour < 12 and not _has_meridiem(lowered[start:end]):
        hour += 12  # "gisterenavond om 10 uur", "ce soir vers 9h"
    if day is None:  # "the night": evening hours the day before, small hours the day of the mail
        day = local.date() - timedelta(days=1) if hour >= 12 else local.date()
    when = datetime.combine(day, time(hour, clock.minute), tzinfo=zone)
    if when > local:
        if day_phrase:
            return None
        when -= timedelta(days=1)
    phrase = " ".join(p for p in (day_phrase, text[start:end].strip()) if p)
    return IncidentTime(at=when, phrase=phrase)


def _has_meridiem(words: str) -> bool:
    return bool(re.search(r"am|pm|a\.m\.|p\.m\.", words))


def _first_time(text: str) -> tuple[time, int, int] | None:
    best: tuple[time, int, int] | None = None
    for pattern in _TIME_RES:
        for match in pattern.finditer(text):
            clock = _clock(match)
            if clock is not None and (best is None or match.start() < best[1]):
                best = (clock, match.start(), match.end())
                break
    return best


def _clock(match: re.Match[str]) -> time | None:
    hour = int(match.group(1))
    minute = int(match.group(2) or 0)
    meridiem = (match.group(3) or "") if match.lastindex and match.lastindex >= 3 else ""
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _day(window: str, received: date) -> tuple[date | None, bool, str]:
    """(the day, an evening word seen, the day's words) around a time; the day is None for "the night"
    and the received day when nothing names one."""
    evening = any(word in window for word in _EVENING)
    if match := _DATE_RE.search(window):
        day = _date(match, received)
        if day is not None:
            return day, evening, match.group(0)
    if match := _DAY_RE.search(window):
        back = _DAYS[match.group(1)]
        return (None if back is None else received - timedelta(days=back)), evening, match.group(1)
    if match := _WEEKDAY_RE.search(window):
        back = (received.weekday() - _WEEKDAYS[match.group(1)]) % 7
        return received - timedelta(days=back), evening or "avond" in match.group(0), match.group(0)
    return received, evening, ""


def _date(match: re.Match[str], received: date) -> date | None:
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else received.year
    if year < 100:
        year += 2000
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if not match.group(3) and found > received:  # "21/12" read on 3 January: last year
        found = found.replace(year=found.year - 1)
    return found


_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:T|\s+|(?=\D|$))")


def parse_moderator_time(value: str, received: datetime, zone: tzinfo) -> datetime | None:
    """A moderator's ``tijdstip: 21/11 03:00`` (or "2026-11-21 03:00", "gisteren 22u", "03:00"):
    aware, or None when no hour is given or it is after ``received`` (the report's arrival)."""
    value = _ISO_DATE_RE.sub(lambda m: f"{m.group(3)}/{m.group(2)}/{m.group(1)} ", value)
    found = read_incident_time(value, received, zone)
    return found.at if found is not None else None
