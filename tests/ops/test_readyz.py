"""/healthz and /readyz of a real daemon: ready when everything runs; 503 naming what is down when the
outbound worker dies or the database goes away (PostgreSQL behind a TCP proxy that is stopped)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from save_relay.app import Relay
from tests.conftest import make_settings
from tests.helpers import Sink, wait_for
from tests.ops.tcp_proxy import TcpProxy


def ops_url(relay: Relay) -> str:
    assert relay.ops is not None
    return f"http://127.0.0.1:{relay.ops.port}"


def http_url(relay: Relay) -> str:
    assert relay.http is not None
    return f"http://127.0.0.1:{relay.http.port}"


async def readyz(base: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"{base}/readyz")


async def test_ready_when_everything_runs(relay: Relay) -> None:
    for base in (ops_url(relay), http_url(relay)):  # the operations listener and the public side
        response = await readyz(base)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ready" and body["down"] == []
        checks = body["checks"]
        for name in ("database", "smtp", "http", "processor", "outbound", "heartbeat", "scheduler"):
            assert checks[name]["ok"] is True, (name, checks)
        assert response.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{ops_url(relay)}/healthz")).text == "ok"


async def test_a_dead_worker_makes_it_not_ready(relay: Relay) -> None:
    outbound = next(task for task in relay._tasks if task.get_name() == "outbound")
    outbound.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await outbound
    response = await readyz(ops_url(relay))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["down"] == ["outbound"]
    assert body["checks"]["outbound"] == {"ok": False, "detail": "cancelled"}
    assert body["checks"]["database"]["ok"] is True


async def test_the_database_going_away_makes_it_not_ready(db_url: str, sink: Sink, tmp_path: Path) -> None:
    url = make_url(db_url)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("a SQLite file cannot go away under an open connection; PostgreSQL can")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    relay = Relay(make_settings(through, sink.port, tmp_path))
    await relay.start(migrate=False)
    try:
        assert (await readyz(ops_url(relay))).status_code == 200

        await proxy.stop()
        response = await readyz(ops_url(relay))
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["down"] == ["database"]
        assert body["checks"]["database"]["detail"]  # what went wrong, in one line

        await proxy.start()  # back on the same port: ready again, without a restart
        await wait_for(lambda: _ready(relay), timeout=10)
    finally:
        await relay.stop()
        await proxy.stop()


async def _ready(relay: Relay) -> bool:
    return (await readyz(ops_url(relay))).status_code == 200
