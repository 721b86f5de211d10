"""The command line: ``save-relay init | serve | db upgrade | queue ...``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from save_relay.app import serve as run_daemon
from save_relay.cli.canvass import canvass_app
from save_relay.cli.common import fail, opened, run, settings, use_config
from save_relay.cli.demo import load_demo
from save_relay.cli.members import privacy_app, subscribers_app, zones_app
from save_relay.cli.queue import queue_app
from save_relay.cli.status import format_status, mailbox_status
from save_relay.core.clock import utcnow
from save_relay.core.errors import SaveRelayError
from save_relay.store.db import create_engine
from save_relay.store.migrate import upgrade

T = TypeVar("T")

app = typer.Typer(
    help="save-relay: a moderated mail relay for police-industry networks.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(queue_app, name="queue")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(zones_app, name="zones")
app.add_typer(privacy_app, name="privacy")
app.add_typer(canvass_app, name="canvass")


@app.callback()
def main_options(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file (or SAVE_RELAY_CONFIG)")
    ] = None,
) -> None:
    use_config(config)
    try:
        conf = settings()
    except SaveRelayError as exc:
        raise fail(f"config error: {exc}") from None
    logging.basicConfig(level=conf.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("mail.log", "alembic", "aioimaplib"):  # aiosmtpd logs every SMTP line at INFO
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@app.command()
def init(demo: Annotated[bool, typer.Option(help="load the demo zones and subscribers")] = False) -> None:
    """Create the database (run the migrations), register the networks, optionally load the demo data."""

    async def go() -> str:
        async with opened(migrate=True) as (ctx, sessions):
            lines = [f"database ready: {ctx.settings.database.url}"]
            lines += [f"network {key}: {ref.settings.address}" for key, ref in ctx.networks.items()]
            if demo:
                conf = ctx.settings.demo
                if conf.network not in ctx.networks:
                    raise SaveRelayError(f"demo.network: no network {conf.network!r} in the settings")
                async with sessions() as session, session.begin():
                    counts = await load_demo(
                        session, ctx.networks[conf.network].id, conf.zones, conf.subscribers
                    )
                lines.append(
                    f"demo data: {counts.zones} zones, {counts.subscribers} subscribers, "
                    f"{counts.addresses} addresses, {counts.groups} groups"
                )
            return "\n".join(lines)

    typer.echo(run(go))


@app.command()
def serve() -> None:
    """Run the daemon in the foreground (SMTP intake, processing, outbound) until Ctrl-C or SIGTERM."""

    run(lambda: run_daemon(settings()))


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Health of each IMAP mailbox (from the database); exits 1 if one is not ok."""

    async def go() -> list[Any]:
        async with opened() as (ctx, sessions), sessions() as session:
            return await mailbox_status(session, ctx.settings, utcnow())

    entries = run(go)
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], indent=2))
    else:
        typer.echo("\n".join(format_status(entries)))
    if not all(e.healthy for e in entries):
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations up to REVISION (default: the newest)."""

    async def go() -> None:
        engine = create_engine(settings().database.url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    run(go)
    typer.echo(f"database at {revision}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
