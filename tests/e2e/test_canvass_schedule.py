"""Scheduling lives in the database: a restart neither loses nor repeats a canvass, and several daemons
on one database send it once (in one process, and as separate ``save-relay serve`` processes)."""

from __future__ import annotations

import asyncio
import smtplib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from save_relay.store.db import create_engine, session_factory
from save_relay.store.tables import AuditEntry, Canvass, Delivery
from tests.e2e.canvass_support import (
    CANVASS_ADDRESS,
    OWNER,
    VOS,
    canvass_row,
    canvass_settings,
    expected_near,
    mails_to,
    post_request,
    questions,
    request_mail,
    start_relay,
    wait_status,
)
from tests.e2e.test_cli import Daemon, ok, relay_config, run_cli, write_config
from tests.helpers import Sink, wait_for


async def _count(db_url: str, statement: object) -> int:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(statement) or 0)  # type: ignore[call-overload]
    finally:
        await engine.dispose()


def _audit_count(action: str) -> object:
    return select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)


async def test_a_restart_before_the_send_time_sends_it_once(db_url: str, sink: Sink, tmp_path: Path) -> None:
    settings = canvass_settings(db_url, sink, tmp_path)
    expected = expected_near(VOS, 600)
    first = await start_relay(settings)
    try:
        await post_request(first, "near: 51.23988, 5.28620\nradius: 600 m\nsend: 4s\n\nWie zag de wagen?")
        await wait_for(lambda: mails_to(sink, OWNER, "Buurtonderzoek #1 gepland"))
        row = await canvass_row(first)
        assert row is not None and row.status == "scheduled"
    finally:
        await first.stop()  # before the send time
    assert not questions(sink, 1)

    second = await start_relay(settings, seed=False)  # a new daemon on the same database
    try:
        sent = await wait_for(lambda: len(questions(sink, 1)) >= len(expected) and questions(sink, 1))
        await asyncio.sleep(1.5)  # several more ticks: nothing is sent again
        counts = Counter(r for m in questions(sink, 1) for r in m.rcpt_tos)
        assert counts == Counter(list(expected)) and len(sent) == len(expected)
        assert (await wait_status(second, "open")).recipients == len(expected)
    finally:
        await second.stop()
    canvass_deliveries = select(func.count()).select_from(Delivery).where(Delivery.kind == "canvass")
    assert await _count(db_url, canvass_deliveries) == len(expected)
    assert await _count(db_url, _audit_count("canvass_sent")) == 1


async def test_two_daemons_on_one_database_send_each_step_once(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    fast = {"tick_seconds": 0.05}
    one = await start_relay(canvass_settings(db_url, sink, tmp_path, node_name="node-a", scheduler=fast))
    two = await start_relay(
        canvass_settings(db_url, sink, tmp_path / "b", node_name="node-b", scheduler=fast), seed=False
    )
    expected = expected_near(VOS, 600)
    try:
        request = (
            "near: 51.23988, 5.28620\nradius: 600 m\nsend: 2s\nremind: 3s\nclose: 5s\n\nWie zag de wagen?"
        )
        await post_request(one, request)
        await wait_status(two, "closed", timeout=30)
        await asyncio.sleep(1.0)  # the last deliveries, and any duplicate, would be out by now
    finally:
        await one.stop()
        await two.stop()
    counts = Counter(r for m in questions(sink, 1) for r in m.rcpt_tos)
    assert counts == Counter(list(expected))
    reminders = Counter(r for m in questions(sink, 1, reminder=True) for r in m.rcpt_tos)
    assert reminders == Counter(list(expected))  # nobody answered
    assert len(mails_to(sink, OWNER, "Resultaat buurtonderzoek #1")) == 1
    for action in ("canvass_sent", "canvass_reminded", "canvass_closed"):
        assert await _count(db_url, _audit_count(action)) == 1, action


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def _config(workdir: Path, db_url: str, sink_port: int, node: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    data = relay_config(workdir)
    data["node_name"] = node
    data["database"]["url"] = db_url
    data["outbound"].update(mode="smtp", smarthost_port=sink_port, idle_poll_seconds=0.1)
    data["scheduler"] = {"tick_seconds": 0.1}
    return write_config(workdir / "save-relay.toml", data)


def _send_request(host: str, port: int) -> None:
    body = "near: 51.23988, 5.28620\nradius: 600 m\nsend: 3s\nclose: 1h\n\nWie zag de wagen?"
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.send_message(request_mail(body), OWNER, [CANVASS_ADDRESS])


async def test_two_serve_processes_send_it_once(
    db_url: str, sink: Sink, tmp_path: Path, daemons: list[Daemon]
) -> None:
    configs = [_config(tmp_path / node, db_url, sink.port, node) for node in ("node-a", "node-b")]
    ok(await asyncio.to_thread(run_cli, configs[0], "init", "--demo", cwd=tmp_path / "node-a"))
    for config in configs:
        daemons.append(await asyncio.to_thread(Daemon, config, config.parent))
    await asyncio.to_thread(_send_request, daemons[0].host, daemons[0].port)
    expected = expected_near(VOS, 600)
    await wait_for(lambda: len(questions(sink, 1)) >= len(expected), timeout=30)
    await asyncio.sleep(2.0)  # both daemons keep ticking: nothing more goes out
    assert Counter(r for m in questions(sink, 1) for r in m.rcpt_tos) == Counter(list(expected))
    for daemon in daemons:
        assert await asyncio.to_thread(daemon.terminate) == 0
    assert await _count(db_url, _audit_count("canvass_sent")) == 1
    status = await _count(db_url, select(func.count()).select_from(Canvass).where(Canvass.status == "open"))
    assert status == 1
