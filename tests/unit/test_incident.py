"""mail/incident.py: the incident time read from a report's words, and the suggested category."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from save_relay.core.categories import DEFAULT_CATEGORIES
from save_relay.mail.incident import parse_moderator_time, read_incident_time, suggest_category

BRUSSELS = ZoneInfo("Europe/Brussels")
# Saturday 21 November 2026, 08:30 in Lommel.
RECEIVED = datetime(2026, 11, 21, 8, 30, tzinfo=BRUSSELS)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BRUSSELS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Vannacht om 03:00 stond een witte bestelwagen aan onze poort.", local(21, 3)),
        ("Gisteren rond 22u zagen we twee mannen aan het hek.", local(20, 22)),
        ("gisterenavond om 10 uur werd er koper gestolen", local(20, 22)),
        ("Vanochtend om 7u30 was het hek opengebroken.", local(21, 7, 30)),
        ("Hier soir vers 23h, un véhicule suspect devant l'entrée.", local(20, 23)),
        ("Cette nuit vers 2h15 on a volé du câble de cuivre.", local(21, 2, 15)),
        ("Ce matin à 6h45 la porte était fracturée.", local(21, 6, 45)),
        ("Last night at 3 am two men climbed the fence.", local(21, 3)),
        ("Yesterday around 10 pm a van without plates.", local(20, 22)),
        ("This morning at 07:15 the gate was open.", local(21, 7, 15)),
        ("Gestern gegen 23 Uhr ein verdächtiges Fahrzeug.", local(20, 23)),
        ("Op 19/11 om 14.30 uur werd een valse factuur ontvangen.", local(19, 14, 30)),
        ("Le 18/11/2026 à 16h nous avons constaté des tags.", local(18, 16)),
        ("Donderdag om 21:00 zagen we iemand rondhangen.", local(19, 21)),
        ("Om 23u stond er een auto met draaiende motor.", local(20, 23)),  # no day: before the mail
        ("Om 05:10 ging het alarm af.", local(21, 5, 10)),
        ("Om 2 uur 's nachts hoorden we lawaai.", local(21, 2)),
    ],
)
def test_times_read_from_the_text(text: str, expected: datetime) -> None:
    found = read_incident_time(text, RECEIVED, BRUSSELS)
    assert found is not None, text
    assert found.at == expected, (text, found)
    assert found.phrase


@pytest.mark.parametrize(
    "text",
    [
        "Kenteken 2-XYZ-987, een witte bestelwagen.",
        "Bel ons op +32 11 55 55 55 of 011/55.55.55.",
        "Schade van € 300 aan de poort.",
        "Er stonden 3 mannen aan de poort.",
        "Versie 2.10 van het alarmsysteem.",
        "Gisteren zagen we een verdachte wagen.",  # a day, but no hour: not clear
        "Het gebeurde om 3 mannen te helpen.",
        "Vandaag om 23:00 komt de patrouille.",  # later than the mail on the day it names: no reading
        "Het hek is 2 m hoog, de container 40 u breed? nee.",
    ],
)
def test_words_that_are_no_time(text: str) -> None:
    found = read_incident_time(text, RECEIVED, BRUSSELS)
    assert found is None, (text, found)


def test_the_night_across_the_daylight_saving_change() -> None:
    """Sunday 29 March 2026: 02:00 CET became 03:00 CEST. 'Vannacht om 04:00' is 02:00 UTC."""
    received = datetime(2026, 3, 29, 9, 0, tzinfo=BRUSSELS)
    found = read_incident_time("Vannacht om 04:00 werd ingebroken.", received, BRUSSELS)
    assert found is not None
    assert found.at.utcoffset() is not None
    assert found.at.astimezone(ZoneInfo("UTC")).hour == 2
    before = read_incident_time("Vannacht om 01:00 werd ingebroken.", received, BRUSSELS)
    assert before is not None
    assert before.at.astimezone(ZoneInfo("UTC")).hour == 0


def test_moderator_time() -> None:
    assert parse_moderator_time("21/11 03:00", RECEIVED, BRUSSELS) == local(21, 3)
    assert parse_moderator_time("gisteren 22u", RECEIVED, BRUSSELS) == local(20, 22)
    assert parse_moderator_time("nonsens", RECEIVED, BRUSSELS) is None
    assert parse_moderator_time("2026-11-20 22:15", RECEIVED, BRUSSELS) == local(20, 22, 15)
    assert parse_moderator_time("2026-11-20T22:15", RECEIVED, BRUSSELS) == local(20, 22, 15)
    assert parse_moderator_time("20.11.2026 23u", RECEIVED, BRUSSELS) == local(20, 23)
    assert parse_moderator_time("21/11", RECEIVED, BRUSSELS) is None  # a day without an hour
    assert parse_moderator_time("21/11 09:00", RECEIVED, BRUSSELS) is None  # after the report came in


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("Koperdiefstal", "Vannacht werd koperkabel gestolen van de werf.", "copper-theft"),
        ("Inbraak", "Er werd ingebroken in de loods, deur opengebroken.", "burglary"),
        ("Diefstal", "Twee paletten gestolen uit de opslag.", "theft"),
        ("Witte bestelwagen aan de poort", "Een bestelwagen met kenteken 2-XYZ-987.", "suspicious-vehicle"),
        ("Vol de cuivre", "On a volé du câble de cuivre cette nuit.", "copper-theft"),
        ("Phishing", "A fake invoice and a phishing mail reached accounting.", "fraud"),
        ("Vraag", "Wanneer is de volgende vergadering?", "other"),
        ("Container", "De container was vol, wie haalt hem op?", "other"),  # Dutch 'vol' is 'full'
    ],
)
def test_category_suggestion(subject: str, text: str, expected: str) -> None:
    assert suggest_category(subject, text, DEFAULT_CATEGORIES) == expected
