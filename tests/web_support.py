"""Helpers of the web tests (tests/e2e/test_web.py, tests/browser/): the relay's base URL, and a real
one-click unsubscribe URL taken from a distributed mail."""

from __future__ import annotations

from save_relay.app import Relay
from tests.e2e.test_one_click import URL, approve_one, status_of
from tests.helpers import Sink

__all__ = ["base_url", "one_click_url", "status_of"]


def base_url(relay: Relay) -> str:
    """``http://127.0.0.1:PORT``: the port the HTTP server bound (the tests ask for port 0)."""
    assert relay.http is not None
    return f"http://{relay.settings.http.host}:{relay.http.port}"


async def one_click_url(
    relay: Relay, sink: Sink, domain: str = "transport-vangorp.example"
) -> tuple[str, str]:
    """Post a report, approve it, and return the List-Unsubscribe URL of the mail to ``domain``'s
    address, with that address."""
    _, delivered = await approve_one(relay, sink)
    one = next(m for m in delivered if m.rcpt_tos[0].endswith(domain))
    match = URL.search(str(one.message["List-Unsubscribe"]))
    assert match, one.message["List-Unsubscribe"]
    return match.group(1), one.rcpt_tos[0].lower()
