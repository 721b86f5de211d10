"""An outbound-only node: intake, HTTP listener and scheduler off, the unsubscribe links still public.

It keeps its loopback operations listener (``/metrics``, ``/readyz``): every node is scraped.
"""

from __future__ import annotations

from pathlib import Path

from save_relay.app import Relay
from tests.conftest import make_settings
from tests.helpers import Sink

PUBLIC = "https://relay.example.be"


async def test_outbound_only_node_listens_only_for_operations_and_links_to_the_public_url(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    settings = make_settings(
        db_url,
        sink.port,
        tmp_path,
        node_name="worker-2",
        smtp={"enabled": False},
        http={"enabled": False, "public_url": PUBLIC},
        scheduler={"enabled": False},
    )
    relay = Relay(settings)
    await relay.start(migrate=False)
    try:
        assert relay.ops is not None
        assert relay.listening() == [f"http://127.0.0.1:{relay.ops.port}/metrics"]
        assert relay.scheduler is None and relay.http is None
        assert relay.worker is not None and relay.worker.unsubscribe_url == f"{PUBLIC}/unsubscribe"
    finally:
        await relay.stop()


async def test_without_listener_or_public_url_there_is_no_unsubscribe_link(
    db_url: str, sink: Sink, tmp_path: Path
) -> None:
    relay = Relay(
        make_settings(db_url, sink.port, tmp_path, http={"enabled": False}, metrics={"enabled": False})
    )
    await relay.start(migrate=False)
    try:
        assert relay.worker is not None and relay.worker.unsubscribe_url is None
        assert relay.ops is None and not any(url.startswith("http") for url in relay.listening())
    finally:
        await relay.stop()
