"""Pages that need no login and no database: liveness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response


async def healthz(request: Request) -> Response:
    """Liveness: the process answers HTTP. Says nothing of the database (that is ``/readyz``)."""
    return PlainTextResponse("ok")
