"""Who may see and change what: a report of the visitor's own network (else an HTTP error), the roles
that change subscribers, zones and canvasses, and the CSRF-checked form of a change."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.core.context import NetworkRef
from save_relay.core.errors import NotFound
from save_relay.core.states import AccountRole
from save_relay.store import reports as report_store
from save_relay.store.tables import Report
from save_relay.web.auth import Visitor, checked_form, visitor
from save_relay.web.deps import deps


class Owned(Protocol):
    """A record of one network (a report, a subscriber, a canvass)."""

    @property
    def network_id(self) -> int: ...


T = TypeVar("T", bound=Owned)


def own(found: T | None, who: Visitor) -> T:
    """``found`` if it belongs to ``who``'s network: 404 if there is none, 403 if another network's
    (its existence is no secret between police zones; its content is)."""
    if found is None:
        raise HTTPException(404)
    if found.network_id != who.account.network_id:
        raise HTTPException(403)
    return found


async def own_report(session: AsyncSession, who: Visitor, reference: str) -> Report:
    """The report ``reference`` of ``who``'s network (``own``)."""
    try:
        found = await report_store.by_reference(session, reference)
    except NotFound:
        raise HTTPException(404) from None
    return own(found, who)


#: Who changes subscribers and zones (issue 18: coordinators run them; moderators decide on reports and
#: see these pages without changing them).
EDITORS = frozenset({AccountRole.COORDINATOR, AccountRole.ADMIN})
#: Who creates and cancels canvasses: moderators canvass by mail already, coordinators run them.
CANVASSERS = frozenset({AccountRole.MODERATOR, AccountRole.COORDINATOR, AccountRole.ADMIN})


async def form_of(request: Request, roles: Collection[AccountRole]) -> tuple[Visitor, FormData] | None:
    """The visitor and its CSRF-checked form (None: not logged in; 403: a bad token or another role)."""
    who = await visitor(request)
    if who is None:
        return None
    form = await checked_form(request, who)
    if who.account.role not in roles:
        raise HTTPException(403)
    return who, form


def network_of(request: Request, who: Visitor) -> NetworkRef:
    """The visitor's network (every page shows that one only)."""
    return deps(request).ctx.by_id[who.account.network_id]


def to_login() -> Response:
    """Where a request without a session goes."""
    return RedirectResponse("/", status_code=303)
