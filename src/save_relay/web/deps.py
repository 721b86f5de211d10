"""What the web endpoints need from the daemon, handed down by ``app.Relay`` (no globals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.requests import Request

from save_relay.core.context import Context
from save_relay.store.db import SessionFactory


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Check:
    """One part of the daemon as ``/readyz`` reports it: ``detail`` says what is wrong (or what it is)."""

    name: str
    ok: bool
    detail: str = ""


#: The daemon's readiness probe (``app.Relay.readiness``): every part checked, now.
Probe = Callable[[], Awaitable[Sequence[Check]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    ctx: Context
    sessions: SessionFactory
    #: called after a change that queued mail (an unsubscribe's confirmation): wakes the outbound worker
    on_change: Callable[[], None] = field(default=_nothing)
    #: what ``/readyz`` asks (None: an app without a daemon, e.g. a test's: ready)
    ready: Probe | None = None

    @property
    def site_name(self) -> str:
        """The header's name: the network's when there is one, else the program's."""
        names = sorted({network.settings.name for network in self.ctx.networks.values()})
        return names[0] if len(names) == 1 else "save-relay"


def deps(request: Request) -> Deps:
    """The endpoints' way in: ``deps(request).sessions()``, ``deps(request).ctx.networks``."""
    found = getattr(request.app.state, "deps", None)
    if not isinstance(found, Deps):
        raise LookupError("this app was built without Deps (application.build_app sets them)")
    return found
