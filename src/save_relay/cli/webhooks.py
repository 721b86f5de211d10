"""``save-relay webhooks list | add | import | disable | enable | rotate | remove``.

Two kinds of endpoint: the settings' (``[[networks.X.webhooks]]``, reviewed like the rest of the
configuration; ``list`` shows the start of their secret) and the managed ones, kept in the database per
organisation and changed here, by a CSV import or in the console. A managed endpoint's secret is
printed once, by ``add``, ``import`` (new names) and ``rotate``, and never again. Every change is
audited (never with the secret).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.channels.endpoint_import import import_endpoints
from save_relay.channels.endpoints import Wanted, add, describe, find, rotate
from save_relay.cli.common import actor_name, choose_network, opened, run, split
from save_relay.core.context import NetworkRef
from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import WebhookSettings
from save_relay.store import audit, deliveries, webhook_endpoints
from save_relay.store.tables import WebhookEndpointRow

webhooks_app = typer.Typer(help="Signed webhooks to control rooms (Standard Webhooks).", no_args_is_help=True)

NetworkOption = Annotated[str | None, typer.Option("--network", help="the network (needed if several)")]
ONCE = "(shown once: give it to the receiver by a safe way; `rotate` makes a new one)"


def _queue(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {counts.get(status, 0)}" for status in ("queued", "sent", "failed"))


def _filters(events: list[str], zones: list[str]) -> str:
    shown = "all" if set(events) == set(ChannelEvent) else ",".join(events)
    return f"events: {shown}  zones: {','.join(zones) or 'all'}"


def _line(key: str, endpoint: WebhookSettings, counts: dict[str, int]) -> str:
    return (
        f"{key}/{endpoint.name}  {endpoint.url}  secret {endpoint.shown_secret()}  (settings)\n"
        f"    {_filters([str(e) for e in endpoint.events], endpoint.zones)}  {_queue(counts)}"
    )


def _managed_line(key: str, row: WebhookEndpointRow, counts: dict[str, int]) -> str:
    state = "enabled" if row.enabled else "DISABLED"
    organisation = f"  {row.organisation}" if row.organisation else ""
    return (
        f"{key}/{row.name}  {row.url}  {state}{organisation}  secret set {row.secret_at:%Y-%m-%d}\n"
        f"    {_filters(row.events, row.zones)}  {_queue(counts)}"
    )


@webhooks_app.command("list")
def list_webhooks(
    network_key: Annotated[str | None, typer.Option("--network", help="only this network")] = None,
) -> None:
    """Each endpoint: URL, events and zones, its deliveries by status (settings' ones: their secret's
    start; managed ones: whether enabled, never their secret)."""

    async def go() -> list[str]:
        async with opened() as (ctx, sessions), sessions() as session:
            refs = [choose_network(ctx, network_key)] if network_key else list(ctx.networks.values())
            counts = await deliveries.webhook_counts(session)
            managed = await webhook_endpoints.listed(session, [ref.id for ref in refs])
        lines = []
        for ref in refs:
            for endpoint in ref.settings.webhooks:
                mine = {
                    s: n for (nid, name, s), n in counts.items() if nid == ref.id and name == endpoint.name
                }
                lines.append(_line(ref.key, endpoint, mine))
            for row in (r for r in managed if r.network_id == ref.id):
                mine = {s: n for (nid, name, s), n in counts.items() if nid == ref.id and name == row.name}
                lines.append(_managed_line(ref.key, row, mine))
        return lines or [
            "no webhooks (save-relay webhooks add, or [[networks.<key>.webhooks]] in the settings)"
        ]

    typer.echo("\n".join(run(go)))


def _audit(session: AsyncSession, network: NetworkRef, action: str, name: str, **detail: Any) -> None:
    audit.record(
        session,
        action=action,
        actor=actor_name(),
        via="cli",
        network_id=network.id,
        object_ref=name,
        **detail,
    )


@webhooks_app.command("add")
def add_webhook(
    name: Annotated[str, typer.Argument(help="its name in lists and the queue: a-z, 0-9, - and _")],
    url: Annotated[str, typer.Argument(help="https:// URL of the receiver")],
    organisation: Annotated[str, typer.Option("--organisation", help="whose control room it is")] = "",
    events: Annotated[
        str | None, typer.Option("--events", help="comma-separated events (default: all)")
    ] = None,
    zones: Annotated[
        str | None, typer.Option("--zones", help="comma-separated zone slugs (default: all)")
    ] = None,
    network_key: NetworkOption = None,
) -> None:
    """Add a managed endpoint; prints its new secret once."""
    wanted = Wanted(name, url, organisation, tuple(split(events) or ()), tuple(split(zones) or ()))

    async def go() -> str:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            network = choose_network(ctx, network_key)
            row, secret = await add(session, network, wanted)
            _audit(session, network, "webhook.add", row.name, endpoint=describe(row))
            return f"added {network.key}/{row.name}\nsecret: {secret}  {ONCE}"

    typer.echo(run(go))


@webhooks_app.command("import")
def import_webhooks(
    file: Annotated[Path, typer.Argument(help="CSV: name,organisation,url,events,zones,enabled")],
    network_key: NetworkOption = None,
) -> None:
    """Add or update managed endpoints from a CSV file (checked whole first); prints new secrets once."""
    text = file.read_text(encoding="utf-8")

    async def go() -> list[str]:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            network = choose_network(ctx, network_key)
            done = await import_endpoints(session, network, text)
            _audit(
                session,
                network,
                "webhook.import",
                file.name[:64],
                added=[n for n, _ in done.added],
                updated=done.updated,
            )
        lines = [f"added {name}  secret: {secret}" for name, secret in done.added]
        lines += [f"updated {name}" for name in done.updated]
        lines += [f"unchanged {name}" for name in done.unchanged]
        if done.added:
            lines.append(
                "each secret is shown once: give it to its receiver by a safe way (`rotate` makes a new one)"
            )
        return lines or ["the file names no endpoints"]

    typer.echo("\n".join(run(go)))


def _change(name: str, network_key: str | None, action: str) -> str:
    """``disable``, ``enable``, ``rotate`` or ``remove`` the managed endpoint ``name``."""

    async def go() -> str:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            network = choose_network(ctx, network_key)
            row = await find(session, network, name)
            said = f"{network.key}/{row.name}"
            if action == "rotate":
                secret = rotate(row)
                _audit(session, network, "webhook.rotate", row.name)
                return f"new secret of {said}: {secret}  {ONCE}\nthe old secret no longer signs anything"
            if action == "remove":
                await webhook_endpoints.remove(session, row)
                _audit(session, network, "webhook.remove", row.name, url=row.url)
                return f"removed {said} (its queued deliveries fail: no such webhook)"
            row.enabled = action == "enable"
            _audit(session, network, f"webhook.{action}", row.name)
            return f"{action}d {said}"

    return run(go)


@webhooks_app.command("disable")
def disable_webhook(name: str, network_key: NetworkOption = None) -> None:
    """Stop sending to a managed endpoint (kept, with its secret; `enable` resumes new events)."""
    typer.echo(_change(name, network_key, "disable"))


@webhooks_app.command("enable")
def enable_webhook(name: str, network_key: NetworkOption = None) -> None:
    """Send to a disabled managed endpoint again (events from now on)."""
    typer.echo(_change(name, network_key, "enable"))


@webhooks_app.command("rotate")
def rotate_webhook(name: str, network_key: NetworkOption = None) -> None:
    """A new secret for a managed endpoint, printed once; the old one stops at once."""
    typer.echo(_change(name, network_key, "rotate"))


@webhooks_app.command("remove")
def remove_webhook(name: str, network_key: NetworkOption = None) -> None:
    """Delete a managed endpoint and its secret."""
    typer.echo(_change(name, network_key, "remove"))
