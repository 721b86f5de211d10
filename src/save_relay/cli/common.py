"""What every CLI command shares: the settings, the database, one-line errors, the acting user.

Commands run their async work through ``run`` (any error becomes one red line and exit 1, never a
traceback, unless ``--debug``) and open the database through ``opened``: a command that is not
``init`` or ``db upgrade`` never creates a database; it says there is none (or that it is not
initialised) and how to make one.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.core.logs import Masker
from save_relay.core.settings import SEARCH_PATH, Settings, find_config, load_settings
from save_relay.processing.gate import Actor
from save_relay.store import audit
from save_relay.store.db import SessionFactory, create_engine, database_file, describe_url, session_factory
from save_relay.store.migrate import current_revision, head_revision, upgrade
from save_relay.store.networks import sync_networks

T = TypeVar("T")

_state: dict[str, Any] = {}


class NoDatabase(SaveRelayError):
    """There is no usable database."""


def use_config(path: Path | None, *, debug: bool = False) -> None:
    """The ``--config`` and ``--debug`` of this run (the settings are read on first use)."""
    _state.clear()
    _state["config"] = path
    _state["debug"] = debug


def debugging() -> bool:
    return bool(_state.get("debug"))


def settings() -> Settings:
    loaded = _state.get("settings")
    if loaded is None:
        loaded = _state["settings"] = load_settings(find_config(_state.get("config")))
        _state["masker"] = Masker(loaded.secrets())
    return loaded


def settings_source() -> str:
    """Where the settings came from, for messages: the file, or what was searched."""
    conf = _state.get("settings")
    if conf is not None and conf.config_file is not None:
        return str(conf.config_file)
    searched = ", ".join(str(p) if p.is_absolute() else f"./{p}" for p in SEARCH_PATH)
    return f"no settings file (give --config, set SAVE_RELAY_CONFIG, or create one of {searched})"


def mask(text: str) -> str:
    masker: Masker = _state.get("masker") or Masker()
    return masker.text(text)


def print_traceback() -> None:
    """``--debug``: the traceback of the error being handled, passwords masked."""
    typer.echo(mask(traceback.format_exc()), err=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"save-relay: {mask(message)}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def first_line(exc: BaseException) -> str:
    """An exception as one line: its message's first line, or its type."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def explain(exc: BaseException) -> str:
    """The one line a user sees for ``exc``."""
    if isinstance(exc, SaveRelayError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:  # a port in use, a missing or unreadable file
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    if isinstance(exc, SQLAlchemyError | OSError) or type(exc).__module__.startswith("asyncpg"):
        return f"database error: {first_line(exc)}"
    return f"{type(exc).__name__}: {first_line(exc)} (save-relay --debug ... shows the traceback)"


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(make())
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        if debugging():
            print_traceback()
        raise fail(explain(exc)) from None


async def check_database(engine: AsyncEngine) -> None:
    """Raise NoDatabase unless the database is reachable and migrated to this version's schema."""
    url = engine.url.render_as_string(hide_password=False)
    try:
        revision = await current_revision(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise NoDatabase(f"cannot open the database {describe_url(url)}: {first_line(exc)}") from exc
    if revision is None:
        raise NoDatabase(f"the database {describe_url(url)} is not initialised: run save-relay init")
    head = head_revision()
    if revision != head:
        raise NoDatabase(
            f"the database is at schema {revision}, this save-relay needs {head}: run save-relay db upgrade"
        )


@asynccontextmanager
async def database(migrate: bool = False) -> AsyncIterator[AsyncEngine]:
    """The configured database: migrated first if asked (init), else it must exist and be migrated."""
    conf = settings()
    path = database_file(conf.database.url)
    if not migrate and path is not None and not path.exists():
        raise NoDatabase(
            f"no database at {path.absolute()}: run save-relay init (settings: {settings_source()})"
        )
    engine = create_engine(conf.database.url)
    try:
        if migrate:
            await upgrade(engine)
        else:
            await check_database(engine)
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def opened(migrate: bool = False) -> AsyncIterator[tuple[Context, SessionFactory]]:
    """The configured database (see ``database``) and the networks registered in it."""
    async with database(migrate) as engine:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            networks = await sync_networks(session, settings())
        yield Context(settings(), networks), sessions


def user() -> str:
    """The login name of whoever runs the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (containers with an arbitrary uid)
        return f"uid{os.getuid()}"


def actor_name() -> str:
    """How the audit log names a CLI user: ``cli:<login>``."""
    return f"cli:{user()}"


def cli_actor() -> Actor:
    return Actor(name=actor_name(), via="cli")


def moderator_actor(network: NetworkRef, moderator: str) -> Actor:
    """The moderator ``--as`` names, who must be one of ``network``'s (four-eyes counts persons)."""
    address = moderator.strip().lower()
    if address not in network.settings.moderators:
        raise SaveRelayError(f"--as {moderator}: not a moderator of this network")
    return Actor(name=address, via="cli")


def choose_network(ctx: Context, key: str | None) -> NetworkRef:
    """The network named by ``--network``, or the only one."""
    if not ctx.networks:
        raise SaveRelayError(f"no networks configured ([networks.<key>]); settings: {settings_source()}")
    if key is None:
        if len(ctx.networks) == 1:
            return next(iter(ctx.networks.values()))
        raise SaveRelayError(f"several networks ({', '.join(ctx.networks)}): choose one with --network")
    if key not in ctx.networks:
        raise SaveRelayError(f"no network {key!r} in the settings (there are: {', '.join(ctx.networks)})")
    return ctx.networks[key]


def split(value: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when not given)."""
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


# --- disclosures -----------------------------------------------------------------------------------

REASON_HELP = (
    "why this is disclosed (kept in the audit log with who and when); required unless the settings "
    "give [privacy] default_reason"
)
ReasonOption = Annotated[str | None, typer.Option("--reason", help=REASON_HELP)]


def disclosure_reason(reason: str | None) -> str:
    """The reason given, else the configured default; a command that discloses refuses to run without."""
    given = (reason or "").strip() or settings().privacy.default_reason
    if not given:
        raise fail(
            "--reason is required: say why this is disclosed (it is kept in the audit log); "
            "automation may set [privacy] default_reason"
        )
    return given


def record_disclosure(
    session: AsyncSession,
    *,
    command: str,
    reason: str,
    object_ref: str | None = None,
    network_id: int | None = None,
    **detail: Any,
) -> None:
    """Add the audit entry of a disclosure (who: the CLI user; when: now; why: ``reason``) to the
    session's transaction, which must commit before anything is shown."""
    audit.record(
        session,
        action="disclosed",
        actor=actor_name(),
        via="cli",
        object_ref=object_ref,
        network_id=network_id,
        command=command,
        reason=reason,
        **detail,
    )


async def log_disclosure(sessions: SessionFactory, **entry: Any) -> None:
    """``record_disclosure`` in a transaction of its own, committed on return."""
    async with sessions() as session, session.begin():
        record_disclosure(session, **entry)
