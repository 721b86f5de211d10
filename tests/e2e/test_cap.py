"""``save-relay cap REF`` (issue 21): an approved report as a CAP 1.2 alert valid against the OASIS XSD
(tests/data/cap), its zones as polygons that come back as the same GeoJSON rings, Exercise status,
Update/Cancel with references, and the BE-Alert operator's short text; the CLI in its own process."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.channels.area import geojson_ring
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store.tables import Report
from tests.e2e.test_cli import ROOT, ok, relay_config, run_cli, write_config
from tests.e2e.test_delivery import announced
from tests.e2e.test_report_flow import REPORTER, post_report

XSD = xmlschema.XMLSchema(Path(__file__).parents[1] / "data/cap/CAP-v1.2.xsd")
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
ZONES = {
    f["properties"]["slug"]: f for f in json.loads((ROOT / "config/zones.geojson").read_text())["features"]
}


def cli_config(tmp_path: Path, db_url: str) -> Path:
    data = relay_config(tmp_path)
    data["database"]["url"] = db_url
    return write_config(tmp_path / "save-relay.toml", data)


async def cli(config: Path, tmp_path: Path, *args: str) -> str:
    return ok(await asyncio.to_thread(run_cli, config, *args, cwd=tmp_path))


async def approved(relay: Relay, zones: list[str], subject: str = "Verdachte witte bestelwagen") -> str:
    reference = await post_report(relay, subject=subject)
    await announced(relay, reference)
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        decision = Decision("approve", zones=zones, edit_text="Witte bestelwagen, nummerplaat 1-ABC-123.")
        await decide(session, relay.ctx, report, decision, Actor(name="cli:test", via="cli"))
    return reference


def parsed(path: Path) -> ET.Element:
    XSD.validate(str(path))  # raises with the first violation
    return ET.parse(path).getroot()


def text(root: ET.Element, path: str) -> str:
    found = root.findtext(path, namespaces=NS)
    assert found is not None, path
    return found


async def test_an_approved_report_as_a_valid_cap_alert(relay: Relay, tmp_path: Path, db_url: str) -> None:
    reference = await approved(relay, ["maatheide", "kristal-park"])
    config = cli_config(tmp_path, db_url)
    shown = await cli(config, tmp_path, "cap", reference, "-o", str(tmp_path / "alert.xml"), "--text")
    assert shown.strip() == f"written: {tmp_path / 'alert.xml'}, {tmp_path / 'alert.txt'}"
    alert = parsed(tmp_path / "alert.xml")

    assert text(alert, "cap:identifier") == f"urn:save-relay:politie.lommel.be:{reference}"
    assert text(alert, "cap:sender") == "industrie@politie.lommel.be"
    assert (text(alert, "cap:status"), text(alert, "cap:msgType")) == ("Actual", "Alert")
    # the network's default label, AMBER: not public; restricted, with the label, to the network's members
    assert text(alert, "cap:scope") == "Restricted"
    assert text(alert, "cap:restriction") == "TLP:AMBER: Alleen voor de deelnemers van SaVE Lommel"
    assert text(alert, "cap:info/cap:description") == "Witte bestelwagen, nummerplaat 1-ABC-123."
    assert text(alert, "cap:info/cap:language") == "nl"
    assert text(alert, "cap:info/cap:area/cap:areaDesc") == ", ".join(
        ZONES[slug]["properties"]["name"] for slug in ("maatheide", "kristal-park")
    )
    assert REPORTER not in (tmp_path / "alert.xml").read_text()

    # CAP says "lat,lon"; read back as GeoJSON [lon, lat] each polygon is its zone's outer ring
    polygons = [p.text or "" for p in alert.iterfind("cap:info/cap:area/cap:polygon", NS)]
    assert [geojson_ring(p) for p in polygons] == [
        ZONES[slug]["geometry"]["coordinates"][0] for slug in ("maatheide", "kristal-park")
    ]
    first = polygons[0].split()[0].split(",")
    assert float(first[0]) > 50 and float(first[1]) < 6  # latitude first (Lommel: 51.2 N, 5.3 E)

    short = (tmp_path / "alert.txt").read_text(encoding="utf-8").strip()
    assert len(short) <= 160 and reference in short and short.startswith("SaVE Lommel: Witte bestelwagen")
    assert short.endswith("Nood: 112")


async def test_exercise_update_and_cancel(relay: Relay, tmp_path: Path, db_url: str) -> None:
    reference = await approved(relay, ["blauwe-kei"])
    config = cli_config(tmp_path, db_url)
    original = parsed_text(await cli(config, tmp_path, "cap", reference), tmp_path / "a.xml")
    await cli(config, tmp_path, "queue", "set", reference, "--exercise")  # the reply command 'oefening'
    exercise = parsed_text(await cli(config, tmp_path, "cap", reference), tmp_path / "b.xml")
    assert text(exercise, "cap:status") == "Exercise"
    assert text(exercise, "cap:info/cap:headline").startswith(f"[OEFENING] {reference}: ")
    short = (await cli(config, tmp_path, "cap", reference, "--text")).strip()
    assert short.startswith("[OEFENING] SaVE Lommel: ") and len(short) <= 160

    alert_ref = ",".join(text(original, f"cap:{n}") for n in ("sender", "identifier", "sent"))
    update = parsed_text(await cli(config, tmp_path, "cap", reference, "--update"), tmp_path / "c.xml")
    assert text(update, "cap:msgType") == "Update" and text(update, "cap:references") == alert_ref
    update_ref = ",".join(text(update, f"cap:{n}") for n in ("sender", "identifier", "sent"))
    await cli(config, tmp_path, "cap", reference, "--cancel", "-o", str(tmp_path / "cancel.xml"))
    cancel = parsed(tmp_path / "cancel.xml")
    assert text(cancel, "cap:msgType") == "Cancel"
    assert text(cancel, "cap:references") == f"{alert_ref} {update_ref}"
    assert text(cancel, "cap:identifier") not in (
        text(original, "cap:identifier"),
        text(update, "cap:identifier"),
    )
    assert text(cancel, "cap:info/cap:headline").startswith(f"[OEFENING] Ingetrokken: {reference}")

    again = await asyncio.to_thread(run_cli, config, "cap", reference, "--cancel", cwd=tmp_path)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert f"the alert of {reference} was cancelled already" in again.stderr


@pytest.mark.parametrize("args", [("SAVE-2026-999999",), ("--update", "--cancel", "SAVE-2026-000001")])
async def test_no_alert_for_what_is_not_an_approved_report(
    relay: Relay, tmp_path: Path, db_url: str, args: tuple[str, ...]
) -> None:
    config = cli_config(tmp_path, db_url)
    pending = await post_report(relay)
    await announced(relay, pending)
    for given in (args, (pending,)):
        result = await asyncio.to_thread(run_cli, config, "cap", *given, cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert any(
            part in result.stderr
            for part in ("no report SAVE-2026-999999", "not both", f"report {pending} is pending")
        ), result.stderr


def parsed_text(xml: str, path: Path) -> ET.Element:
    path.write_text(xml, encoding="utf-8")
    return parsed(path)
