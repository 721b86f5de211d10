"""console-pages: the queue page and a report page with 100,000 reports in the database.

``python -m bench.pages [--runs 3] [--reports 100000] [--requests 60]`` (PostgreSQL too with
``SAVE_RELAY_BENCH_DATABASE_URL`` or ``SAVE_RELAY_TEST_DATABASE_URL``); writes
``bench/results/<date>-pages.json``.

Setup (not timed): the statistics benchmark's seeded database (``bench.stats``: reports over a year,
200 zones), given references, 2% of them pending; a daemon on it with its console; one real report
posted over SMTP and announced (the report page shown is that one: its preview, attachments and map);
a moderator account with TOTP, logged in over HTTP.

Timed, one request after another from one client (``httpx``): ``GET /reports`` (the queue: pending
first, counts per status) and ``GET /reports/REF`` (the report page), ``--requests`` each after five
untimed ones; p50 and p95 per run. Baseline in the same run and over the same connection: ``GET`` of a
static file the console serves (its CSS): what the HTTP stack, the session check and the client cost
without a query. Target: p95 < 100 ms for both pages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pyotp

from bench.fanout import post_report, wait_announced
from bench.intake import _dsn, relay_settings
from bench.sink import Sink
from bench.stats import RESULTS, StatsBench
from save_relay.app import Relay
from save_relay.core.passwords import hash_password, new_totp_secret
from save_relay.core.states import AccountRole
from save_relay.store import accounts
from save_relay.store.db import session_factory
from save_relay.web.templating import static_url

REPORTS = 100_000
REQUESTS = 60
LOGIN = "inspecteur.peeters@politie.lommel.be"
PASSWORD = "bench-password-not-secret"
#: give the seeded reports references (their own prefix: the real report takes the network's counter)
#: and make every 50th pending (the queue shows those first)
NUMBER = (
    "UPDATE reports SET reference = 'SEED-2026-' || {pad}, status = CASE WHEN id % 50 = 0 THEN 'pending'"
    " ELSE status END WHERE reference IS NULL"
)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _number(suite: StatsBench) -> None:
    """References and pending reports for the seeded rows (plain SQL: the seeding is the bench's own)."""
    if suite.postgres_url is None:
        with sqlite3.connect(suite.url.split("///", 1)[1]) as db:
            db.execute(NUMBER.format(pad="printf('%06d', id)"))
            db.execute("ANALYZE")
        return
    import asyncpg

    db = await asyncpg.connect(_dsn(suite.url))
    try:
        await db.execute(NUMBER.format(pad="lpad(id::text, 6, '0')"))
        # the seeding COPYed explicit inbound ids: move the sequence past them for the real report
        await db.execute(
            "SELECT setval(pg_get_serial_sequence('inbound_messages', 'id'), max(id)) FROM inbound_messages"
        )
        await db.execute("VACUUM ANALYZE reports")  # as autovacuum would have: index-only counts
    finally:
        await db.close()


async def _log_in(relay: Relay, client: httpx.AsyncClient) -> None:
    assert relay.ctx is not None
    secret = new_totp_secret()
    async with session_factory(relay.engine)() as session, session.begin():
        await accounts.add(
            session,
            network_id=relay.ctx.networks["industrie"].id,
            login=LOGIN,
            name="Inspecteur Peeters",
            role=AccountRole.MODERATOR,
            language="nl",
            password_hash=hash_password(PASSWORD),
            totp_secret=secret,
        )
    page = await client.get("/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "no login form"
    answer = await client.post(
        "/login",
        data={"csrf": found.group(1), "login": LOGIN, "password": PASSWORD, "code": pyotp.TOTP(secret).now()},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login failed: {answer.status_code}")


async def _time(client: httpx.AsyncClient, path: str, requests: int, expect: str) -> list[float]:
    for _ in range(5):
        await client.get(path)
    out = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = await client.get(path)
        out.append(1000 * (time.perf_counter() - t0))
        if response.status_code != 200 or expect not in response.text:
            raise RuntimeError(f"GET {path}: {response.status_code}")
    return out


async def run_kind(kind: str, url: str | None, n: int, runs: int, requests: int) -> dict[str, Any]:
    suite = StatsBench(n, url)
    sink = Sink(prefix="user")
    try:
        await suite.setup()
        await _number(suite)
        settings = relay_settings(suite.url, Path(suite._tmp.name), sink.port)
        # no https public URL: the session cookie would be Secure and never sent back over plain http
        settings = settings.model_copy(update={"http": settings.http.model_copy(update={"public_url": None})})
        relay = Relay(settings)
        await relay.start(migrate=False)
        try:
            reference = await post_report(relay.smtp_port)
            await wait_announced(relay, reference, timeout=120)
            assert relay.http is not None
            base = f"http://127.0.0.1:{relay.http.port}"
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                await _log_in(relay, client)
                done = []
                for i in range(runs):
                    row = {
                        "queue": await _time(client, "/reports", requests, "SEED-2026-"),
                        "report": await _time(client, f"/reports/{reference}", requests, reference),
                        "static": await _time(client, static_url("console.css"), requests, "{"),
                    }
                    done.append(row)
                    shown = ", ".join(
                        f"{k} p50 {_percentile(v, 0.5):.1f} / p95 {_percentile(v, 0.95):.1f} ms"
                        for k, v in row.items()
                    )
                    print(f"  run {i + 1}/{runs}: {shown}", flush=True)
        finally:
            await relay.stop()
    finally:
        sink.stop()
        await suite.close()
    out: dict[str, Any] = {"reports": n, "requests": requests, "setup_s": round(suite.setup_seconds, 1)}
    for page in ("queue", "report", "static"):
        p95s = [_percentile(r[page], 0.95) for r in done]
        out[f"{page}_p95_ms"] = [round(v, 1) for v in p95s]
        out[f"{page}_p50_ms"] = [round(_percentile(r[page], 0.5), 1) for r in done]
        out[f"median_{page}_p95_ms"] = round(statistics.median(p95s), 1)
    out["target_p95_ms"] = 100
    return out


async def bench(runs: int, n: int, requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pg = os.environ.get("SAVE_RELAY_BENCH_DATABASE_URL") or os.environ.get("SAVE_RELAY_TEST_DATABASE_URL")
    for kind, url in (("sqlite", None), ("postgresql", pg)):
        if kind == "postgresql" and not url:
            continue
        print(f"console-pages-{kind}: {n:,} reports", flush=True)
        out[f"console-pages-{kind}"] = await run_kind(kind, url, n, runs, requests)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=REPORTS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = asyncio.run(bench(args.runs, args.reports, args.requests))
    results["load_before"] = load
    results["load_after"] = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{date.today():%Y-%m-%d}-pages.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
