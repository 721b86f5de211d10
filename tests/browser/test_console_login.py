"""Logging in to the console in a real browser: the form with password and TOTP code, the console page
(axe-clean, on a phone too), and logging out; a wrong code is told in the page's language."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from save_relay.app import Relay
from save_relay.core.states import AccountRole
from tests.browser.conftest import PHONE, Browser
from tests.browser.test_console import assert_clean, keep
from tests.e2e.test_console_login import LOGIN, PASSWORD, add_account
from tests.web_support import base_url

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def fill_login(browser: Browser, code: str) -> None:
    await browser.type("#login", LOGIN)
    await browser.type("#password", PASSWORD)
    await browser.type("#code", code)
    await browser.click("form.login button[type=submit]")


@sqlite_only
async def test_log_in_with_password_and_totp(relay: Relay, browser: Browser, tmp_path: Path) -> None:
    secret = await add_account(relay, LOGIN, AccountRole.MODERATOR, totp=True, language="en")
    assert secret is not None
    await browser.open(f"{base_url(relay)}/")
    await fill_login(browser, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    await browser.wait_for("document.querySelector('#login-error') !== null")
    assert "Aanmelden mislukt" in await browser.text("#login-error")
    await assert_clean(browser, allow=("status of 401",))

    await browser.open(f"{base_url(relay)}/")
    await fill_login(browser, pyotp.TOTP(secret).now())
    await browser.wait_for("location.pathname === '/console'")
    assert await browser.title() == "Console · SaVE Lommel"
    assert await browser.run("return document.documentElement.lang;") == "en"  # the account's language
    assert LOGIN in await browser.text("main") and "moderator" in await browser.text("main")
    await assert_clean(browser)
    await keep(browser, tmp_path, "console-logged-in")
    await browser.call(browser.driver.set_window_size, *PHONE)
    assert await browser.run("return document.documentElement.scrollWidth <= window.innerWidth;")

    await browser.click("form[action='/logout'] button[type=submit]")
    await browser.wait_for("location.pathname === '/'")
    assert await browser.title() == "Inloggen · SaVE Lommel"
    await browser.open(f"{base_url(relay)}/console")
    await browser.wait_for("location.pathname === '/'")  # the session ended on the server
