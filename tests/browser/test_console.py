"""The web side in a real browser (headless Chromium): pages load with their scripts and styles under the
Content-Security-Policy without a console error, pass axe-core with no serious or critical violation,
and the one-click unsubscribe works by clicking its button.

Screenshots go to the test's tmp dir; with ``SAVE_RELAY_SCREENS=DIR`` they are written to DIR too
(``docs/screens/`` holds the committed ones).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from save_relay.app import Relay
from tests.browser.conftest import PHONE, Browser
from tests.helpers import Sink, wait_for
from tests.web_support import base_url, one_click_url, status_of

# Pages alone: the database behind them does not change what they show.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def keep(browser: Browser, tmp_path: Path, name: str, size: tuple[int, int] | None = None) -> None:
    shot = await browser.screenshot(tmp_path / f"{name}.png", *([size] if size else []))
    assert shot.stat().st_size > 1000
    if folder := os.environ.get("SAVE_RELAY_SCREENS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(folder) / shot.name)


async def assert_clean(browser: Browser, *, allow: tuple[str, ...] = ()) -> None:
    """No console error (a CSP violation, a failed script or style) and no serious axe violation."""
    assert await browser.console_errors(allow=allow) == []
    assert await browser.serious_violations() == []


@sqlite_only
async def test_home_page(relay: Relay, browser: Browser, tmp_path: Path) -> None:
    await browser.open(f"{base_url(relay)}/")
    assert await browser.title() == "Inloggen · SaVE Lommel"
    assert await browser.run("return document.documentElement.lang;") == "nl"
    # htmx loaded from /static/ under the CSP, with our config (no inline indicator styles)
    assert await browser.wait_for("window.htmx && window.htmx.version") == "2.0.11"
    assert await browser.run("return htmx.config.includeIndicatorStyles;") is False
    # console.css applied: the header has the accent colour
    background = await browser.run(
        "return getComputedStyle(document.querySelector('header.site')).backgroundColor;"
    )
    assert background == "rgb(11, 79, 138)"
    assert "SaVE Lommel" in await browser.text("header") and "112" in await browser.text("footer")
    await assert_clean(browser)
    await keep(browser, tmp_path, "console-home")
    await keep(browser, tmp_path, "console-home-phone", PHONE)
    # on a phone nothing overflows sideways
    await browser.call(browser.driver.set_window_size, *PHONE)
    assert await browser.run("return document.documentElement.scrollWidth <= window.innerWidth;")


@sqlite_only
async def test_error_page(relay: Relay, browser: Browser) -> None:
    await browser.open(f"{base_url(relay)}/admin")
    assert await browser.title() == "404 Not Found · SaVE Lommel"
    assert "404" in await browser.text("h1")
    await assert_clean(browser, allow=("the server responded with a status of 404",))


async def test_one_click_unsubscribe_by_clicking(
    relay: Relay, sink: Sink, browser: Browser, tmp_path: Path
) -> None:
    url, address = await one_click_url(relay, sink)
    await browser.open(url)
    assert await browser.title() == "Afmelden · SaVE Lommel"
    assert "Wilt u geen berichten" in await browser.text("main")
    await assert_clean(browser)
    await keep(browser, tmp_path, "one-click")
    assert await status_of(relay, address) == "active"  # showing the page changed nothing

    await browser.click("form[method=post] button[type=submit]")
    await browser.wait_for("document.body.innerText.includes('U bent afgemeld')")
    assert await wait_for(lambda: status_of(relay, address)) == "unsubscribed"
    await assert_clean(browser)
    await keep(browser, tmp_path, "one-click-done")
    await wait_for(lambda: [m for m in sink.to(address) if "Uitgeschreven" in str(m.message["Subject"])])
