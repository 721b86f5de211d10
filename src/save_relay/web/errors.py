"""Error pages: a status and a short text in the visitor's language, never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from save_relay.web.i18n import negotiate, texts
from save_relay.web.templating import render

log = logging.getLogger(__name__)

#: Not rendered from a template: whatever failed may be the templates.
SERVER_ERROR_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>500 Internal Server Error</title>'
    "<p>500 Internal Server Error</p></html>\n"
)


def error_page(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    language = negotiate(request.headers.get("accept-language"))
    t = texts(language)
    phrase = HTTPStatus(status).phrase
    return render(
        request,
        "error.html",
        {"status": status, "phrase": phrase, "message": t.get(f"error_{status}", t["error_other"])},
        language=language,
        status=status,
        headers={**(headers or {}), "Vary": "Accept-Language"},
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304) or exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_page(request, exc.status_code, dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page; the exception itself goes to the log (Starlette re-raises it to uvicorn, which logs
    the traceback; this line names the request)."""
    section = request.url.path.split("/")[1][:40]  # not the whole path: it may hold a token
    log.error(
        "HTTP %s /%s... failed: %s",
        request.method,
        section,
        type(exc).__name__,
        extra={"action": "http_error", "section": section},
    )
    return HTMLResponse(SERVER_ERROR_PAGE, status_code=500)


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client went away while sending its body: nobody to answer, nothing to log."""
    return Response(status_code=400)
