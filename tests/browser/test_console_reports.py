"""The queue and a report page in a real browser: approve with a changed zone by clicking (the
distribution reaches the sink), axe-clean pages, phone width. Screenshots as in test_console.py."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from save_relay.app import Relay
from save_relay.core.states import AccountRole
from tests.browser.conftest import PHONE, Browser
from tests.browser.test_console import assert_clean, keep
from tests.browser.test_console_login import fill_login
from tests.e2e.test_console_login import LOGIN, add_account
from tests.e2e.test_report_flow import distributed, post_report
from tests.helpers import Sink, wait_for
from tests.web_support import base_url

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def moderator_logged_in(
    relay: Relay, browser: Browser, role: AccountRole = AccountRole.MODERATOR
) -> None:
    """A moderator's (or ``role``'s) account with TOTP, logged in through the form: the browser is on
    /console."""
    secret = await add_account(relay, LOGIN, role, totp=True)
    assert secret is not None
    await browser.open(f"{base_url(relay)}/")
    await fill_login(browser, pyotp.TOTP(secret).now())
    await browser.wait_for("location.pathname === '/console'")


@sqlite_only
async def test_approve_with_a_changed_zone_by_clicking(
    relay: Relay, sink: Sink, browser: Browser, tmp_path: Path
) -> None:
    reference = await post_report(relay)
    await moderator_logged_in(relay, browser)

    await browser.open(f"{base_url(relay)}/reports")
    assert await browser.title() == "Wachtrij · SaVE Lommel"
    assert reference in await browser.text("main")
    await assert_clean(browser)
    await keep(browser, tmp_path, "console-queue")

    await browser.click(f"a[href='/reports/{reference}']")
    await browser.wait_for(f"location.pathname === '/reports/{reference}'")
    assert "witte bestelwagen" in await browser.text("pre.preview")
    await assert_clean(browser)
    await keep(browser, tmp_path, "console-report")
    await keep(browser, tmp_path, "console-report-phone", PHONE)

    # untick every proposed zone, tick Maatheide only, approve
    await browser.run(
        "document.querySelectorAll('form.approve input[name=zones]').forEach(b => b.checked = false);"
    )
    await browser.click("form.approve input[value='maatheide']")
    await browser.click("form.approve button[type=submit]")
    await browser.wait_for("document.querySelector('.decided-by') !== null")
    assert "goedgekeurd" in await browser.text("h1")
    await assert_clean(browser)
    assert await wait_for(lambda: distributed(sink, reference))
