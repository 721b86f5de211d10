"""``save-relay webhooks list``: the configured endpoints and what their queue holds.

Endpoints are settings (``[[networks.X.webhooks]]``), reviewed like the rest of the configuration;
this command shows them as the daemon reads them, with each secret cut to its first characters.
"""

from __future__ import annotations

from typing import Annotated

import typer

from save_relay.cli.common import choose_network, opened, run
from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import WebhookSettings
from save_relay.store import deliveries

webhooks_app = typer.Typer(help="Signed webhooks to control rooms (Standard Webhooks).", no_args_is_help=True)


def _line(key: str, endpoint: WebhookSettings, counts: dict[str, int]) -> str:
    events = "all" if set(endpoint.events) == set(ChannelEvent) else ",".join(endpoint.events)
    zones = ",".join(endpoint.zones) or "all"
    queue = ", ".join(f"{status} {counts.get(status, 0)}" for status in ("queued", "sent", "failed"))
    return (
        f"{key}/{endpoint.name}  {endpoint.url}  secret {endpoint.shown_secret()}\n"
        f"    events: {events}  zones: {zones}  {queue}"
    )


@webhooks_app.command("list")
def list_webhooks(
    network_key: Annotated[str | None, typer.Option("--network", help="only this network")] = None,
) -> None:
    """Each endpoint: URL, the start of its secret, its events and zones, its deliveries by status."""

    async def go() -> list[str]:
        async with opened() as (ctx, sessions), sessions() as session:
            refs = [choose_network(ctx, network_key)] if network_key else list(ctx.networks.values())
            counts = await deliveries.webhook_counts(session)
        lines = []
        for ref in refs:
            for endpoint in ref.settings.webhooks:
                mine = {
                    s: n for (nid, name, s), n in counts.items() if nid == ref.id and name == endpoint.name
                }
                lines.append(_line(ref.key, endpoint, mine))
        return lines or ["no webhooks configured ([[networks.<key>.webhooks]] in the settings)"]

    typer.echo("\n".join(run(go)))
