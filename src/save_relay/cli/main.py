"""The command line: ``save-relay init | serve | db upgrade | queue ...``."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from save_relay.cli.canvass import canvass_app
from save_relay.cli.members import privacy_app, subscribers_app, zones_app
from save_relay.core.context import Context
from save_relay.core.errors import SaveRelayError
from save_relay.core.settings import Settings, load_settings
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks

T = TypeVar("T")

app = typer.Typer(
    help="save-relay: a moderated mail relay for police-industry networks.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
queue_app = typer.Typer(help="The moderation queue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(queue_app, name="queue")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(zones_app, name="zones")
app.add_typer(privacy_app, name="privacy")
app.add_typer(canvass_app, name="canvass")

_state: dict[str, Any] = {}


def _settings() -> Settings:
    settings = _state.get("settings")
    if settings is None:
        settings = _state["settings"] = load_settings(_state.get("config"))
    return settings


def _fail(message: str) -> typer.Exit:
    typer.secho(f"save-relay: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(make())
    except SaveRelayError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:  # a port in use, a missing or unreadable file: one line, no traceback
        raise _fail(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")) from None


@asynccontextmanager
async def _opened(migrate: bool = False) -> AsyncIterator[tuple[Context, SessionFactory]]:
    settings = _settings()
    engine = create_engine(settings.database.url)
    try:
        if migrate:
            from save_relay.store.migrate import upgrade

            await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            networks = await sync_networks(session, settings)
        yield Context(settings, networks), sessions
    finally:
        await engine.dispose()


@app.callback()
def main_options(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file (or SAVE_RELAY_CONFIG)")
    ] = None,
) -> None:
    _state["config"] = config
    try:
        settings = _settings()
    except SaveRelayError as exc:
        raise _fail(f"config error: {exc}") from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("mail.log", "alembic", "aioimaplib"):  # aiosmtpd logs every SMTP line at INFO
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@app.command()
def init(demo: Annotated[bool, typer.Option(help="load the demo zones and subscribers")] = False) -> None:
    """Create the database (run the migrations), register the networks, optionally load the demo data."""
    from save_relay.cli.demo import load_demo

    async def go() -> str:
        async with _opened(migrate=True) as (ctx, sessions):
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

    typer.echo(_run(go))


@app.command()
def serve() -> None:
    """Run the daemon in the foreground (SMTP intake, processing, outbound) until Ctrl-C or SIGTERM."""
    from save_relay.app import serve as run_daemon

    _run(lambda: run_daemon(_settings()))


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Health of each IMAP mailbox (from the database); exits 1 if one is not ok."""
    from save_relay.cli.status import format_status, mailbox_status
    from save_relay.core.clock import utcnow

    async def go() -> list[Any]:
        async with _opened() as (ctx, sessions), sessions() as session:
            return await mailbox_status(session, ctx.settings, utcnow())

    entries = _run(go)
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], indent=2))
    else:
        typer.echo("\n".join(format_status(entries)))
    if not all(e.healthy for e in entries):
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    from save_relay.store.migrate import upgrade

    async def go() -> None:
        engine = create_engine(_settings().database.url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    _run(go)
    typer.echo(f"database at {revision}")


@queue_app.command("list")
def queue_list(
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected, shunted")] = "pending",
    all_: Annotated[bool, typer.Option("--all", help="every status")] = False,
) -> None:
    """List reports, newest first."""
    from save_relay.moderation.queue import list_reports

    async def go() -> None:
        async with _opened() as (_, sessions), sessions() as session:
            rows = await list_reports(session, None if all_ else status)
        if not rows:
            typer.echo("no reports")
        for row in rows:
            typer.echo(
                f"{row.reference}  {row.status:<9} {row.received_at:%Y-%m-%d %H:%M}  "
                f"{row.sender:<32.32} {row.subject[:50]}  [{', '.join(row.zones)}]"
            )

    _run(go)


@queue_app.command("show")
def queue_show(reference: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one report: sender, text, attachments, zones, deliveries and its history."""
    from save_relay.moderation.queue import describe

    async def go() -> dict[str, object]:
        async with _opened() as (_, sessions), sessions() as session:
            return await describe(session, reference)

    info = _run(go)
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    for key, value in info.items():
        if key in {"text", "history"}:
            continue
        typer.echo(f"{key + ':':<12} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    typer.echo("history:")
    for line in info["history"]:  # type: ignore[attr-defined]
        typer.echo(f"  {line}")
    typer.echo("\n" + str(info["text"]))


def _split(value: str | None) -> list[str] | None:
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (containers with an arbitrary uid)
        return f"uid{os.getuid()}"


def _decide(reference: str, **decision: Any) -> None:
    from save_relay.moderation.decide import Actor, Decision, decide
    from save_relay.moderation.queue import get_report

    async def go() -> str:
        async with _opened() as (ctx, sessions), sessions() as session, session.begin():
            report = await get_report(session, reference)
            applied = await decide(
                session, ctx, report, Decision(**decision), Actor(name=f"cli:{_user()}", via="cli")
            )
        if applied.action == "approve":
            return (
                f"{applied.reference} approved: {applied.recipients} recipient(s) "
                f"in zones [{', '.join(applied.zones)}] groups [{', '.join(applied.groups)}]"
            )
        return f"{applied.reference} rejected"

    typer.echo(_run(go))


@queue_app.command("approve")
def queue_approve(
    reference: str,
    zones: Annotated[
        str | None, typer.Option(help="comma-separated zones (default: the proposed ones)")
    ] = None,
    groups: Annotated[str | None, typer.Option(help="comma-separated extra groups")] = None,
    credit: Annotated[bool, typer.Option(help="name the reporter")] = False,
    edit_file: Annotated[Path | None, typer.Option(help="file with the text to send instead")] = None,
) -> None:
    """Approve a pending report and send it to its zones and groups."""
    text = edit_file.read_text(encoding="utf-8") if edit_file else None
    _decide(
        reference, action="approve", zones=_split(zones), groups=_split(groups), credit=credit, edit_text=text
    )


@queue_app.command("reject")
def queue_reject(
    reference: str, reason: Annotated[str, typer.Option(help="why (kept in the audit log)")]
) -> None:
    """Reject a pending report."""
    _decide(reference, action="reject", reason=reason)


@queue_app.command("hold")
def queue_hold(
    reference: str,
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
    release: Annotated[bool, typer.Option("--release", help="lift the hold")] = False,
) -> None:
    """Put a report on an evidence hold: the retention purge and erasures keep it whole."""
    from save_relay.membership.holds import set_hold

    async def go() -> str:
        async with _opened() as (_, sessions), sessions() as session, session.begin():
            return await set_hold(session, reference, actor=f"cli:{_user()}", reason=reason, release=release)

    typer.echo(_run(go))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
