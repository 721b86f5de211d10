"""Mail to +request: commands in three languages and the detail lines."""

from __future__ import annotations

import pytest

from save_relay.core.geo import parse_location
from save_relay.membership.requestmail import (
    Details,
    parse_details,
    parse_request,
    says_no,
    without_details,
)


@pytest.mark.parametrize(
    ("subject", "body", "action"),
    [
        ("", "subscribe", "subscribe"),
        ("", "Aanmelden\nbedrijf: X", "subscribe"),
        ("", "inschrijven", "subscribe"),
        ("Re: Inscrire", "", "subscribe"),
        ("", "UNSUBSCRIBE please", "unsubscribe"),
        ("afmelden", "Beste,\nik wil stoppen.", "unsubscribe"),
        ("", "désinscrire", "unsubscribe"),
        ("", "help", "help"),
        ("hulp", "", "help"),
        ("", "aide", "help"),
        ("Vraag", "Wat is dit?", None),
    ],
)
def test_commands(subject: str, body: str, action: str | None) -> None:
    assert parse_request(subject, body).action == action


def test_details_in_dutch_english_and_french() -> None:
    nl = parse_details(
        "ja\nBedrijf: Staal Noord NV\nNaam: An Jacobs\n"
        "Adres: Noordlaan 1, 3900 Testdorp\nLocatie: 51,12 5,07\n"
    )
    assert nl == Details("Staal Noord NV", "An Jacobs", "Noordlaan 1, 3900 Testdorp", 51.12, 5.07)
    en = parse_details("company: Acme\nlocation: 51.1, 5.2")
    assert (en.company, en.latitude, en.longitude) == ("Acme", 51.1, 5.2)
    fr = parse_details("Entreprise : Société X\nCoordonnées: 50.85; 4.35")
    assert (fr.company, fr.latitude, fr.longitude) == ("Société X", 50.85, 4.35)


def test_bad_location_is_a_problem_not_a_crash() -> None:
    details = parse_details("locatie: ergens in Lommel")
    assert details.latitude is None and details.problems == (
        "location 'ergens in Lommel' is not 'latitude, longitude' in degrees",
    )
    assert parse_location("91, 5") is None and parse_location("51.2, 5.3") == (51.2, 5.3)


def test_no_and_detail_stripping() -> None:
    assert says_no("Nee, bedankt") and says_no("cancel") and not says_no("ja")
    assert without_details("ok\nbedrijf: X\nzones: park-noord\n") == "ok\nzones: park-noord"
