"""Operations endpoints: ``/readyz`` (can this daemon do its work now?) and ``/metrics`` (Prometheus).

``/healthz`` (``pages.healthz``) only says the process answers; ``/readyz`` asks the daemon's probe
(``Deps.ready``: the database answers, the listeners listen, the processor, outbound worker, scheduler and
heartbeat run) and answers 200, or 503 with a JSON body naming what is down. ``/metrics`` renders the
daemon's own counters (``core.metrics``, incremented at the events) and, read from the database at
scrape time, what is true across all nodes (``web.metrics``).
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from save_relay.core.clock import utcnow
from save_relay.web.deps import deps
from save_relay.web.metrics import DatabaseCollector, read_snapshot

NO_STORE = {"Cache-Control": "no-store"}


async def readyz(request: Request) -> Response:
    """200 ``{"status": "ready", ...}`` or 503 ``{"status": "not ready", "down": [...], ...}``."""
    probe = deps(request).ready
    checks = list(await probe()) if probe is not None else []
    down = [check.name for check in checks if not check.ok]
    body = {
        "status": "not ready" if down else "ready",
        "down": down,
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JSONResponse(body, status_code=503 if down else 200, headers=NO_STORE)


def _authorized(request: Request) -> bool:
    token: str | None = getattr(request.app.state, "metrics_token", None)
    if not token:
        return True
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def metrics(request: Request) -> Response:
    """The Prometheus text format: the daemon's counters, then the database's gauges (read now)."""
    if not _authorized(request):
        return PlainTextResponse(
            "401 Unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer", **NO_STORE}
        )
    web = deps(request)
    async with web.sessions() as session:
        snapshot = await read_snapshot(session, web.ctx.settings, utcnow())
    gauges = CollectorRegistry()  # per scrape: the snapshot is this scrape's alone
    gauges.register(DatabaseCollector(snapshot))
    body = generate_latest(web.ctx.metrics.registry) + generate_latest(gauges)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)
