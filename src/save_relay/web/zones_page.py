"""The zones page: every zone on one map with its number of subscribers, and a GeoJSON upload.

The upload is ``membership/zones.import_zones`` as ``save-relay zones import`` runs it: the file is
validated whole first (``geo.ZoneError`` lists every problem, and then nothing changes), zones missing
from the file are kept, and the memberships of new and reshaped zones are recomputed. Ticking "remove
the zones the file does not name" is ``zones import --prune`` in two steps: a dry run (rolled back) lists
the zones that would go with their member counts, and only its confirm form (the text carried back,
validated again) applies it. Coordinators and admins upload; moderators see.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from save_relay.core.geo import ZoneError
from save_relay.core.problems import Problem
from save_relay.membership.zones import ZoneImport, import_zones
from save_relay.store.subscribers import zone_counts
from save_relay.web.access import EDITORS, network_of, to_login
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.templating import render
from save_relay.web.uploads import uploaded


async def _page(
    request: Request,
    who: Visitor,
    *,
    result: ZoneImport | None = None,
    problems: list[Problem] | None = None,
    problem: str = "",
    pruning: str | None = None,
) -> Response:
    """The page; ``problems``: the validation's, ``problem``: a text key (both answered 400)."""
    async with deps(request).sessions() as session:
        rows = await zone_counts(session, who.account.network_id)
    context = {
        "who": who,
        "rows": rows,
        "counts": json.dumps({zone.slug: count for zone, count, _ in rows}),
        "result": result,
        "problems": problems or [],
        "problem": problem,
        "may": who.account.role in EDITORS,
        "pruning": pruning,  # the text of a pruning dry run, for its confirm form
        "members": {zone.slug: count for zone, count, _ in rows},
    }
    code = 400 if problems or problem else 200
    return render(request, "zones.html", context, language=who.account.language, status=code)


async def zones(request: Request) -> Response:
    """``/zones``: the map, and a table of the zones with their members."""
    who = await visitor(request)
    if who is None:
        return to_login()
    return await _page(request, who)


async def upload(request: Request) -> Response:
    """``POST /zones``: load a GeoJSON FeatureCollection (a file or pasted text)."""
    posted = await uploaded(request)
    if posted is None:
        return to_login()
    who, text = posted.who, posted.text
    if posted.problem:
        return await _page(request, who, problem=posted.problem)
    prune = posted.form.get("prune") == "1"
    apply = not prune or posted.form.get("confirm") == "1"
    try:
        result = await _import(request, who, text, prune=prune, apply=apply)
    except ZoneError as invalid:
        return await _page(request, who, problems=invalid.problems)
    if not apply:
        return await _page(request, who, result=result, pruning=text)
    return await _page(request, who, result=result)


async def _import(request: Request, who: Visitor, text: str, *, prune: bool, apply: bool) -> ZoneImport:
    """Import ``text``: committed and audited if ``apply``, else a dry run rolled back."""
    network = network_of(request, who)
    async with deps(request).sessions() as session:
        transaction = await session.begin()
        try:
            result = await import_zones(session, network.id, text, prune=prune)
            if apply:
                changed = [*result.added, *result.reshaped, *result.renamed]
                login = who.account.login
                audit(
                    session,
                    request,
                    "console.zones_import",
                    login,
                    network.id,
                    zones=changed,
                    removed=result.removed,
                )
        except BaseException:
            await transaction.rollback()
            raise
        await (transaction.commit() if apply else transaction.rollback())
    return result
