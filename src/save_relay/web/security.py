"""Headers every HTTP response carries, whatever produced it (a page, a static file, an error)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Scripts, styles, images and fonts only from this origin: no inline script or style, no eval, no
#: framing, forms only to ourselves, and no Referer (unsubscribe URLs carry a token).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Pages may show personal data and tokens: no cache keeps them unless a response says otherwise
#: (the static files do: ``static.CachedStaticFiles``).
DEFAULT_CACHE_CONTROL = "no-store"


class SecurityHeaders:
    """Pure ASGI middleware: adds ``SECURITY_HEADERS`` (and ``Cache-Control: no-store`` where none is set)
    to every response; a response that sets its own ``Content-Security-Policy`` (a map with tiles from
    another server: ``with_images_from``) keeps it. ``application.ConsoleApp`` puts it outside
    Starlette's own error handling, so the 500 page and the 413 of the body limit get them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name != "Content-Security-Policy" or name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = DEFAULT_CACHE_CONTROL
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_images_from(url: str) -> str:
    """``CONTENT_SECURITY_POLICY`` that also lets images come from ``url``'s origin (map tiles)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".replace("{s}", "*")
    return f"{CONTENT_SECURITY_POLICY}; img-src 'self' {origin}"
