"""The subscribers CSV: every bad line reported with its number and reasons; good lines parsed whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from save_relay.membership.csvfile import LineError, parse_subscribers, write_subscribers

DATA = Path(__file__).resolve().parents[1] / "data" / "membership"
ZONES = {"gemeente", "sector-a", "park-noord", "park-zuid"}
GROUPS = {"transport", "politie-ploegen"}


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_good_file() -> None:
    parsed = parse_subscribers(_read("subscribers_good.csv"), zones=ZONES, groups=GROUPS)
    assert parsed.errors == ()
    assert [r.line for r in parsed.rows] == [2, 3, 4, 5, 6]
    first, _, third, fourth, _ = parsed.rows
    assert first.addresses == ("security@staal-noord.example", "nacht@staal-noord.example")
    assert (first.latitude, first.longitude) == (51.12, 5.07)
    assert third.company == 'Transport "De Snelle" & Zonen' and third.groups == ("transport",)
    assert fourth.zones == ("park-noord",)
    assert parsed.columns == (
        "company",
        "contact",
        "addresses",
        "street",
        "latitude",
        "longitude",
        "zones",
        "groups",
    )


def test_bad_file_reports_each_line_with_its_reasons() -> None:
    parsed = parse_subscribers(_read("subscribers_bad.csv"), zones=ZONES, groups=GROUPS)
    assert [str(e) for e in parsed.errors] == [
        "line 3: no address given",
        "line 4: invalid address 'greet@@fout.example'",
        "line 5: latitude 91.5 out of range (-90..90)",
        "line 6: latitude and longitude must both be given (or both left empty)",
        "line 7: unknown zone 'park-west'; unknown group 'vrijwilligers'",
        "line 10: 9 fields, the header has 8",
        "line 11: company 'Goed BV' is also on line 2",
    ]
    # The good lines, whole: the byte order mark is gone, a quoted line break counts as one line.
    assert [(r.line, r.company) for r in parsed.rows] == [
        (2, "Goed BV"),
        (8, "Meerregelig BV"),
        (12, "Ook Goed NV"),
    ]


def test_unknown_groups_pass_when_groups_may_be_created() -> None:
    parsed = parse_subscribers(_read("subscribers_bad.csv"), zones=ZONES, groups=None)
    assert "line 7: unknown zone 'park-west'" in [str(e) for e in parsed.errors]


def test_header_problems_refuse_the_file() -> None:
    parsed = parse_subscribers("company,email,latitude\nX,x@y.example,1\n", zones=ZONES, groups=GROUPS)
    assert parsed.rows == ()
    assert parsed.errors[0].line == 1 and "unknown column(s) email" in parsed.errors[0].reason
    assert "missing column(s) addresses" in parsed.errors[0].reason
    assert parse_subscribers("", zones=ZONES, groups=GROUPS).errors == (LineError.of(0, "csv_empty"),)
    assert str(LineError.of(0, "csv_empty")) == "the file is empty"


def test_optional_columns_and_locations() -> None:
    text = "company,addresses,latitude,longitude\nA,a@a.example,,\nB,b@b.example,-90,180\nC,c@c.example,x,1\n"
    parsed = parse_subscribers(text, zones=ZONES, groups=GROUPS)
    assert [(r.company, r.latitude, r.longitude) for r in parsed.rows] == [
        ("A", None, None),
        ("B", -90.0, 180.0),
    ]
    assert [str(e) for e in parsed.errors] == ["line 4: latitude 'x' is not a number"]
    assert parsed.columns == ("company", "addresses", "latitude", "longitude")


def test_written_file_reads_back_the_same() -> None:
    rows = parse_subscribers(_read("subscribers_good.csv"), zones=ZONES, groups=GROUPS).rows
    again = parse_subscribers(write_subscribers(rows), zones=ZONES, groups=GROUPS)
    assert again.errors == ()
    assert [replace(r, line=0) for r in again.rows] == [replace(r, line=0) for r in rows]
