"""``evidence export`` writes a bundle an investigator can check with ``sha256sum -c`` alone, whose
.eml is byte for byte what intake stored; ``evidence verify`` re-checks it and names what changed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

from save_relay.app import Relay
from save_relay.store.reports import by_reference, inbound_of
from tests.conftest import MODERATORS
from tests.e2e.test_canvass_cli import _config, _fails, _ok
from tests.e2e.test_cli import run_cli
from tests.e2e.test_report_flow import distributed, notification_for, post_report, reply
from tests.helpers import Sink, camera_jpeg, wait_for


def sha256sum_check(folder: Path) -> str:
    result = subprocess.run(
        ["sha256sum", "-c", "manifest.sha256"], cwd=folder, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def test_report_bundle(relay: Relay, sink: Sink, db_url: str, tmp_path: Path) -> None:
    photo = camera_jpeg()
    reference = await post_report(relay, attachment=("camera1.jpg", photo))
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok")
    sent = await wait_for(lambda: distributed(sink, reference))
    config = _config(tmp_path / "cli", db_url)
    bundle = tmp_path / "bundle"

    assert "--reason is required" in await asyncio.to_thread(
        _fails, config, "evidence", "export", reference, "-o", str(bundle)
    )
    await asyncio.to_thread(
        _ok, config, "evidence", "export", reference, "-o", str(bundle), "--reason", "PV 2026/77"
    )
    checked = await asyncio.to_thread(sha256sum_check, bundle)
    assert "report.eml: OK" in checked and "audit.json: OK" in checked

    async with relay.sessions() as session:
        inbound = await inbound_of(session, await by_reference(session, reference))
    eml = (bundle / "report.eml").read_bytes()
    assert eml == inbound.raw and hashlib.sha256(eml).hexdigest() == inbound.sha256
    info = json.loads((bundle / "report.json").read_text())
    assert info["received"]["sha256"] == inbound.sha256 and info["exported"]["reason"] == "PV 2026/77"
    [attachment] = info["attachments"]
    assert (bundle / attachment["file"]).read_bytes() == photo  # as received, metadata and all
    [approval] = info["replies"]  # the moderator's reply that approved it
    assert approval["from"] == MODERATORS[0] and b"ok" in (bundle / approval["file"]).read_bytes()
    [distribution] = info["distributions"]
    assert distribution["recipients"] >= len(sent) and (bundle / distribution["file"]).stat().st_size > 0
    entries = json.loads((bundle / "audit.json").read_text())
    actions = [e["action"] for e in entries]
    assert "report_approved" in actions and actions[-1] == "disclosed"
    assert all(len(e["entry_hash"]) == 64 for e in entries)

    assert "bundle intact" in await asyncio.to_thread(_ok, config, "evidence", "verify", str(bundle))
    (bundle / "report.eml").write_bytes(eml.replace(b"bestelwagen", b"vrachtwagen", 1))
    result = await asyncio.to_thread(run_cli, config, "evidence", "verify", str(bundle), cwd=tmp_path)
    assert result.returncode == 1 and "report.eml: changed" in result.stderr

    archive = tmp_path / "out" / f"{reference}.zip"
    await asyncio.to_thread(
        _ok, config, "evidence", "export", reference, "-o", str(archive), "--reason", "PV 2026/77"
    )
    assert "bundle intact" in await asyncio.to_thread(_ok, config, "evidence", "verify", str(archive))
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path / "unzipped")
    await asyncio.to_thread(sha256sum_check, tmp_path / "unzipped" / reference)
