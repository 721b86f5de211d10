"""Jinja2 for the web pages (``web/templates/``, apart from the mail templates) and their static URLs."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from save_relay.core.states import AccountRole
from save_relay.web.i18n import line_text, problem_text, texts

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"

#: The console's sections, shown in the header's menu; ``None``: not there yet (shown, not linked).
NAV: tuple[tuple[str, str | None], ...] = (
    ("reports", "/reports"),
    ("subscribers", "/subscribers"),
    ("zones", "/zones"),
    ("canvasses", "/canvasses"),
    ("audit", "/audit"),
)
#: Pages only admins see in the menu (others get 403 there).
ADMIN_NAV: tuple[tuple[str, str | None], ...] = (("webhooks", "/webhooks"),)


def _role(context: Mapping[str, Any]) -> str | None:
    """The role of the page's visitor (``who``), if logged in."""
    return getattr(getattr(context.get("who"), "account", None), "role", None)


@functools.cache
def static_url(path: str) -> str:
    """``/static/<path>?v=<hash>``: the hash changes with the file, so it may be cached for a year."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{path}?v={digest}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("save_relay.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["problem_text"] = problem_text  # a service's problem code in the page's language
    env.globals["line_text"] = line_text
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    language: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    site_name: str | None = None,
) -> HTMLResponse:
    """Render ``name`` with the layout's variables: ``lang``, ``t`` (texts), ``site_name``, ``nav``."""
    base: dict[str, Any] = {
        "lang": language,
        "t": texts(language),
        "site_name": site_name or getattr(request.app.state, "site_name", "save-relay"),
        "nav": NAV + ADMIN_NAV if _role(context) == AccountRole.ADMIN else NAV,
    }
    response = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status, headers=headers
    )
    response.headers["Content-Language"] = language
    return response
