"""The demo network in config/ is well-formed: subscribers.csv against zones.geojson."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email

CONFIG = Path(__file__).resolve().parents[2] / "config"
HEADER = ["company", "contact", "addresses", "street", "latitude", "longitude", "zones", "groups"]
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
POLICE_GROUP = "politie-ploegen"


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with (CONFIG / "subscribers.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == HEADER
        return list(reader)


@pytest.fixture(scope="module")
def zone_slugs() -> set[str]:
    data = json.loads((CONFIG / "zones.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["slug"] for f in data["features"]}


def test_row_shape(rows: list[dict[str, str]]) -> None:
    companies = [r for r in rows if POLICE_GROUP not in _split(r["groups"])]
    assert 35 <= len(companies) <= 45
    names = [r["company"] for r in rows]
    assert len(set(names)) == len(names), "company names must be unique"
    for row in rows:
        assert None not in row, f"too many columns in {row!r}"
        assert all(isinstance(v, str) for v in row.values()), f"too few columns in {row!r}"
        assert row["company"].strip() and row["contact"].strip() and row["street"].strip(), row


def test_addresses_are_valid_and_unique(rows: list[dict[str, str]]) -> None:
    seen: set[str] = set()
    for row in rows:
        addresses = _split(row["addresses"])
        assert addresses, row["company"]
        for address in addresses:
            try:
                normalized = validate_email(address, check_deliverability=False).normalized
            except EmailNotValidError as exc:
                pytest.fail(f"{row['company']}: {address!r}: {exc}")
            assert normalized.lower() not in seen, f"{address} listed twice"
            seen.add(normalized.lower())
            # Demo data must never point at real mailboxes.
            assert normalized.endswith(".example"), address


def test_coordinates_in_range(rows: list[dict[str, str]]) -> None:
    for row in rows:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        assert -90 <= lat <= 90 and -180 <= lon <= 180, row["company"]
        # Everything in the demo is in the Kempen, around Lommel.
        assert 51.0 <= lat <= 51.4 and 5.0 <= lon <= 5.6, row["company"]


def test_zone_and_group_slugs(rows: list[dict[str, str]], zone_slugs: set[str]) -> None:
    for row in rows:
        for slug in _split(row["zones"]):
            assert slug in zone_slugs, f"{row['company']}: unknown zone {slug!r}"
        for group in _split(row["groups"]):
            assert SLUG_RE.match(group), f"{row['company']}: bad group slug {group!r}"


def test_police_shifts(rows: list[dict[str, str]]) -> None:
    shifts = [r for r in rows if POLICE_GROUP in _split(r["groups"])]
    assert len(shifts) >= 3
    for row in shifts:
        for address in _split(row["addresses"]):
            assert address.endswith("@politie.lommel.example"), address
