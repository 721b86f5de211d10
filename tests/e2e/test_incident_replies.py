"""The incident as data set by a moderator's reply over real SMTP: category, time, place, exercise.

Each field alone sets it and decides nothing; with ``ok`` it goes with the decision; after the
decision it still corrects the statistics; a wrong value changes nothing and is answered in the
network's language (nl here).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.clock import as_utc
from save_relay.store.tables import AuditEntry
from tests.conftest import MODERATORS
from tests.e2e.test_cli import one_line, relay_config, run_cli, write_config
from tests.e2e.test_moderation_paths import error_mails, report_status
from tests.e2e.test_report_flow import notification_for, post_report, reply
from tests.helpers import Received, Sink, wait_for

BRUSSELS = ZoneInfo("Europe/Brussels")


def confirmations(sink: Sink, reference: str, word: str) -> list[Received]:
    return [m for m in sink.to(MODERATORS[0]) if f"{reference}: {word}" in str(m.message["Subject"])]


def body(message: Received) -> str:
    return message.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


async def audited(relay: Relay, reference: str) -> list[AuditEntry]:
    async with relay.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_ref == reference, AuditEntry.action == "report_incident_set"
            )
        )
        return list(rows)


async def test_category_time_and_place_alone_set_them_and_decide_nothing(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    day = (datetime.now(BRUSSELS) - timedelta(days=2)).date()
    lines = f"categorie: koperdiefstal\ntijdstip: {day.day}/{day.month} 03:00\nplaats: 51.24, 5.31"
    await reply(relay, note, lines)
    told = body((await wait_for(lambda: confirmations(sink, reference, "bijgewerkt")))[0])
    assert "Categorie: koperdiefstal" in told
    assert f"Tijdstip:  {day:%Y-%m-%d} 03:00" in told
    assert "Plaats:    51.24000, 5.31000" in told
    report = await report_status(relay, reference)
    assert report.status == "pending"  # nothing decided: the token still approves
    assert (report.category, report.category_source) == ("copper-theft", "moderator")
    assert report.incident_at is not None
    expected = datetime(day.year, day.month, day.day, 3, 0, tzinfo=BRUSSELS)
    assert as_utc(report.incident_at) == expected
    assert report.incident_source == "moderator"
    assert (report.incident_weekday, report.incident_hour) == (day.weekday(), 3)
    assert report.incident_month == f"{day:%Y-%m}"
    assert (report.place_lat, report.place_lon, report.place_source) == (51.24, 5.31, "moderator")
    assert [e.detail["category"] for e in await audited(relay, reference)] == ["copper-theft"]
    await reply(relay, note, "ok")
    assert await wait_for(lambda: confirmations(sink, reference, "goedgekeurd"))
    assert (await report_status(relay, reference)).status == "approved"


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("Metaalwerken Vos NV", "Metaalwerken Vos NV"),  # a subscriber: its location
        ("metaalwerken vos", "Metaalwerken Vos NV"),  # the only one whose name holds it
        ("Maatheide", "Bedrijventerrein Maatheide"),  # a zone: a point inside it
    ],
)
async def test_place_by_subscriber_or_zone(relay: Relay, sink: Sink, value: str, label: str) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, f"ok\nplaats: {value}")
    told = body((await wait_for(lambda: confirmations(sink, reference, "goedgekeurd")))[0])
    assert f"Plaats:    {label} (" in told
    report = await report_status(relay, reference)
    assert report.status == "approved" and report.place_label == label
    assert report.place_lat is not None and report.place_lon is not None
    if label.startswith("Metaal"):
        assert (report.place_lat, report.place_lon) == (51.23988, 5.28620)
    else:
        assert 51.0 < report.place_lat < 51.4 and 5.1 < report.place_lon < 5.5


async def test_exercise_with_a_decision_and_taken_back_after_it(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "ok\noefening")
    told = body((await wait_for(lambda: confirmations(sink, reference, "goedgekeurd")))[0])
    assert "Oefening:  ja, telt niet mee in de statistieken" in told
    report = await report_status(relay, reference)
    assert report.status == "approved" and report.exercise is True
    # After the decision the same reply address still corrects the statistics (and decides nothing).
    await reply(relay, note, "oefening: nee\nKategorie: Einbruch")
    told = body((await wait_for(lambda: confirmations(sink, reference, "bijgewerkt")))[0])
    assert "Oefening:  nee" in told and "Categorie: inbraak" in told
    report = await report_status(relay, reference)
    assert report.status == "approved" and report.exercise is False and report.category == "burglary"
    # ... but a decision after the decision is still refused.
    await reply(relay, note, "afwijzen: toch niet")
    assert "werd al behandeld" in (await wait_for(lambda: error_mails(sink, MODERATORS[0])))[0]


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("categorie: sprookje", "onbekende categorie 'sprookje'; gekend zijn: koperdiefstal, inbraak"),
        ("tijdstip: morgen", "tijdstip 'morgen' niet begrepen"),
        ("plaats: Atlantis", "plaats 'Atlantis' is geen 'breedtegraad, lengtegraad'"),
        ("ok\nplaats: 91, 5", "plaats '91, 5' is geen"),
        ("ok\ncategorie: sprookje", "onbekende categorie 'sprookje'"),  # all or nothing: not approved
        ("oefening: misschien", "oefening: 'misschien' is geen ja of nee"),
        ("tijdstip:", "tijdstip: niets opgegeven"),
    ],
)
async def test_a_wrong_value_changes_nothing_and_says_why(
    relay: Relay, sink: Sink, command: str, said: str
) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    before = await report_status(relay, reference)
    await reply(relay, note, command)
    errors = await wait_for(lambda: error_mails(sink, MODERATORS[0]))
    assert said in errors[0]
    after = await report_status(relay, reference)
    assert after.status == "pending"
    assert (after.category, after.incident_at, after.place_lat, after.exercise) == (
        before.category,
        before.incident_at,
        before.place_lat,
        before.exercise,
    )
    assert await audited(relay, reference) == []


def _queue(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, "queue", *args, cwd=config.parent)


async def test_queue_set_by_cli(relay: Relay, sink: Sink, tmp_path: Path) -> None:
    reference = await post_report(relay)
    data = relay_config(tmp_path)
    data["database"]["url"] = relay.settings.database.url
    config = write_config(tmp_path / "save-relay.toml", data)
    day = (datetime.now(BRUSSELS) - timedelta(days=1)).date()
    done = await asyncio.to_thread(
        _queue,
        config,
        *("set", reference.lower(), "--category", "Vandalisme", "--time", f"{day:%Y-%m-%d} 22:30"),
        *("--place", "Maatheide", "--exercise"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{reference}: category vandalisme, time {day:%Y-%m-%d} 22:30, place ")
    report = await report_status(relay, reference)
    assert (report.category, report.exercise, report.place_label) == (
        "vandalism",
        True,
        "Bedrijventerrein Maatheide",
    )
    assert (report.incident_weekday, report.incident_hour) == (day.weekday(), 22)
    shown = await asyncio.to_thread(_queue, config, "show", reference, "--json")
    info = json.loads(shown.stdout)
    assert info["category"] == "vandalism (moderator)" and info["exercise"] is True
    back = await asyncio.to_thread(_queue, config, "set", reference, "--no-exercise")
    assert back.stdout.strip() == f"{reference}: exercise False"
    assert (await report_status(relay, reference)).exercise is False
    for args, said in [
        (("--category", "sprookje"), "unknown category 'sprookje'; known: copper-theft, burglary, theft,"),
        (("--time", "morgen"), "time 'morgen' not understood"),
        (("--place", "Atlantis"), "place 'Atlantis' is not 'latitude, longitude'"),
        ((), "nothing to set"),
    ]:
        refused = await asyncio.to_thread(_queue, config, "set", reference, *args)
        assert refused.returncode == 1 and said in one_line(refused.stderr), refused.stderr
    unknown = await asyncio.to_thread(_queue, config, "set", "SAVE-2000-000001", "--exercise")
    assert "no report SAVE-2000-000001" in one_line(unknown.stderr)
