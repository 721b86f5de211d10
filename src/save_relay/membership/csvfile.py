"""The subscribers CSV: read and validate it line by line, and write it back. Pure, no database.

Columns (a header line names them; ``company`` and ``addresses`` are required, the others optional):

    company,contact,addresses,street,latitude,longitude,zones,groups,sms

``addresses``, ``zones``, ``groups`` and ``sms`` hold several values separated by ``;``. ``sms``: the
mobile numbers that opted in to urgent SMS, national (``0470 12 34 56``, read in the network's
``phone_region``) or international (``+31 6 ...``), kept as E.164; a file without the column leaves
the numbers as they are. Latitude and longitude
are decimal degrees (WGS 84), both given or both empty. Every bad line is reported with its line number
and all its reasons; a bad line is never half-applied because the caller only ever sees good rows.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from save_relay.core.addresses import normalize_address
from save_relay.core.geo import SLUG_RE
from save_relay.core.phones import InvalidNumber, e164
from save_relay.core.problems import Problem, joined

COLUMNS: tuple[str, ...] = (
    "company",
    "contact",
    "addresses",
    "street",
    "latitude",
    "longitude",
    "zones",
    "groups",
    "sms",
)
REQUIRED: tuple[str, ...] = ("company", "addresses")
MAX_LENGTHS = {"company": 200, "contact": 200, "street": 300}
MAX_LINES = 200_000


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    """One valid line: a company with its addresses (normalised, lower-cased), place, zones and groups."""

    line: int
    company: str
    contact: str = ""
    addresses: tuple[str, ...] = ()
    street: str = ""
    latitude: float | None = None
    longitude: float | None = None
    zones: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    sms: tuple[str, ...] = ()  # E.164 numbers opted in to SMS


@dataclass(frozen=True, slots=True)
class LineError:
    """Why line ``line`` was refused (line 0: the file as a whole): its problems, as codes."""

    line: int
    problems: tuple[Problem, ...]

    @classmethod
    def of(cls, line: int, code: str, **params: str | int | float | tuple[str, ...]) -> LineError:
        return cls(line, (Problem.of(code, **params),))

    @property
    def reason(self) -> str:
        """The problems in English (the CLI's words)."""
        return joined(self.problems)

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass(frozen=True, slots=True)
class Parsed:
    """The good rows, the refused lines, and the columns the file has (absent ones are left alone)."""

    rows: tuple[SubscriberRow, ...]
    errors: tuple[LineError, ...]
    columns: tuple[str, ...] = ()


def split_list(cell: str | None) -> list[str]:
    """``"a; b;;c"`` -> ``["a", "b", "c"]``."""
    return [item.strip() for item in (cell or "").split(";") if item.strip()]


def _coordinate(value: str, name: str, limit: int, problems: list[Problem]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        problems.append(Problem.of("csv_not_a_number", field=name, value=value))
        return None
    if not math.isfinite(number) or not -limit <= number <= limit:
        problems.append(Problem.of("csv_out_of_range", field=name, value=value, limit=limit))
        return None
    return number


def _location(lat: str, lon: str, problems: list[Problem]) -> tuple[float | None, float | None]:
    if not lat and not lon:
        return None, None
    if not lat or not lon:
        problems.append(Problem.of("csv_half_location"))
        return None, None
    return _coordinate(lat, "latitude", 90, problems), _coordinate(lon, "longitude", 180, problems)


def _addresses(cell: str, problems: list[Problem], test_environment: bool) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for raw in split_list(cell):
        address = normalize_address(raw, test_environment=test_environment)
        if address is None:
            problems.append(Problem.of("csv_invalid_address", value=raw))
        else:
            found[address.lower()] = None
    if not found and not problems:
        problems.append(Problem.of("csv_no_address"))
    return tuple(found)


def _numbers(cell: str, region: str, problems: list[Problem]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for raw in split_list(cell):
        try:
            found[e164(raw, region)] = None
        except InvalidNumber as exc:
            code = "csv_not_mobile" if exc.reason == "not_mobile" else "csv_invalid_mobile"
            problems.append(Problem.of(code, value=exc.value))
    return tuple(found)


def _slugs(cell: str, kind: str, known: Collection[str] | None, problems: list[Problem]) -> tuple[str, ...]:
    slugs = tuple(dict.fromkeys(split_list(cell)))
    for slug in slugs:
        if not SLUG_RE.match(slug):
            problems.append(Problem.of(f"csv_invalid_{kind}_name", value=slug))
        elif known is not None and slug not in known:
            problems.append(Problem.of(f"csv_unknown_{kind}", value=slug))
    return slugs


def validate_row(
    line: int,
    cells: dict[str, str],
    zones: Collection[str],
    groups: Collection[str] | None,
    test_environment: bool = False,
    region: str = "BE",
) -> SubscriberRow | list[Problem]:
    """One line's cells (by column name) as a row, or the list of what is wrong with them; ``region``:
    the country of numbers written nationally."""
    problems: list[Problem] = []
    company = " ".join(cells.get("company", "").split())
    if not company:
        problems.append(Problem.of("csv_no_company"))
    for name, limit in MAX_LENGTHS.items():
        if len(cells.get(name, "").strip()) > limit:
            problems.append(Problem.of("csv_too_long", field=name, limit=limit))
    addresses = _addresses(cells.get("addresses", ""), problems, test_environment)
    latitude, longitude = _location(cells.get("latitude", ""), cells.get("longitude", ""), problems)
    zone_slugs = _slugs(cells.get("zones", ""), "zone", zones, problems)
    group_slugs = _slugs(cells.get("groups", ""), "group", groups, problems)
    numbers = _numbers(cells.get("sms", ""), region, problems)
    if problems:
        return problems
    return SubscriberRow(
        line=line,
        company=company,
        contact=" ".join(cells.get("contact", "").split()),
        addresses=addresses,
        street=" ".join(cells.get("street", "").split()),
        latitude=latitude,
        longitude=longitude,
        zones=zone_slugs,
        groups=group_slugs,
        sms=numbers,
    )


def _header(reader: Iterable[list[str]]) -> list[str] | LineError:
    header = next(iter(reader), None)
    if header is None:
        return LineError.of(0, "csv_empty")
    names = [name.strip().lower() for name in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [n for n in REQUIRED if n not in names]
    duplicate = sorted({n for n in names if names.count(n) > 1})
    if unknown or missing or duplicate:
        found = [("csv_unknown_columns", unknown), ("csv_missing_columns", missing)]
        found += [("csv_repeated_columns", duplicate)]
        parts = [Problem.of(code, names=tuple(names)) for code, names in found if names]
        return LineError(1, (*parts, Problem.of("csv_header_expected", expected=",".join(COLUMNS))))
    return names


def parse_subscribers(
    text: str,
    *,
    zones: Collection[str],
    groups: Collection[str] | None,
    test_environment: bool = False,
    region: str = "BE",
) -> Parsed:
    """Read the CSV ``text``; ``zones``/``groups`` are the known slugs (``groups=None``: any name).

    Returns the good rows and one error per bad line (all its reasons joined). A company on two lines
    is an error on the second: put all of a company's addresses on one line.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    rows: list[SubscriberRow] = []
    errors: list[LineError] = []
    header: list[str] = []
    try:
        found_header = _header(reader)
        if isinstance(found_header, LineError):
            return Parsed((), (found_header,))
        header = found_header
        companies: dict[str, int] = {}
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if start > MAX_LINES:
                errors.append(LineError.of(start, "csv_too_many_lines", limit=MAX_LINES))
                break
            if len(cells) != len(header):
                errors.append(LineError.of(start, "csv_field_count", found=len(cells), expected=len(header)))
                continue
            cells_by_name = dict(zip(header, cells, strict=True))
            found = validate_row(start, cells_by_name, zones, groups, test_environment, region)
            if isinstance(found, list):
                errors.append(LineError(start, tuple(found)))
            elif (first := companies.setdefault(found.company.casefold(), start)) != start:
                errors.append(
                    LineError.of(start, "csv_duplicate_company", company=found.company, first=first)
                )
            else:
                rows.append(found)
    except csv.Error as exc:
        errors.append(LineError.of(reader.line_num, "csv_unreadable", detail=str(exc)))
    return Parsed(tuple(rows), tuple(errors), tuple(header))


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def write_subscribers(rows: Iterable[SubscriberRow]) -> str:
    """The CSV text of ``rows``, in the format ``parse_subscribers`` reads."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.company,
                row.contact,
                ";".join(row.addresses),
                row.street,
                _number(row.latitude),
                _number(row.longitude),
                ";".join(row.zones),
                ";".join(row.groups),
                ";".join(row.sms),
            ]
        )
    return out.getvalue()
