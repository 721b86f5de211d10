"""Commands that disclose evidence or personal data need a reason, and leave an audit entry with who,
when and why before they show anything (``queue raw``, ``queue attachment``, ``privacy export``)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from sqlalchemy import select

from save_relay.app import Relay
from save_relay.store.reports import by_reference, inbound_of
from save_relay.store.tables import AuditEntry
from tests.e2e.test_canvass_cli import _config, _fails, _ok
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.e2e.test_report_flow import REPORTER, post_report
from tests.helpers import camera_jpeg


async def _disclosures(relay: Relay) -> list[AuditEntry]:
    async with relay.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "disclosed").order_by(AuditEntry.id)
            )
        )


async def test_raw_and_attachment_need_a_reason_and_are_logged(
    relay: Relay, db_url: str, tmp_path: Path
) -> None:
    photo = camera_jpeg()
    reference = await post_report(relay, attachment=("camera1.jpg", photo))
    config = _config(tmp_path / "cli", db_url)

    err = await asyncio.to_thread(_fails, config, "queue", "raw", reference, "-o", str(tmp_path / "r.eml"))
    assert "--reason is required" in err
    assert not (tmp_path / "r.eml").exists() and await _disclosures(relay) == []
    help_text = await asyncio.to_thread(_ok, config, "queue", "raw", "--help")
    assert "--reason" in help_text and "audit log" in help_text

    await asyncio.to_thread(
        _ok, config, "queue", "raw", reference, "-o", str(tmp_path / "r.eml"), "--reason", "PV 42"
    )
    async with relay.sessions() as session:
        inbound = await inbound_of(session, await by_reference(session, reference))
    raw = (tmp_path / "r.eml").read_bytes()
    assert raw == inbound.raw and hashlib.sha256(raw).hexdigest() == inbound.sha256

    out = tmp_path / "photo.jpg"
    await asyncio.to_thread(
        _ok, config, "queue", "attachment", reference, "1", "-o", str(out), "--reason", "PV 42: camera still"
    )
    assert out.read_bytes() == photo  # the original, metadata and all (the distribution got a clean copy)

    await asyncio.to_thread(_ok, config, "privacy", "export", REPORTER, "--reason", "subject access request")
    entries = await _disclosures(relay)
    assert [(e.detail["command"], e.detail["reason"], e.object_ref) for e in entries] == [
        ("queue raw", "PV 42", reference),
        ("queue attachment", "PV 42: camera still", reference),
        ("privacy export", "subject access request", REPORTER),
    ]
    assert all(e.actor.startswith("cli:") and e.via == "cli" and e.at is not None for e in entries)


def test_default_reason_for_automation(tmp_path: Path) -> None:
    data = relay_config(tmp_path)
    data["privacy"] = {"default_reason": "nightly DPO export"}
    config = write_config(tmp_path / "save-relay.toml", data)
    assert run_cli(config, "init", "--demo", cwd=tmp_path).returncode == 0
    result = run_cli(config, "privacy", "export", "security@metaalwerken-vos.example", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = run_cli(config, "audit", "list", "--action", "disclosed", cwd=tmp_path).stdout
    assert "nightly DPO export" in listed and "privacy export" in listed
