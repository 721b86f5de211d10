"""The canvasses pages: the list, and a new canvass made by clicking its spot on a map and setting the
radius, or by ticking zones (or both: their union, as ``zones:`` with ``near:`` in a mail), with a live
count of the companies inside (``/canvasses/count``, asked by htmx on every change; without JavaScript
the coordinates are typed and the count comes with the confirmation mail).

A canvass is made by ``canvass/service.create`` from the same fields the CLI and a moderator's mail
give (``canvass/spec.request_from_fields``: every problem listed at once, shown with the form as it was
filled in). Its owner, who gets the confirmation, the answers and the summary, must be one of the
network's moderators: the account's own address when it is one, else the one chosen. Moderators,
coordinators and admins create and cancel canvasses. The results: ``web/canvass_results.py``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from save_relay.canvass.results import local_time
from save_relay.canvass.service import create
from save_relay.canvass.spec import MAX_RADIUS_M, RequestError, request_from_fields
from save_relay.core.clock import utcnow
from save_relay.core.errors import CommandRefused
from save_relay.processing.gate import Actor
from save_relay.store import canvass as canvass_store
from save_relay.store import console_reads, recipients
from save_relay.store.canvass_targets import Area, select_targets
from save_relay.web.access import CANVASSERS, form_of, network_of, to_login
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.i18n import problem_text, refusal_text
from save_relay.web.templating import render

MAX_LISTED = 200
FIELDS = ("title", "question", "owner", "latitude", "longitude", "radius", "window_from", "window_to")
TIMES = ("send", "remind", "close")


async def canvasses(request: Request) -> Response:
    """``/canvasses``: the network's canvasses, newest first, with how many answered."""
    who = await visitor(request)
    if who is None:
        return to_login()
    timezone = network_of(request, who).settings.timezone
    rows = []
    async with deps(request).sessions() as session:
        for c in await console_reads.canvasses_of(session, who.account.network_id, limit=MAX_LISTED):
            recipients, answered = await canvass_store.response_counts(session, c.id)
            rows.append((c, local_time(c.send_at, timezone), recipients, answered))
    context = {"who": who, "rows": rows, "may": who.account.role in CANVASSERS}
    return render(request, "canvasses.html", context, language=who.account.language)


def _defaults(request: Request, who: Visitor) -> dict[str, Any]:
    network = network_of(request, who)
    login = who.account.login
    owner = login if login in network.settings.moderators else network.settings.moderators[0]
    return {"owner": owner, "radius": "1000", "close": "72h", "zones": []}


async def new_form(request: Request) -> Response:
    """``/canvasses/new``: the map and the form."""
    who = await visitor(request)
    if who is None:
        return to_login()
    return await _form_page(request, who, _defaults(request, who), [])


async def _form_page(
    request: Request, who: Visitor, shown: dict[str, Any], problems: list[str], code: int = 200
) -> Response:
    network = network_of(request, who)
    conf = deps(request).ctx.settings.console
    async with deps(request).sessions() as session:
        zones = await recipients.zone_slugs(session, network.id)
    context = {
        "zones": zones,
        "who": who,
        "shown": shown,
        "problems": problems,
        "moderators": network.settings.moderators,
        "may": who.account.role in CANVASSERS,
        "tiles": conf.map_tiles,
        "attribution": conf.map_attribution,
    }
    return render(request, "canvass_new.html", context, language=who.account.language, status=code)


def _moment(value: str) -> str:
    """A ``datetime-local`` value (``2026-11-21T02:00``) as the spec's ``2026-11-21 02:00``."""
    return value.strip().replace("T", " ")


def request_fields(shown: dict[str, Any]) -> dict[str, str]:
    """The form's values as the fields of ``canvass/spec.request_from_fields``."""
    fields: dict[str, str] = {"send": _moment(shown.get("send", "")) or "now"}
    fields["close"] = shown.get("close", "").strip() or "72h"
    if shown.get("remind", "").strip():
        fields["remind"] = shown["remind"].strip()
    if shown.get("latitude") or shown.get("longitude"):
        fields["near"] = f"{shown.get('latitude', '')}, {shown.get('longitude', '')}"
        fields["radius"] = f"{shown.get('radius', '').strip() or '0'} m"
    if shown.get("zones"):
        fields["zones"] = ", ".join(shown["zones"])
    if shown.get("window_from"):
        end = _moment(shown.get("window_to", ""))
        fields["window"] = _moment(shown["window_from"]) + (f" - {end}" if end else "")
    return fields


def _shown(form: FormData) -> dict[str, Any]:
    shown: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in (*FIELDS, *TIMES)}
    shown["zones"] = [str(zone) for zone in form.getlist("zones")]
    return shown


async def create_canvass(request: Request) -> Response:
    """``POST /canvasses``: schedule the canvass; its owner gets the confirmation by mail."""
    asked = await form_of(request, CANVASSERS)
    if asked is None:
        return to_login()
    who, form = asked
    shown = _shown(form)
    network = network_of(request, who)
    if shown["owner"] not in network.settings.moderators:
        return await _form_page(request, who, shown, [f"owner: {shown['owner'] or '-'}?"], code=400)
    web = deps(request)
    try:
        request_ = request_from_fields(
            request_fields(shown),
            title=shown["title"],
            question=shown["question"],
            tz=ZoneInfo(network.settings.timezone),
            now=utcnow(),
        )
        async with web.sessions() as session, session.begin():
            actor = Actor(name=who.account.login, via="web")
            made, count = await create(session, web.ctx, network, request_, owner=shown["owner"], actor=actor)
            audit(
                session,
                request,
                "console.canvass_create",
                who.account.login,
                network.id,
                object_ref=canvass_store.ref(made.id),
                recipients=count,
            )
    except RequestError as invalid:
        problems = [problem_text(problem, who.account.language) for problem in invalid.problems]
        return await _form_page(request, who, shown, problems, code=400)
    except CommandRefused as refused:
        return await _form_page(request, who, shown, [refusal_text(refused, who.account.language)], code=400)
    web.on_change()
    return RedirectResponse(f"/canvasses/{made.id}", status_code=303)


async def count(request: Request) -> Response:
    """``/canvasses/count?latitude=..&longitude=..&radius=..&zones=..``: the companies a canvass there
    would ask (the circle, the zones ticked, or both), as a bare fragment (the network's default groups,
    its own patrols, are never canvassed)."""
    who = await visitor(request)
    if who is None:
        return to_login()
    params = request.query_params
    network = network_of(request, who)
    async with deps(request).sessions() as session:
        known = await recipients.zone_slugs(session, network.id)
        zones = tuple(dict.fromkeys(z for z in params.getlist("zones") if z in known))
        area = _circle(
            params.get("latitude", ""), params.get("longitude", ""), params.get("radius", ""), zones
        )
        if area is None:
            return HTMLResponse("–")
        targets = await select_targets(session, network.id, area, network.settings.default_groups)
    return HTMLResponse(str(len({target.subscriber_id for target in targets})))


def _circle(latitude: str, longitude: str, radius: str, zones: tuple[str, ...]) -> Area | None:
    """The area of the count's parameters: the circle if it is valid, with the zones; None if neither."""
    try:
        point: tuple[float, float] | None = (float(latitude), float(longitude))
        radius_m: float | None = float(radius)
    except ValueError:
        point = radius_m = None
    if point is None or radius_m is None:
        return Area(zones=zones) if zones else None
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180 and 0 < radius_m <= MAX_RADIUS_M):
        return Area(zones=zones) if zones else None
    return Area(point=point, radius_m=radius_m, zones=zones)
