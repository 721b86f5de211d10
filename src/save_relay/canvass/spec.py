"""A canvass request as typed by a moderator (mail) or given as CLI options: parsed strictly, no database.

The mail form is a block of ``key: value`` lines at the top, then the question::

    near: 51.2412, 5.3107          (or: near: <a subscriber's name>)
    radius: 1.5 km                 (or: zones: kolonel-dusart, maatheide; or both)
    window: 2026-11-21 02:00 - 04:00
    send: now                      (or: send: 2026-11-23 08:00, or: send: 2h)
    remind: 24h
    close: 72h

    Hebben uw camera's tussen 02:00 en 04:00 een witte bestelwagen gezien op de Balendijk?

Times are local to the network's time zone; ``remind`` and ``close`` are durations after the send time
(or absolute times). Every problem is collected, so the moderator gets them all in one answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar

from save_relay.core.errors import SaveRelayError
from save_relay.core.problems import Problem, joined

__all__ = [
    "DEFAULT_CLOSE",
    "FIELDS",
    "MAX_RADIUS_M",
    "Request",
    "RequestError",
    "parse_distance",
    "parse_duration",
    "parse_mail",
    "parse_near",
    "parse_when",
    "parse_window",
    "request_from_fields",
]

DEFAULT_CLOSE = timedelta(hours=72)
MAX_RADIUS_M = 50_000.0
MAX_QUESTION_CHARS = 20_000
MAX_TITLE_CHARS = 200

#: Field name -> the words that mean it (en, nl, fr), compared case- and accent-insensitively.
FIELDS: Mapping[str, frozenset[str]] = {
    "near": frozenset({"near", "location", "place", "bij", "nabij", "locatie", "plaats", "pres", "lieu"}),
    "radius": frozenset({"radius", "straal", "afstand", "rayon", "distance"}),
    "zones": frozenset({"zones", "zone"}),
    "window": frozenset({"window", "when", "venster", "tijdvenster", "periode", "wanneer", "fenetre"}),
    "send": frozenset({"send", "verstuur", "verzend", "versturen", "envoi", "envoyer"}),
    "remind": frozenset({"remind", "reminder", "herinner", "herinnering", "rappel"}),
    "close": frozenset({"close", "sluit", "afsluiten", "einde", "deadline", "cloture", "fin"}),
    "title": frozenset({"subject", "title", "onderwerp", "titel", "sujet", "titre"}),
    "question": frozenset({"question", "vraag"}),
}
NOW_WORDS = frozenset({"now", "nu", "direct", "onmiddellijk", "meteen", "maintenant", "immediatement"})
_UNITS: Mapping[str, float] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "seconde", "seconden", "secondes"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "minuut", "minuten"), 60.0),
    **dict.fromkeys(("h", "u", "hr", "hrs", "hour", "hours", "uur", "uren", "heure", "heures"), 3600.0),
    **dict.fromkeys(("d", "day", "days", "dag", "dagen", "j", "jour", "jours"), 86400.0),
    **dict.fromkeys(("w", "week", "weeks", "weken", "semaine", "semaines"), 7 * 86400.0),
}
_LENGTHS: Mapping[str, float] = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metres": 1.0, "km": 1000.0}

_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION_PART = re.compile(rf"({_NUMBER})\s*([^\W\d_]+)")
_DISTANCE = re.compile(rf"^({_NUMBER})\s*([^\W\d_]+)$")
_COORDS = re.compile(r"^(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)$")
_DATE = r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
_TIME = r"\d{1,2}[:.h]\d{2}"
_MOMENT = re.compile(rf"^(?P<date>{_DATE})(?:\s+|T)(?P<time>{_TIME})$")
_WINDOW = re.compile(
    rf"^(?P<d1>{_DATE})(?:\s+(?P<t1>{_TIME}))?"
    rf"(?:\s*(?:[-–—]|\s(?:tot|to|until|au|à)\s)\s*(?:(?P<d2>{_DATE})\s+)?(?P<t2>{_TIME}))?$",
    re.IGNORECASE,
)
T = TypeVar("T")
_FIELD_LINE = re.compile(r"^([^\W\d_]+)\s*[:=]\s*(.*)$")


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    ).strip()


_FIELD_BY_WORD = {_fold(word): name for name, words in FIELDS.items() for word in words}


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def parse_distance(text: str) -> float:
    """'1.5 km', '1,5km', '800 m' -> metres; ValueError without a unit or out of (0, 50 km]."""
    m = _DISTANCE.match(text.strip())
    factor = _LENGTHS.get(m.group(2).lower()) if m else None
    if m is None or factor is None:
        raise SpecError("canvass_not_distance", value=text.strip()[:40])
    metres = _number(m.group(1)) * factor
    if not 0 < metres <= MAX_RADIUS_M:
        raise SpecError("canvass_radius_range", limit=f"{MAX_RADIUS_M / 1000:g}")
    return metres


def parse_duration(text: str) -> timedelta:
    """'24h', '72 uur', '1h30m', '2 dagen', '30s' -> timedelta; ValueError if anything is left over."""
    rest, total, found = text.strip().lower(), 0.0, False
    while rest:
        m = _DURATION_PART.match(rest)
        unit = _UNITS.get(m.group(2)) if m else None
        if m is None or unit is None:
            raise SpecError("canvass_not_duration", value=text.strip()[:40])
        total, found = total + _number(m.group(1)) * unit, True
        rest = rest[m.end() :].lstrip(" ,")
    if not found or total <= 0:
        raise SpecError("canvass_not_duration", value=text.strip()[:40])
    return timedelta(seconds=total)


def _date(text: str) -> date:
    """'2026-11-21' (ISO) or '21-11-2026', '21/11/2026', '21.11.2026' (day first, as in Belgium)."""
    first, month, last = re.split(r"[-/.]", text)
    year, day = (first, last) if len(first) == 4 else (last, first)
    return date(int(year), int(month), int(day))


def _time(text: str) -> time:
    hours, minutes = re.split(r"[:.h]", text.lower())
    return time(int(hours), int(minutes))


def _local(day: date, at: time, tz: tzinfo) -> datetime:
    """A wall-clock time in ``tz`` (the earlier one when the clock goes back), as UTC."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def parse_when(text: str, tz: tzinfo, now: datetime) -> datetime:
    """'now', a duration from now ('2h', 'in 2h', '+2h') or a local 'YYYY-MM-DD HH:MM' -> UTC datetime."""
    value = text.strip()
    if _fold(value) in NOW_WORDS:
        return now
    m = _MOMENT.match(value)
    if m is not None:
        try:
            return _local(_date(m.group("date")), _time(m.group("time")), tz)
        except ValueError as exc:
            raise SpecError("canvass_not_moment", value=value[:40], detail=str(exc)) from None
    offset = re.sub(r"^(?:in|over|dans|\+)\s*", "", value, flags=re.IGNORECASE)
    try:
        return now + parse_duration(offset)
    except ValueError:
        raise SpecError("canvass_not_time", value=value[:40]) from None


def parse_window(text: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """'2026-11-21 02:00 - 04:00' (an end before the start is the next day), '2026-11-21 22:00 -
    2026-11-22 04:00', or a whole day '2026-11-21' -> (start, end) in UTC."""
    m = _WINDOW.match(" ".join(text.split()))
    if m is None or (m.group("t2") and not m.group("t1")):
        raise SpecError("canvass_not_window", value=text.strip()[:60])
    try:
        first = _date(m.group("d1"))
        if not m.group("t1"):
            start = _local(first, time(0), tz)
            return start, _local(first + timedelta(days=1), time(0), tz)
        start = _local(first, _time(m.group("t1")), tz)
        if not m.group("t2"):
            return start, start
        end_day = _date(m.group("d2")) if m.group("d2") else first
        end = _local(end_day, _time(m.group("t2")), tz)
    except ValueError as exc:
        raise SpecError("canvass_bad_window", value=text.strip()[:60], detail=str(exc)) from None
    if end < start and not m.group("d2"):  # '22:00 - 02:00': the end is on the next day
        end = _local(first + timedelta(days=1), _time(m.group("t2")), tz)
    if end < start:
        raise SpecError("canvass_window_reversed")
    return start, end


def parse_near(text: str) -> tuple[float, float] | str:
    """'51.2412, 5.3107' -> (lat, lon); anything else is a subscriber's name to look up."""
    value = " ".join(text.split())
    m = _COORDS.match(value)
    if m is None:
        if not value:
            raise SpecError("canvass_near_empty")
        return value[:200]
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SpecError("canvass_near_range", value=value)
    return lat, lon


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in re.split(r"[,;]", text) if item.strip()))


@dataclass(frozen=True, slots=True)
class Request:
    """A canvass as asked for: times in UTC; a subscriber's name and zone names not resolved yet."""

    title: str
    question: str
    near: tuple[float, float] | str | None
    radius_m: float | None
    zones: tuple[str, ...]
    window: tuple[datetime, datetime] | None
    send_at: datetime
    remind_at: datetime | None
    close_at: datetime


class SpecError(ValueError):
    """A value that does not parse, as a problem code (``core/problems.py``); ``str()`` is English."""

    def __init__(self, code: str, **params: str | int) -> None:
        self.problem = Problem.of(code, **params)
        super().__init__(str(self.problem))


class RequestError(SaveRelayError, ValueError):
    """A request with problems; ``problems`` lists each one (codes: the console words them, a mail
    answer and the CLI print their English)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(joined(problems))


def _after(text: str | None, base: datetime, tz: tzinfo, now: datetime) -> datetime | None:
    """A remind/close value: a duration after ``base``, or an absolute local time."""
    if text is None:
        return None
    value = text.strip()
    if _MOMENT.match(value):
        return parse_when(value, tz, now)
    return base + parse_duration(re.sub(r"^(?:na|after|apres|\+)\s*", "", value, flags=re.IGNORECASE))


def _try(problems: list[Problem], label: str, func: Callable[..., T], *args: Any) -> T | None:
    """``func(*args)``, or None with its problem (at the field ``label``) added to ``problems``."""
    try:
        return func(*args)
    except SpecError as exc:
        problems.append(Problem.of(exc.problem.code, **exc.problem.param_map, at_field=label))
    except ValueError as exc:  # a date that does not exist, from the standard library
        problems.append(Problem.of("canvass_invalid", detail=str(exc), at_field=label))
    return None


def _where(
    fields: Mapping[str, str], problems: list[Problem]
) -> tuple[tuple[float, float] | str | None, float | None, tuple[str, ...]]:
    near = _try(problems, "near", parse_near, fields["near"]) if "near" in fields else None
    radius = _try(problems, "radius", parse_distance, fields["radius"]) if "radius" in fields else None
    zones = _split_list(fields.get("zones", ""))
    if "zones" in fields and not zones:
        problems.append(Problem.of("canvass_no_zones", at_field="zones"))
    if "near" in fields and "radius" not in fields:
        problems.append(Problem.of("canvass_no_radius", at_field="radius"))
    if "radius" in fields and "near" not in fields:
        problems.append(Problem.of("canvass_no_near", at_field="near"))
    if "near" not in fields and "zones" not in fields:
        problems.append(Problem.of("canvass_where"))
    return near, radius, zones


def _times(
    fields: Mapping[str, str], tz: tzinfo, now: datetime, problems: list[Problem]
) -> tuple[datetime, datetime | None, datetime]:
    send_at = now
    if "send" in fields:
        send_at = _try(problems, "send", parse_when, fields["send"], tz, now) or now
        if send_at < now - timedelta(minutes=1):
            problems.append(Problem.of("canvass_past", at_field="send"))
    remind_at = _try(problems, "remind", _after, fields.get("remind"), send_at, tz, now)
    close_at = _try(problems, "close", _after, fields.get("close"), send_at, tz, now)
    close_at = close_at or send_at + DEFAULT_CLOSE
    if close_at <= send_at:
        problems.append(Problem.of("canvass_close_early", at_field="close"))
    if remind_at is not None and not send_at < remind_at < close_at:
        problems.append(Problem.of("canvass_remind_between", at_field="remind"))
    return send_at, remind_at, close_at


def request_from_fields(
    fields: Mapping[str, str], *, title: str, question: str, tz: tzinfo, now: datetime
) -> Request:
    """Check and convert ``fields`` (keys of FIELDS); raises RequestError listing every problem."""
    problems: list[Problem] = []
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        problems.append(Problem.of("canvass_unknown_fields", names=tuple(unknown)))
    near, radius_m, zones = _where(fields, problems)
    window = _try(problems, "window", parse_window, fields["window"], tz) if "window" in fields else None
    send_at, remind_at, close_at = _times(fields, tz, now, problems)
    question = question.strip()[:MAX_QUESTION_CHARS]
    if not question:
        problems.append(Problem.of("canvass_no_question"))
    title = " ".join(title.split())[:MAX_TITLE_CHARS] or " ".join(question.split())[:80]
    if problems:
        raise RequestError(problems)
    return Request(
        title=title,
        question=question,
        near=near,
        radius_m=radius_m,
        zones=zones,
        window=window,
        send_at=send_at,
        remind_at=remind_at,
        close_at=close_at,
    )


def _strip_reply_prefix(subject: str) -> str:
    return re.sub(r"^(?:\s*(?:re|fw|fwd|tr|antw|doorst)\s*:\s*)+", "", subject, flags=re.IGNORECASE)


def parse_mail(subject: str, text: str, *, tz: tzinfo, now: datetime) -> Request:
    """Read the ``key: value`` block at the top of ``text`` and the question below it.

    The block ends at the first blank line or the first line that is not ``word: value``; an unknown
    word inside the block is an error (a typo must not end up in the question). ``question:`` starts
    the question on its own line. Raises RequestError.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fields: dict[str, str] = {}
    problems: list[Problem] = []
    body_start = len(lines)
    started = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        m = _FIELD_LINE.match(stripped)
        if not stripped:
            if started:
                body_start = i + 1
                break
            continue
        if m is None:
            body_start = i
            break
        started = True
        name = _FIELD_BY_WORD.get(_fold(m.group(1)))
        if name is None:
            problems.append(Problem.of("canvass_unknown_field", value=m.group(1)[:30]))
            continue
        if name == "question":
            lines[i] = m.group(2)
            body_start = i
            break
        if name in fields:
            problems.append(Problem.of("canvass_twice", at_field=name))
        fields[name] = m.group(2).strip()
    title = fields.pop("title", "") or _strip_reply_prefix(subject)
    question = "\n".join(line.rstrip() for line in lines[body_start:]).strip()
    try:
        request = request_from_fields(fields, title=title, question=question, tz=tz, now=now)
    except RequestError as exc:
        raise RequestError(problems + exc.problems) from None
    if problems:
        raise RequestError(problems)
    return request
