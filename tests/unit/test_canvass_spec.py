"""Parsing a canvass request: distances, durations, local times, windows, and the mail's field block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from save_relay.canvass.spec import (
    DEFAULT_CLOSE,
    RequestError,
    parse_distance,
    parse_duration,
    parse_mail,
    parse_near,
    parse_when,
    parse_window,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # 10:30 in Brussels (UTC+1 in winter)


@pytest.mark.parametrize(
    ("text", "metres"),
    [("1.5 km", 1500.0), ("1,5km", 1500.0), ("800 m", 800.0), ("800m", 800.0), ("2 KM", 2000.0)],
)
def test_distances(text: str, metres: float) -> None:
    assert parse_distance(text) == metres


@pytest.mark.parametrize("text", ["1.5", "1.5 miles", "0 m", "51 km", "km", ""])
def test_bad_distances(text: str) -> None:
    with pytest.raises(ValueError, match=r"distance|radius"):
        parse_distance(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("72 uur", 259200), ("3d", 259200), ("2 dagen", 172800), ("1h30m", 5400), ("2s", 2)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "24", "tomorrow", "2h and some", "0h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_times_are_local_to_the_network() -> None:
    assert parse_when("now", BRUSSELS, NOW) == NOW
    assert parse_when("nu", BRUSSELS, NOW) == NOW
    assert parse_when("in 2h", BRUSSELS, NOW) == NOW + timedelta(hours=2)
    # 08:00 in Brussels on 23 November (winter time, UTC+1) is 07:00 UTC
    assert parse_when("2026-11-23 08:00", BRUSSELS, NOW) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert parse_when("23/11/2026 08.00", BRUSSELS, NOW) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    # in summer (UTC+2)
    assert parse_when("2026-07-01 08:00", BRUSSELS, NOW) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a"):
        parse_when("2026-13-01 08:00", BRUSSELS, NOW)


def test_windows() -> None:
    start, end = parse_window("2026-11-21 02:00 - 04:00", BRUSSELS)
    assert (start, end) == (
        datetime(2026, 11, 21, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 21, 3, 0, tzinfo=UTC),
    )
    start, end = parse_window("2026-11-21 22:00 - 02:00", BRUSSELS)  # over midnight
    assert end - start == timedelta(hours=4)
    start, end = parse_window("2026-11-21 22:00 tot 2026-11-22 06:00", BRUSSELS)
    assert end - start == timedelta(hours=8)
    start, end = parse_window("21-11-2026", BRUSSELS)  # the whole day
    assert end - start == timedelta(days=1)
    with pytest.raises(ValueError, match="window"):
        parse_window("last night", BRUSSELS)
    with pytest.raises(ValueError, match="before it starts"):
        parse_window("2026-11-22 02:00 - 2026-11-21 04:00", BRUSSELS)


def test_near_is_coordinates_or_a_name() -> None:
    assert parse_near("51.2412, 5.3107") == (51.2412, 5.3107)
    assert parse_near("51.2412 5.3107") == (51.2412, 5.3107)
    assert parse_near("Metaalwerken  Vos NV") == "Metaalwerken Vos NV"
    with pytest.raises(ValueError, match="out of range"):
        parse_near("91.0, 5.3")


ISSUE_EXAMPLE = """near: 51.2412, 5.3107
radius: 1.5 km
window: 2026-11-21 02:00 - 04:00
send: 2026-11-23 08:00
remind: 24h
close: 72h

Hebben uw camera's tussen 02:00 en 04:00 een witte bestelwagen gezien op de Balendijk?
Ook "niets gezien" helpt ons.

Met vriendelijke groeten,
Inspecteur Peeters
"""


def test_the_issue_example() -> None:
    request = parse_mail("Witte bestelwagen Balendijk", ISSUE_EXAMPLE, tz=BRUSSELS, now=NOW)
    assert request.near == (51.2412, 5.3107)
    assert request.radius_m == 1500.0
    assert request.zones == ()
    assert request.window == (
        datetime(2026, 11, 21, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 21, 3, 0, tzinfo=UTC),
    )
    assert request.send_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert request.remind_at == request.send_at + timedelta(hours=24)
    assert request.close_at == request.send_at + timedelta(hours=72)
    assert request.title == "Witte bestelwagen Balendijk"
    assert request.question.startswith("Hebben uw camera's tussen 02:00")
    assert request.question.endswith("Inspecteur Peeters")


def test_defaults_other_languages_and_zones() -> None:
    text = "Zones: kolonel-dusart, Maatheide\nOnderwerp: Koperdiefstal\n\nWie heeft iets gezien?"
    request = parse_mail("RE: iets anders", text, tz=BRUSSELS, now=NOW)
    assert request.zones == ("kolonel-dusart", "Maatheide")
    assert request.near is None and request.radius_m is None
    assert request.title == "Koperdiefstal"
    assert request.send_at == NOW and request.remind_at is None
    assert request.close_at == NOW + DEFAULT_CLOSE
    fr = parse_mail(
        "", "près: 51.2, 5.3\nrayon: 800 m\nenvoi: maintenant\nrappel: 2 jours\n\nQui?", tz=BRUSSELS, now=NOW
    )
    assert fr.radius_m == 800.0 and fr.remind_at == NOW + timedelta(days=2)


def test_question_field_starts_the_question() -> None:
    request = parse_mail("", "zones: maatheide\nvraag: Wie zag de wagen?\nHij was wit.", tz=BRUSSELS, now=NOW)
    assert request.question == "Wie zag de wagen?\nHij was wit."


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("raduis: 2 km\nnear: 51.2, 5.3\n\nq?", "unknown field 'raduis'"),
        ("near: 51.2, 5.3\n\nq?", "radius: missing"),
        ("radius: 2 km\n\nq?", "near: missing"),
        ("send: now\n\nq?", "say where"),
        ("zones: maatheide\n", "the question is missing"),
        ("zones: maatheide\nsend: 2020-01-01 08:00\n\nq?", "send: that time has passed"),
        ("zones: maatheide\nremind: 80h\nclose: 72h\n\nq?", "remind: must come after"),
        ("zones: maatheide\nzones: kristal-park\n\nq?", "zones: given twice"),
        ("Wie heeft iets gezien?\nzones: maatheide", "say where"),
    ],
)
def test_problems_are_named(text: str, problem: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_mail("", text, tz=BRUSSELS, now=NOW)
    assert any(problem in str(p) for p in caught.value.problems), caught.value.problems


def test_every_problem_at_once() -> None:
    with pytest.raises(RequestError) as caught:
        parse_mail(
            "", "near: 51.2, 5.3\nradius: 5 miles\nsend: soon\nwindow: gisteren\n", tz=BRUSSELS, now=NOW
        )
    assert len(caught.value.problems) == 4  # radius, window, send, question
