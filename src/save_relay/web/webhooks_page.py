"""The webhooks page (admins only): the network's managed endpoints; add, disable/enable, rotate.

The same service as ``save-relay webhooks`` (``channels/endpoints``): the same checks, a secret made
with ``secrets`` and shown once, in the answer to the add or the rotation (``Cache-Control: no-store``,
as every console page), never again. The settings' endpoints are listed read-only (they change in the
settings file). Every change is CSRF-checked and audited, without the secret; other roles get 403.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.channels.endpoints import ALL_EVENTS, EndpointError, Wanted, add, describe, rotate
from save_relay.core.states import AccountRole
from save_relay.store import deliveries, webhook_endpoints
from save_relay.store import zones as zone_store
from save_relay.web.access import form_of, network_of, to_login
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.templating import render

ADMINS = frozenset({AccountRole.ADMIN})


async def _page(
    request: Request,
    who: Visitor,
    *,
    secret: tuple[str, str] | None = None,
    problem: EndpointError | None = None,
    form: Mapping[str, object] | None = None,
) -> Response:
    """The page; ``secret``: (name, secret) to show this once; ``problem``: answered 400."""
    network = network_of(request, who)
    async with deps(request).sessions() as session:
        rows = await webhook_endpoints.listed(session, [network.id])
        counts = await deliveries.webhook_counts(session)
        zones = sorted(await zone_store.zones(session, network.id))
    queue = {
        name: {s: n for (nid, nm, s), n in counts.items() if nid == network.id and nm == name}
        for name in [r.name for r in rows] + [w.name for w in network.settings.webhooks]
    }
    context = {
        "who": who,
        "rows": rows,
        "configured": network.settings.webhooks,
        "queue": queue,
        "events": ALL_EVENTS,
        "zones": zones,
        "secret": secret,
        "problem": problem,
        "form": form or {},
    }
    return render(
        request, "webhooks.html", context, language=who.account.language, status=400 if problem else 200
    )


async def _admin(request: Request) -> Visitor | Response:
    who = await visitor(request)
    if who is None:
        return to_login()
    if who.account.role not in ADMINS:
        raise HTTPException(403)
    return who


async def webhooks(request: Request) -> Response:
    """``/webhooks``: the endpoints with their events, zones, state and queue."""
    who = await _admin(request)
    return who if isinstance(who, Response) else await _page(request, who)


async def create(request: Request) -> Response:
    """``POST /webhooks``: add an endpoint; the answer shows its secret, once."""
    asked = await form_of(request, ADMINS)
    if asked is None:
        return to_login()
    who, form = asked
    network = network_of(request, who)
    wanted = Wanted(
        name=str(form.get("name", "")),
        url=str(form.get("url", "")),
        organisation=str(form.get("organisation", "")),
        events=tuple(str(e) for e in form.getlist("events")),
        zones=tuple(str(z) for z in form.getlist("zones")),
    )
    try:
        async with deps(request).sessions() as session, session.begin():
            row, secret = await add(session, network, wanted)
            audit(
                session,
                request,
                "console.webhook_add",
                who.account.login,
                network.id,
                object_ref=row.name,
                endpoint=describe(row),
            )
    except EndpointError as refused:
        kept = {
            "name": wanted.name,
            "url": wanted.url,
            "organisation": wanted.organisation,
            "events": list(wanted.events),
            "zones": list(wanted.zones),
        }
        return await _page(request, who, problem=refused, form=kept)
    return await _page(request, who, secret=(row.name, secret))


async def _change(request: Request, *, rotating: bool) -> tuple[str, str | None] | Response:
    """Rotate the secret of the path's endpoint, or enable or disable it (the form's ``enabled``),
    audited: (its name, the new secret when rotated) or the login redirect; 404 if none, 403 if
    another network's."""
    asked = await form_of(request, ADMINS)
    if asked is None:
        return to_login()
    who, form = asked
    action = "rotate" if rotating else ("enable" if form.get("enabled") == "1" else "disable")
    async with deps(request).sessions() as session, session.begin():
        row = await webhook_endpoints.by_id(session, request.path_params["endpoint_id"])
        if row is None:
            raise HTTPException(404)
        if row.network_id != who.account.network_id:
            raise HTTPException(403)
        secret = rotate(row) if action == "rotate" else None
        if action != "rotate":
            row.enabled = action == "enable"
        audit(
            session,
            request,
            f"console.webhook_{action}",
            who.account.login,
            row.network_id,
            object_ref=row.name,
        )
        return row.name, secret


async def switch(request: Request) -> Response:
    """``POST /webhooks/N/enabled``: ``enabled=0`` disables the endpoint, ``1`` enables it."""
    done = await _change(request, rotating=False)
    return done if isinstance(done, Response) else RedirectResponse("/webhooks", status_code=303)


async def rotate_secret(request: Request) -> Response:
    """``POST /webhooks/N/rotate``: a new secret, shown once; the old one stops signing at once."""
    done = await _change(request, rotating=True)
    if isinstance(done, Response):
        return done
    who = await visitor(request)
    assert who is not None and done[1] is not None
    return await _page(request, who, secret=(done[0], done[1]))
