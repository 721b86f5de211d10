"""The report page's map and its live count: the zones as GeoJSON, and how many addresses the zones
and groups ticked would reach (htmx asks on every change; without JavaScript the page shows the count
of the zones proposed and the checkboxes still decide)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from save_relay.store import recipients, zones
from save_relay.web.access import own_report
from save_relay.web.auth import visitor
from save_relay.web.deps import deps


async def zones_geojson(request: Request) -> Response:
    """``/zones.geojson``: the visitor's network's zones, vectors only (no tiles are needed to draw them)."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    async with deps(request).sessions() as session:
        collection = await zones.feature_collection(session, who.account.network_id)
    return JSONResponse(collection, media_type="application/geo+json")


async def count(request: Request) -> Response:
    """``/reports/REF/count?zones=a&zones=b&groups=g``: the number of recipients, as a bare fragment.
    The network's ``default_groups`` always count: ``moderation.decide`` always sends to them."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    async with deps(request).sessions() as session:
        report = await own_report(session, who, request.path_params["reference"])
        always = deps(request).ctx.by_id[report.network_id].settings.default_groups
        groups = list(dict.fromkeys([*always, *request.query_params.getlist("groups")]))
        zones = request.query_params.getlist("zones")
        number = await recipients.recipient_count(session, report.network_id, zones, groups)
    return HTMLResponse(str(number))
