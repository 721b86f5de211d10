"""What every CLI command shares: the settings, the database, one-line errors, the acting user.

Commands run their async work through ``run`` (a ``SaveRelayError`` or an OS error becomes one red
line and exit 1, never a traceback) and open the database through ``opened``.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer

from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.core.settings import Settings, load_settings
from save_relay.processing.gate import Actor
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.migrate import upgrade
from save_relay.store.networks import sync_networks

T = TypeVar("T")

_state: dict[str, Any] = {}


def use_config(path: Path | None) -> None:
    """The ``--config`` of this run (read on first use)."""
    _state.clear()
    _state["config"] = path


def settings() -> Settings:
    loaded = _state.get("settings")
    if loaded is None:
        loaded = _state["settings"] = load_settings(_state.get("config"))
    return loaded


def fail(message: str) -> typer.Exit:
    typer.secho(f"save-relay: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(make())
    except SaveRelayError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:  # a port in use, a missing or unreadable file: one line, no traceback
        raise fail(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")) from None


@asynccontextmanager
async def opened(migrate: bool = False) -> AsyncIterator[tuple[Context, SessionFactory]]:
    """The configured database (migrated first if asked) and the networks registered in it."""
    conf = settings()
    engine = create_engine(conf.database.url)
    try:
        if migrate:
            await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            networks = await sync_networks(session, conf)
        yield Context(conf, networks), sessions
    finally:
        await engine.dispose()


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


def choose_network(ctx: Context, key: str | None) -> NetworkRef:
    """The network named by ``--network``, or the only one."""
    if key is None:
        if len(ctx.networks) == 1:
            return next(iter(ctx.networks.values()))
        raise SaveRelayError(f"several networks ({', '.join(ctx.networks)}): choose one with --network")
    if key not in ctx.networks:
        raise SaveRelayError(f"no network {key!r} in the settings")
    return ctx.networks[key]


def split(value: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when not given)."""
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]
