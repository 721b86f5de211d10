"""The ``browser`` fixture: Debian's Chromium, headless, driven by Selenium through Debian's chromedriver.

Without those two binaries the browser tests are skipped on a developer's machine (``make system-deps``
installs them) but FAIL in CI (``CI=true``), where ``scripts/install-system-deps.sh`` must have run.
Selenium is given both paths, so its Selenium Manager never runs (and ``SE_OFFLINE`` forbids it to
download anything, should it ever be asked); Chromium is started without its background networking.

Selenium's calls block, and the relay under test runs in the test's event loop: ``Browser`` runs each
call in a thread, so the relay keeps answering while the browser waits for it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

T = TypeVar("T")

CHROMIUM = ("/usr/bin/chromium", "chromium")
CHROMEDRIVER = ("/usr/bin/chromedriver", "chromedriver")
AXE = next((Path(__file__).parent / "vendor").glob("axe-core-*/axe.min.js"))
#: axe impacts that fail a test (minor and moderate ones are reported, not failed)
SERIOUS = frozenset({"serious", "critical"})
WINDOW = (1280, 900)
PHONE = (390, 844)


def _find(candidates: tuple[str, str]) -> str | None:
    path, name = candidates
    return path if os.access(path, os.X_OK) else shutil.which(name)


@dataclass(frozen=True)
class Binaries:
    chromium: str
    chromedriver: str


@pytest.fixture(scope="session")
def chromium() -> Binaries:
    chromium, chromedriver = _find(CHROMIUM), _find(CHROMEDRIVER)
    if chromium is None or chromedriver is None:
        reason = "chromium/chromedriver are not installed (run `make system-deps`: chromium, chromium-driver)"
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    return Binaries(chromium, chromedriver)


def make_driver(binaries: Binaries, profile: Path) -> WebDriver:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download a driver or a browser
    options = webdriver.ChromeOptions()
    options.binary_location = binaries.chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",  # the closed network refuses Chromium's own connections
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "nl-BE,nl"})  # as a Lommel PC
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, CSP violations
    driver = webdriver.Chrome(service=Service(executable_path=binaries.chromedriver), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


class Browser:
    """An async face on one Chromium: every WebDriver call runs in a thread."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(function, *args)

    async def open(self, url: str) -> None:
        await self.call(self.driver.get, url)

    async def title(self) -> str:
        return await self.call(lambda: self.driver.title)

    async def run(self, script: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, script, *args)

    async def text(self, css: str = "body") -> str:
        return await self.call(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text)

    async def click(self, css: str) -> None:
        await self.call(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def type(self, css: str, text: str) -> None:
        """Type into a field as a person does (key events, not a value set by script)."""
        await self.call(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(text))

    async def wait_for(self, script: str, timeout: float = 10.0) -> Any:
        """Poll a JavaScript expression until truthy."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := await self.run(f"return {script};")):
            if loop.time() > deadline:
                raise AssertionError(f"not true in the browser within {timeout} s: {script}")
            await asyncio.sleep(0.1)
        return value

    async def console(self) -> list[dict[str, Any]]:
        """The console messages since the last call (errors, CSP violations, failed loads)."""
        return await self.call(self.driver.get_log, "browser")

    async def console_errors(self, *, allow: tuple[str, ...] = ()) -> list[str]:
        return [
            entry["message"]
            for entry in await self.console()
            if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in allow)
        ]

    async def axe(self) -> list[dict[str, Any]]:
        """Run axe-core (vendored, injected into the page) and return its violations."""
        if not await self.run("return typeof window.axe !== 'undefined';"):
            await self.run(AXE.read_text(encoding="utf-8"))
        result = await self.call(
            self.driver.execute_async_script,
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))))"
            ".catch(e => done({error: String(e)}));",
        )
        assert isinstance(result, list), result
        return result

    async def serious_violations(self) -> list[dict[str, Any]]:
        return [v for v in await self.axe() if v["impact"] in SERIOUS]

    async def screenshot(self, path: Path, size: tuple[int, int] = WINDOW) -> Path:
        await self.call(self.driver.set_window_size, *size)
        try:
            assert await self.call(self.driver.save_screenshot, str(path)), path
        finally:
            await self.call(self.driver.set_window_size, *WINDOW)
        return path


@pytest.fixture
def browser_profile() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="save-relay-chromium-") as profile:
        yield Path(profile)


@pytest.fixture
async def browser(chromium: Binaries, browser_profile: Path) -> AsyncIterator[Browser]:
    driver = await asyncio.to_thread(make_driver, chromium, browser_profile)
    try:
        yield Browser(driver)
    finally:
        await asyncio.to_thread(driver.quit)
