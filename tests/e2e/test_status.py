"""``save-relay status`` as a monitoring check, on SQLite and PostgreSQL: the real console script against
a database that an in-process relay writes its heartbeats to.

No daemon: critical (2) and why. A running relay: ok (0), its heartbeat moving. A clean stop: the node
is stopped, critical. A smarthost that is down: the outbound is stuck, critical, with the last error.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.store.db import session_factory
from save_relay.store.nodes import all_nodes
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_cli import SAVE_RELAY, clean_env, write_config
from tests.helpers import Sink, report_message, smtp_send, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_config(tmp_path: Path, db_url: str, **status: float) -> Path:
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "networks": {
            "industrie": {
                "address": "industrie@politie.lommel.be",
                "name": "SaVE Lommel",
                "moderators": MODERATORS,
            }
        },
    }
    if status:
        data["status"] = status
    return write_config(tmp_path / "status.toml", data)


async def status(config: Path, *args: str) -> tuple[int, str, str]:
    """``save-relay --config CONFIG status ARGS`` in its own process (the relay's loop keeps running)."""
    process = await asyncio.create_subprocess_exec(
        str(SAVE_RELAY),
        "--config",
        str(config),
        "status",
        *args,
        env=clean_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_no_daemon_is_critical_and_says_why(db_url: str, tmp_path: Path) -> None:
    config = status_config(tmp_path, db_url)

    code, out, err = await status(config)

    assert code == 2, out + err
    first = out.splitlines()[0]
    assert first.startswith("SAVE-RELAY CRITICAL: no node alive (no daemon has run on this database"), first
    assert " | nodes_alive=0 " in first
    assert err == ""
    code, out, _ = await status(config, "--json")
    report = json.loads(out)
    assert code == 2 and report["status"] == "critical" and report["exit_code"] == 2
    assert report["nodes"] == [] and report["summary"] == first


async def test_a_running_relay_is_ok_its_heartbeat_moves_and_a_clean_stop_is_seen(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    settings = make_settings(db_url, sink.port, tmp_path, status={"heartbeat_seconds": 0.2})
    relay = Relay(settings)
    await relay.start(migrate=False)
    try:
        sessions = session_factory(relay.engine)

        async def seen() -> Any:
            async with sessions() as session:
                return (await all_nodes(session))[0].last_seen_at

        first = await seen()
        await wait_for(lambda: _later(seen, first), timeout=5)
        async with sessions() as session:
            (node,) = await all_nodes(session)
        assert node.name == "node-1" and node.stopped_at is None and node.heartbeat_seconds == 0.2
        assert f"smtp://127.0.0.1:{relay.smtp_port}" in node.listeners

        config = status_config(tmp_path, db_url)
        code, out, err = await status(config)
        assert code == 0, out + err
        assert out.startswith("SAVE-RELAY OK: 1 node(s) alive (node-1), 0 pending report(s)"), out
        assert "node-1       ALIVE" in out and f"smtp://127.0.0.1:{relay.smtp_port}" in out
        report = json.loads((await status(config, "--json"))[1])
        assert report["status"] == "ok" and report["nodes"][0]["state"] == "alive"
        assert report["queue"]["pending"] == 0 and report["outbound"]["waiting"] == 0
    finally:
        await relay.stop()

    code, out, _ = await status(config)
    assert code == 2
    assert out.startswith("SAVE-RELAY CRITICAL: no node alive (node-1 stopped "), out


async def _later(seen: Any, first: Any) -> bool:
    return bool(await seen() > first)


async def test_stuck_deliveries_are_critical(db_url: str, tmp_path: Path) -> None:
    settings: Settings = make_settings(
        db_url,
        free_port(),  # nothing listens: the smarthost is down
        tmp_path,
        outbound={"max_attempts": 100},
        status={"stuck_after_seconds": 1.0},
    )
    relay = Relay(settings)
    await relay.start(migrate=False)
    try:
        await seed_demo(relay.engine, relay)
        code, text = await smtp_send(
            relay.smtp_port,
            "security@metaalwerken-vos.example",
            ["industrie@politie.lommel.be"],
            report_message(),
        )
        assert code == 250, text
        config = status_config(tmp_path, db_url, stuck_after_seconds=1.0)

        async def stuck() -> tuple[int, str, str] | None:
            found = await status(config)
            return found if found[0] == 2 else None

        _, out, _ = await wait_for(stuck, timeout=20, interval=0.3)
        first = out.splitlines()[0]
        assert first.startswith("SAVE-RELAY CRITICAL: outbound stuck: "), first
        assert "none sent in the last 1 s" in first and "; last error: 421 " in first
        assert "pending=1 " in first
        report = json.loads((await status(config, "--json"))[1])
        assert report["nodes"][0]["state"] == "alive"  # the daemon lives; its mail does not move
        assert report["outbound"]["waiting"] == 1 + len(MODERATORS)  # the ack and the notifications
        assert report["queue"]["pending"] == 1
    finally:
        await relay.stop()
