"""The command line: ``save-relay init | serve | db upgrade | queue ...``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from save_relay.app import serve as run_daemon
from save_relay.cli.audit import audit_app
from save_relay.cli.canvass import canvass_app
from save_relay.cli.cap import cap
from save_relay.cli.common import debugging, explain, fail, opened, print_traceback, run, settings, use_config
from save_relay.cli.demo import load_demo
from save_relay.cli.evidence import evidence_app
from save_relay.cli.members import privacy_app, subscribers_app, zones_app
from save_relay.cli.queue import queue_app
from save_relay.cli.stats import stats
from save_relay.cli.status import status
from save_relay.cli.users import users_app
from save_relay.cli.webhooks import webhooks_app
from save_relay.core import logs
from save_relay.core.errors import SaveRelayError
from save_relay.store.db import create_engine, describe_url
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
app.add_typer(audit_app, name="audit")
app.add_typer(evidence_app, name="evidence")
app.add_typer(users_app, name="users")
app.add_typer(webhooks_app, name="webhooks")
app.command()(status)
app.command()(stats)
app.command()(cap)


@app.callback()
def main_options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML settings file; default: SAVE_RELAY_CONFIG, else ./save-relay.toml, "
            "else /etc/save-relay/save-relay.toml",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of an error")] = False,
) -> None:
    use_config(config, debug=debug)
    try:
        conf = settings()
    except SaveRelayError as exc:
        raise fail(f"config error: {exc}") from None
    logs.configure(conf.logging, conf.secrets())


@app.command()
def init(demo: Annotated[bool, typer.Option(help="load the demo zones and subscribers")] = False) -> None:
    """Create the database (run the migrations), register the networks, optionally load the demo data."""

    async def go() -> str:
        async with opened(migrate=True) as (ctx, sessions):
            lines = [f"database ready: {describe_url(ctx.settings.database.url)}"]
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


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="a migration id such as 0008, or head")] = "head",
) -> None:
    """Apply the migrations up to REVISION (default: head, the newest); creates the database if needed."""

    async def go() -> None:
        engine = create_engine(settings().database.url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    run(go)
    typer.echo(f"database {describe_url(settings().database.url)} at {revision}")


def _usage_error(exc: Exception) -> int | None:
    """Print a command-line mistake (click's UsageError and kin, found by their shape: recent typer
    versions bring their own click) as one line; its exit code, or None if ``exc`` is not one."""
    if not (hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)):
        return None
    context = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
        typer.echo(context.get_help(), err=True)
        return 2
    where = context.command_path if context is not None else "save-relay"
    message = exc.format_message().replace("Value error, ", "")
    typer.secho(f"{where}: {message} (see {where} --help)", err=True, fg=typer.colors.RED)
    return int(exc.exit_code)  # type: ignore[attr-defined]


def main() -> None:
    """The console script: every error is one line on stderr (a usage error exits 2, others 1)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="save-relay", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a usage error, or an error outside run(): still one line
        usage = _usage_error(exc)
        if usage is not None:
            sys.exit(usage)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        if debugging():
            print_traceback()
        fail(explain(exc))
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
