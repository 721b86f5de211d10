"""The console's login over real HTTP (httpx on loopback): password and TOTP, cookie flags, the
session in the database, CSRF (403 without it), logout, disabled accounts, and the audit trail."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pyotp
import pytest

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.core.passwords import hash_password, new_totp_secret
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store import accounts
from save_relay.store.audit import entries_about
from save_relay.store.db import session_factory
from tests.web_support import base_url

LOGIN = "inspecteur.peeters@politie.lommel.be"
PASSWORD = "correct horse battery"


async def add_account(
    relay: Relay, login: str, role: AccountRole, totp: bool, language: str = "nl", network: str = "industrie"
) -> str | None:
    """Create an account in one of the relay's networks; its TOTP secret."""
    assert relay.ctx is not None
    secret = new_totp_secret() if totp else None
    async with session_factory(relay.engine)() as session, session.begin():
        await accounts.add(
            session,
            network_id=relay.ctx.networks[network].id,
            login=login,
            name="",
            role=role,
            language=language,
            password_hash=hash_password(PASSWORD),
            totp_secret=secret,
        )
    return secret


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(relay), timeout=10) as http:
        yield http


async def login_form(client: httpx.AsyncClient) -> str:
    page = await client.get("/")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def log_in(
    client: httpx.AsyncClient, code: str, password: str = PASSWORD, login: str = LOGIN
) -> httpx.Response:
    csrf = await login_form(client)
    return await client.post(
        "/login", data={"csrf": csrf, "login": login, "password": password, "code": code}
    )


async def test_password_and_totp_log_in_and_out(relay: Relay, client: httpx.AsyncClient) -> None:
    secret = await add_account(relay, LOGIN, AccountRole.MODERATOR, totp=True, language="fr")
    assert secret is not None
    refused = await log_in(client, "")  # the role needs TOTP
    assert refused.status_code == 401 and "Aanmelden mislukt" in refused.text
    assert "save_relay_session" not in refused.cookies

    response = await log_in(client, pyotp.TOTP(secret).now())
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("save_relay_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # http here

    console = await client.get("/console")
    assert console.status_code == 200 and console.headers["content-language"] == "fr"
    assert LOGIN in console.text and "modérateur" in console.text
    assert (await client.get("/")).headers["location"] == "/console"

    assert (await client.post("/logout", data={})).status_code == 403  # no CSRF token
    assert (await client.post("/logout", data={"csrf": "0" * 64})).status_code == 403
    csrf = re.search(r'name="csrf" value="([^"]+)"', console.text)
    assert csrf
    token = client.cookies["save_relay_session"]
    out = await client.post("/logout", data={"csrf": csrf.group(1)})
    assert out.status_code == 303
    client.cookies.set("save_relay_session", token)  # a stolen copy of the cookie opens nothing now
    assert (await client.get("/console")).headers["location"] == "/"

    async with session_factory(relay.engine)() as session:
        trail = await entries_about(session, LOGIN)
    assert [e.action for e in trail] == ["console.login_failed", "console.login", "console.logout"]
    assert all(e.via == "web" and e.detail["client"] == "127.0.0.1" for e in trail)


async def test_login_without_csrf_is_403(relay: Relay, client: httpx.AsyncClient) -> None:
    await add_account(relay, LOGIN, AccountRole.COORDINATOR, totp=False)
    data = {"login": LOGIN, "password": PASSWORD, "code": ""}
    assert (await client.post("/login", data=data)).status_code == 403
    await login_form(client)  # the cookie alone is not enough either
    assert (await client.post("/login", data=data)).status_code == 403
    assert (await log_in(client, "")).status_code == 303  # coordinators need no TOTP by default


async def test_disabled_account_loses_its_session(relay: Relay, client: httpx.AsyncClient) -> None:
    await add_account(relay, LOGIN, AccountRole.COORDINATOR, totp=False)
    assert (await log_in(client, "")).status_code == 303
    assert (await client.get("/console")).status_code == 200
    async with session_factory(relay.engine)() as session, session.begin():
        await accounts.set_active(session, LOGIN, False, utcnow())
    assert (await client.get("/console")).headers["location"] == "/"
    assert (await log_in(client, "")).status_code == 401


async def test_start_up_warns_when_public_url_is_not_https(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    server = Relay(settings)
    with caplog.at_level(logging.WARNING, logger="save_relay.app"):
        await server.start(migrate=False)
    await server.stop()
    assert any(getattr(r, "action", None) == "public_url_not_https" for r in caplog.records)
    https = settings.model_copy(
        update={"http": settings.http.model_copy(update={"public_url": "https://relay.example.be"})}
    )
    caplog.clear()
    server = Relay(https)
    with caplog.at_level(logging.WARNING, logger="save_relay.app"):
        await server.start(migrate=False)
    await server.stop()
    assert not any(getattr(r, "action", None) == "public_url_not_https" for r in caplog.records)


async def test_console_speaks_german_to_a_german_account(relay: Relay, client: httpx.AsyncClient) -> None:
    await add_account(relay, LOGIN, AccountRole.COORDINATOR, totp=False, language="de")
    assert (await log_in(client, "")).status_code == 303
    page = await client.get("/console")
    assert page.headers["content-language"] == "de" and "Angemeldet als" in page.text
    assert "Koordinator" in page.text and "Abmelden" in page.text
    assert "Warteschlange" in (await client.get("/reports")).text
