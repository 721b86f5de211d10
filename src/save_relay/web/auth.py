"""Logging in and out of the console, the session behind each page, and CSRF checks.

The session cookie holds a random token; the database keeps its SHA-256 (``store/accounts.py``). The
cookie is HttpOnly, SameSite=Lax, and Secure when ``public_url`` is https. Every state-changing request
carries a CSRF token in its form: before login a random token doubled in a short-lived cookie (the
login form), after login one derived from the session token (``core/passwords.csrf_token``); a POST
without the right one gets 403.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.core.clock import utcnow
from save_relay.core.passwords import csrf_ok, csrf_token, new_token
from save_relay.store import accounts
from save_relay.store.audit import record
from save_relay.web.deps import deps
from save_relay.web.i18n import negotiate
from save_relay.web.templating import render

SESSION_COOKIE = "save_relay_session"
LOGIN_COOKIE = "save_relay_login"


@dataclass(frozen=True, slots=True)
class Visitor:
    """A logged-in request: its account, and the CSRF token its forms must carry."""

    account: accounts.AccountRow
    csrf: str


def client_address(request: Request) -> str:
    """The peer's address (behind a proxy: the proxy's, unless uvicorn is told to trust its headers)."""
    return request.client.host if request.client else ""


def audit(
    session: AsyncSession,
    request: Request,
    action: str,
    actor: str,
    network_id: int | None,
    *,
    object_ref: str | None = None,
    **detail: Any,
) -> None:
    """An audit entry of a console action: the account (or the login tried) and the client address."""
    record(
        session,
        action=action,
        actor=actor[:320],
        via="web",
        network_id=network_id,
        object_ref=(object_ref or actor)[:64],
        client=client_address(request),
        **detail,
    )


def _secure(request: Request) -> bool:
    url = deps(request).ctx.settings.http.public_url or ""
    return url.startswith("https://") or request.url.scheme == "https"


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


async def visitor(request: Request) -> Visitor | None:
    """The logged-in account of this request, or None (no cookie, or a session that ended)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    conf = deps(request).ctx.settings.console
    timeouts = accounts.Timeouts(
        idle=timedelta(minutes=conf.session_idle_minutes),
        absolute=timedelta(hours=conf.session_absolute_hours),
    )
    async with deps(request).sessions() as session, session.begin():
        account = await accounts.session_account(session, token, timeouts, utcnow())
    return Visitor(account, csrf_token(token)) if account else None


async def checked_form(request: Request, expected: Visitor) -> FormData:
    """The request's form, after its CSRF token is checked against the session (403 if wrong)."""
    form = await request.form()
    given = form.get("csrf")
    token = request.cookies.get(SESSION_COOKIE, "")
    if not isinstance(given, str) or not token or not csrf_ok(token, given) or given != expected.csrf:
        raise HTTPException(403)
    return form


def _login_page(request: Request, *, error: bool = False, login: str = "") -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_token()
    networks = deps(request).ctx.networks.values()
    response = render(
        request,
        "home.html",
        {
            "network_names": sorted(n.settings.name for n in networks),
            "csrf": token,
            "error": error,
            "login": login,
        },
        language=negotiate(request.headers.get("accept-language")),
        status=401 if error else 200,
        headers={"Vary": "Accept-Language"},
    )
    _cookie(request, response, LOGIN_COOKIE, token, 3600)
    return response


async def home(request: Request) -> Response:
    """``/``: the login form, or the console for who is logged in already."""
    if await visitor(request) is not None:
        return RedirectResponse("/console", status_code=303)
    return _login_page(request)


async def login(request: Request) -> Response:
    """``POST /login``: password, and the TOTP code when the account has one or its role needs one."""
    form = await request.form()
    given, cookie = form.get("csrf"), request.cookies.get(LOGIN_COOKIE)
    if not isinstance(given, str) or not cookie or not hmac.compare_digest(given, cookie):
        raise HTTPException(403)
    name = str(form.get("login", "")).strip().lower()
    password, code = str(form.get("password", "")), str(form.get("code", ""))
    web, now, client = deps(request), utcnow(), client_address(request)
    conf = web.ctx.settings.console
    throttle = accounts.Throttle(conf.login_failures, timedelta(seconds=conf.lockout_seconds))
    async with web.sessions() as session, session.begin():
        row = await accounts.by_login(session, name)
        ref = next((r for r in web.ctx.networks.values() if row and r.id == row.network_id), None)
        required = bool(row and ref and row.role in ref.settings.totp_roles)
        account = await accounts.authenticate(
            session, name, password, code, totp_required=required, throttle=throttle, now=now
        )
        token = new_token()
        if account is not None:
            await accounts.start_session(session, account.id, token, client, now)
        action = "console.login" if account else "console.login_failed"
        audit(session, request, action, name, row.network_id if row else None, object_ref=name)
    if account is None:
        return _login_page(request, error=True, login=name)
    response = RedirectResponse("/console", status_code=303)
    _cookie(request, response, SESSION_COOKIE, token, int(conf.session_absolute_hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    """``POST /logout``: the session ends in the database, not only in the browser."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    await checked_form(request, who)
    async with deps(request).sessions() as session, session.begin():
        await accounts.end_session(session, request.cookies.get(SESSION_COOKIE, ""), utcnow())
        audit(session, request, "console.logout", who.account.login, who.account.network_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def console(request: Request) -> Response:
    """``/console``: the logged-in landing page (the queue and the other pages hang from here)."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    return render(request, "console.html", {"who": who}, language=who.account.language)
