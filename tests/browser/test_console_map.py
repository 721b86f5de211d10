"""The report page's map in a real browser: the zones drawn as vectors (no tiles asked for), a click on
a zone ticks its checkbox and the live count follows, and axe finds no serious violation with the map."""

from __future__ import annotations

from pathlib import Path

from save_relay.app import Relay
from tests.browser.conftest import Browser
from tests.browser.test_console import assert_clean, keep
from tests.browser.test_console_reports import moderator_logged_in, sqlite_only
from tests.e2e.test_console_map import selected
from tests.e2e.test_report_flow import post_report
from tests.web_support import base_url

TICKED = "Array.from(document.querySelectorAll('form.approve input[name=%s]:checked')).map(b => b.value)"


@sqlite_only
async def test_click_a_zone_on_the_map_changes_the_count(
    relay: Relay, browser: Browser, tmp_path: Path
) -> None:
    reference = await post_report(relay)
    await moderator_logged_in(relay, browser)
    await browser.open(f"{base_url(relay)}/reports/{reference}")
    drawn = await browser.wait_for("Number(document.getElementById('zone-map').dataset.zones || 0)")
    assert drawn == 7
    assert await browser.run("return document.querySelectorAll('#zone-map path.zone').length;") == 7
    assert await browser.run("return document.querySelectorAll('#zone-map img').length;") == 0  # no tiles
    before = int(await browser.text("#recipient-count"))
    ticked = await browser.run(f"return {TICKED % 'zones'};")
    groups = await browser.run(f"return {TICKED % 'groups'};")
    assert "maatheide" not in ticked
    assert before == await selected(relay, ticked, groups)
    await assert_clean(browser)
    await keep(browser, tmp_path, "console-report-map")

    await browser.click("#zone-map path.zone-maatheide")
    await browser.wait_for(
        "document.querySelector('form.approve input[value=\"maatheide\"]').checked === true"
    )
    after = await selected(relay, [*ticked, "maatheide"], groups)
    assert after != before
    await browser.wait_for(f"document.getElementById('recipient-count').textContent.trim() === '{after}'")
    # and a click on the checkbox unticks it, the count back where it was
    await browser.click("form.approve input[value='maatheide']")
    await browser.wait_for(f"document.getElementById('recipient-count').textContent.trim() === '{before}'")
    await assert_clean(browser)
