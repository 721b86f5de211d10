"""The console's pages that need no login: the landing page (login comes later) and liveness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from save_relay.web.deps import deps
from save_relay.web.i18n import negotiate
from save_relay.web.templating import render


async def home(request: Request) -> Response:
    """``/``: what the console is and that one logs in here (a placeholder until accounts exist)."""
    language = negotiate(request.headers.get("accept-language"))
    return render(
        request,
        "home.html",
        {"network_names": sorted(n.settings.name for n in deps(request).ctx.networks.values())},
        language=language,
        headers={"Vary": "Accept-Language"},
    )


async def healthz(request: Request) -> Response:
    """Liveness: the process answers HTTP. Says nothing of the database (that is ``/readyz``)."""
    return PlainTextResponse("ok")
