"""``save-relay canvass ...`` as an operator runs it: the console script in a subprocess."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import zipfile
from pathlib import Path

from save_relay.app import Relay
from tests.e2e.canvass_support import (
    OWNER,
    answer,
    canvass_settings,
    post_request,
    questions,
    start_relay,
    wait_status,
)
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.helpers import Sink, wait_for

JPEG = b"\xff\xd8\xff\xe0 still of the white van" + bytes(range(200))


def _config(workdir: Path, db_url: str | None = None) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    data = relay_config(workdir)
    if db_url:
        data["database"]["url"] = db_url
    return write_config(workdir / "save-relay.toml", data)


def _ok(config: Path, *args: str) -> str:
    result = run_cli(config, *args, cwd=config.parent)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def _fails(config: Path, *args: str) -> str:
    result = run_cli(config, *args, cwd=config.parent)
    assert result.returncode == 1, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one clear line
    return result.stderr


def test_create_list_show_cancel(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _ok(config, "init", "--demo")
    create = ("canvass", "create", "--owner", OWNER, "--near", "Metaalwerken Vos NV", "--radius", "600 m")
    out = _ok(
        config,
        *create,
        "--send",
        "2h",
        "--window",
        "2026-11-21 02:00 - 04:00",
        "--question",
        "Wie zag de wagen?",
    )
    assert out.startswith("canvass 1 scheduled: 7 recipient(s) as of now, sent at ")
    assert "scheduled" in _ok(config, "canvass", "list")
    shown = json.loads(_ok(config, "canvass", "show", "1", "--json"))
    assert shown["status"] == "scheduled" and shown["radius_m"] == 600.0
    assert shown["place"] == "Balendijk, 3920 Lommel"  # the area the neighbours read: not the company
    assert shown["window"] == ["2026-11-21 02:00", "2026-11-21 04:00"]

    assert "not a moderator" in _fails(
        config, "canvass", "create", "--owner", "x@example.org", "--zones", "maatheide", "--question", "?"
    )
    problem = _fails(config, *create[:4], "--radius", "5 miles", "--question", "?")
    assert "radius: not a distance" in problem
    assert "unknown zone(s) nergens" in _fails(
        config, "canvass", "create", "--owner", OWNER, "--zones", "nergens", "--question", "?"
    )

    assert _ok(config, "canvass", "cancel", "1").strip() == "canvass 1 cancelled"
    assert "only a scheduled one can be cancelled" in _fails(config, "canvass", "cancel", "1")
    assert "no canvass 9" in _fails(config, "canvass", "show", "9")


async def test_results_as_csv_with_the_attachments(db_url: str, sink: Sink, tmp_path: Path) -> None:
    relay: Relay = await start_relay(canvass_settings(db_url, sink, tmp_path))
    try:
        await post_request(relay, "near: 51.23988, 5.28620\nradius: 350 m\nclose: 3s\n\nZag u de wagen?")
        sent = await wait_for(lambda: len(questions(sink, 1)) >= 3 and questions(sink, 1))
        vos = next(m for m in sent if m.rcpt_tos == ["security@metaalwerken-vos.example"])
        await answer(relay, vos, "Ja, zie de foto.", attachment=("poort.jpg", JPEG))
        await wait_status(relay, "closed")
    finally:
        await relay.stop()
    config = _config(tmp_path / "cli", db_url)
    table = await asyncio.to_thread(
        _ok,
        config,
        "canvass",
        "results",
        "1",
        "--csv",
        "--save-attachments",
        str(tmp_path / "files"),
        "--reason",
        "PV 2026/123",
    )
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == 3
    [vos_row] = [r for r in rows if r["company"] == "Metaalwerken Vos NV"]
    assert (
        vos_row["answered"] == "yes"
        and vos_row["text"] == "Ja, zie de foto."
        and vos_row["distance_m"] == "0"
    )
    saved = Path(vos_row["attachments"])
    assert saved.parent == tmp_path / "files" and saved.name.endswith("-1-poort.jpg")
    assert saved.read_bytes() == JPEG
    assert sorted(r["answered"] for r in rows) == ["no", "no", "yes"]

    text = await asyncio.to_thread(_ok, config, "canvass", "results", "1", "--reason", "PV 2026/123")
    assert "responses 1 (33%)" in text and "Ja, zie de foto." in text
    answer_id = vos_row["answer_id"]
    out = tmp_path / "still.jpg"
    await asyncio.to_thread(
        _ok, config, "canvass", "attachment", answer_id, "1", "-o", str(out), "--reason", "PV 2026/123"
    )
    assert out.read_bytes() == JPEG

    bundle = tmp_path / "canvass-1.zip"
    await asyncio.to_thread(
        _ok, config, "evidence", "export", "--canvass", "1", "-o", str(bundle), "--reason", "PV 2026/123"
    )
    assert "bundle intact" in await asyncio.to_thread(_ok, config, "evidence", "verify", str(bundle))
    exported = await asyncio.to_thread(
        _ok, config, "privacy", "export", "security@metaalwerken-vos.example", "--reason", "access request"
    )
    [given_answer] = json.loads(exported)["canvass_answers"]
    assert given_answer["text"] == "Ja, zie de foto."
    assert base64.b64decode(given_answer["attachments"][0]["base64"]) == JPEG
    with zipfile.ZipFile(bundle) as archive:
        info = json.loads(archive.read("canvass-1/canvass.json"))
        [given] = info["answers"]
        assert (
            given["text"] == "Ja, zie de foto."
            and archive.read(f"canvass-1/{given['attachments'][0]['file']}") == JPEG
        )
