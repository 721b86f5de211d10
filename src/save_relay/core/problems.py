"""Problems found in a file a person hands in (the subscribers CSV, a zones GeoJSON), as codes.

A service returns :class:`Problem` values, never sentences: the CLI prints them in English
(``str(problem)``, the texts below), the console renders them in the account's language from its own
tables (``web/problem_texts.py``) with :func:`render`. Parameters are plain values (numbers, names as
the file wrote them); a ``feature`` parameter places a GeoJSON problem at its feature, a ``field``
parameter names a CSV column (columns keep their English names: they are the file's header).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from save_relay.core.errors import SaveRelayError

ParamValue: TypeAlias = str | int | float | tuple[str, ...]

#: English, for the CLI and the logs; ``{name}`` are the problem's parameters.
ENGLISH: dict[str, str] = {
    # subscribers CSV
    "csv_empty": "the file is empty",
    "csv_header_expected": "the header names the columns {expected}",
    "csv_unknown_columns": "unknown column(s) {names}",
    "csv_missing_columns": "missing column(s) {names}",
    "csv_repeated_columns": "repeated column(s) {names}",
    "csv_too_many_lines": "more than {limit} lines; the rest is ignored",
    "csv_field_count": "{found} fields, the header has {expected}",
    "csv_unreadable": "unreadable CSV: {detail}; the rest is ignored",
    "csv_duplicate_company": "company {company!r} is also on line {first}",
    "csv_not_a_number": "{field} {value!r} is not a number",
    "csv_out_of_range": "{field} {value} out of range (-{limit}..{limit})",
    "csv_half_location": "latitude and longitude must both be given (or both left empty)",
    "csv_invalid_address": "invalid address {value!r}",
    "csv_no_address": "no address given",
    "csv_invalid_mobile": "invalid mobile number {value!r}",
    "csv_not_mobile": "{value!r} is not a mobile number (SMS needs one)",
    "csv_invalid_zone_name": "invalid zone name {value!r}",
    "csv_invalid_group_name": "invalid group name {value!r}",
    "csv_unknown_zone": "unknown zone {value!r}",
    "csv_unknown_group": "unknown group {value!r}",
    "csv_no_company": "no company given",
    "csv_too_long": "{field} longer than {limit} characters",
    "company_taken": "another company is already called {company!r}",
    "csv_address_erased": (
        "{address} was erased on request (an admin may lift it: save-relay privacy unsuppress ADDRESS)"
    ),
    # zones GeoJSON
    "geo_not_json": "not valid JSON: {detail}",
    "geo_not_collection": "top level is not a GeoJSON FeatureCollection",
    "geo_no_features": "FeatureCollection has no 'features' list",
    "geo_not_feature": "not a GeoJSON Feature with properties",
    "geo_ring_short": "a linear ring needs at least 4 positions",
    "geo_bad_position": "malformed position {value}",
    "geo_out_of_range": "coordinate [{lon}, {lat}] out of range (lon -180..180, lat -90..90)",
    "geo_ring_open": "linear ring is not closed (first position != last position)",
    "geo_no_geometry": "missing geometry",
    "geo_bad_type": "geometry type {value!r} is not Polygon or MultiPolygon",
    "geo_bad_coordinates": "empty or malformed coordinates",
    "geo_bad_polygon": "empty or malformed polygon",
    "geo_empty": "empty geometry",
    "geo_invalid": "invalid geometry: {detail}",
    "geo_bad_slug": "invalid slug {value!r} (must match {pattern})",
    "geo_duplicate_slug": "duplicate slug {value!r} (also feature #{other})",
    "geo_no_name": "missing or empty name",
    "geo_bad_kind": "unknown kind {value!r} (expected one of {kinds})",
    "geo_bad_parent": "parent must be a slug or null, got {value!r}",
    "geo_own_parent": "zone is its own parent",
    "geo_unknown_parent": "unknown parent {value!r}",
    "geo_cycle": "parent cycle {chain}",
    # a canvass (its fields as a form, a mail or the CLI give them)
    "canvass_not_distance": "not a distance: {value!r} (write e.g. '1.5 km' or '800 m')",
    "canvass_radius_range": "the radius must be more than 0 and at most {limit} km",
    "canvass_not_duration": "not a duration: {value!r} (write e.g. '24h', '3d' or '90m')",
    "canvass_not_moment": "not a date and time: {value!r} ({detail})",
    "canvass_not_time": "not a time: {value!r} (write 'now', 'YYYY-MM-DD HH:MM' or a duration like '2h')",
    "canvass_not_window": "not a time window: {value!r} (write e.g. '2026-11-21 02:00 - 04:00')",
    "canvass_bad_window": "not a time window: {value!r} ({detail})",
    "canvass_window_reversed": "the window ends before it starts",
    "canvass_near_empty": "give coordinates ('51.2412, 5.3107') or a subscriber's name",
    "canvass_near_range": "coordinates out of range: {value!r} (latitude first, then longitude)",
    "canvass_invalid": "{detail}",
    "canvass_no_zones": "no zones given",
    "canvass_no_radius": "missing (write e.g. 'radius: 1.5 km' under 'near:')",
    "canvass_no_near": "missing (the radius is counted from this point)",
    "canvass_where": "say where: 'near:' with 'radius:', or 'zones:'",
    "canvass_past": "that time has passed",
    "canvass_close_early": "must come after the send time",
    "canvass_remind_between": "must come after the send time and before the close",
    "canvass_unknown_fields": "unknown field(s): {names}",
    "canvass_no_question": "the question is missing: write it below the lines with 'near:', 'send:' ...",
    "canvass_unknown_field": "unknown field {value!r}",
    "canvass_twice": "given twice",
    # where a GeoJSON problem is, before its text (not codes of their own)
    "at_feature": "feature #{feature} ('{slug}'): ",
    "at_feature_bare": "feature #{feature}: ",
    "at_line": "line {line}: ",
    "at_field": "{at_field}: ",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem code (a key of :data:`ENGLISH`) and its parameters; ``str()`` is the English text."""

    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, code: str, **params: ParamValue) -> Problem:
        assert code in ENGLISH, code
        return cls(code, tuple(sorted(params.items())))

    @property
    def param_map(self) -> dict[str, ParamValue]:
        return dict(self.params)

    def __str__(self) -> str:
        return render(self, ENGLISH)


def _plain(value: ParamValue) -> str | int | float:
    return ", ".join(value) if isinstance(value, tuple) else value


def render(problem: Problem, texts: Mapping[str, str]) -> str:
    """``problem`` in the words of ``texts`` (English for a code it lacks), placed at its feature."""
    params = {name: _plain(value) for name, value in problem.params}
    text = (texts.get(problem.code) or ENGLISH[problem.code]).format_map(params)
    if "feature" in params:
        place = "at_feature" if "slug" in params else "at_feature_bare"
        return (texts.get(place) or ENGLISH[place]).format_map(params) + text
    if "at_field" in params:
        return (texts.get("at_field") or ENGLISH["at_field"]).format_map(params) + text
    return text


def at_feature(problem: Problem, index: int, slug: object) -> Problem:
    """``problem`` placed at the ``index``-th feature of a GeoJSON file (its slug, if it has one)."""
    if isinstance(slug, str):
        return Problem.of(problem.code, **problem.param_map, feature=index, slug=slug)
    return Problem.of(problem.code, **problem.param_map, feature=index)


def joined(problems: tuple[Problem, ...] | list[Problem]) -> str:
    """Several problems as one English line, ``"; "`` between them."""
    return "; ".join(map(str, problems))


class ProblemsError(SaveRelayError):
    """A refusal made of problems (a subscriber's fields); the message is their English text."""

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(joined(self.problems))
