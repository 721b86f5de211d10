"""One canvass: where, when and what was asked, and the results as they come in (answers with their
attachments' names, who has not answered), a CSV of them, cancelling one not sent yet, and the second
approval of one that waits for it (four-eyes: ``canvass/foureyes``; only a moderator of the network, not
the first one).

The results disclose what people answered: each view is in the audit log (``console.canvass_results``),
and the CSV asks for a reason, kept as the CLI's ``canvass results`` keeps it (``disclosed``, with
the command and the reason, and here the account and the client address).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.canvass import foureyes
from save_relay.canvass.mails import canvass_context
from save_relay.canvass.results import summarize, to_csv
from save_relay.canvass.service import cancel
from save_relay.core.errors import CommandRefused, NotFound
from save_relay.processing.gate import Actor
from save_relay.store import approvals
from save_relay.store import canvass as canvass_store
from save_relay.store.tables import Canvass
from save_relay.web.access import CANVASSERS, form_of, network_of, own, to_login
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.i18n import refusal_text
from save_relay.web.templating import render


async def own_canvass(session: AsyncSession, who: Visitor, canvass_id: int, *, lock: bool = False) -> Canvass:
    """The canvass if it is of ``who``'s network (``access.own``)."""
    try:
        found = await canvass_store.get(session, canvass_id, lock=lock)
    except NotFound:
        raise HTTPException(404) from None
    return own(found, who)


async def canvass(request: Request) -> Response:
    """``/canvasses/N``: the canvass and its results; audited."""
    who = await visitor(request)
    if who is None:
        return to_login()
    return await _page(request, who, request.path_params["canvass_id"])


async def _page(
    request: Request, who: Visitor, canvass_id: int, message: str = "", code: int = 200
) -> Response:
    network = network_of(request, who)
    async with deps(request).sessions() as session, session.begin():
        found = await own_canvass(session, who, canvass_id)
        summary = await summarize(session, found, network.settings.timezone)
        audit(
            session,
            request,
            "console.canvass_results",
            who.account.login,
            network.id,
            object_ref=canvass_store.ref(found.id),
        )
        info = canvass_context(network, found)
        waiting = await approvals.waiting_for_canvass(session, found.id)
    context = {
        "waiting": waiting,
        "who": who,
        "c": found,
        "info": info,
        "summary": summary,
        "message": message,
        "may": who.account.role in CANVASSERS,
    }
    return render(request, "canvass.html", context, language=who.account.language, status=code)


async def results_csv(request: Request) -> Response:
    """``/canvasses/N/results.csv?reason=..``: one row per answer and per silent company; audited with
    the reason (400 without one)."""
    who = await visitor(request)
    if who is None:
        return to_login()
    reason = (request.query_params.get("reason") or "").strip()[:300]
    if not reason:
        raise HTTPException(400)
    network = network_of(request, who)
    async with deps(request).sessions() as session, session.begin():
        found = await own_canvass(session, who, request.path_params["canvass_id"])
        audit(
            session,
            request,
            "disclosed",
            who.account.login,
            network.id,
            object_ref=canvass_store.ref(found.id),
            command="canvass results",
            reason=reason,
        )
        summary = await summarize(session, found, network.settings.timezone)
    name = f"canvass-{found.id}.csv"
    return Response(
        to_csv(summary),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def cancel_canvass(request: Request) -> Response:
    """``POST /canvasses/N/cancel``: call off a canvass that has not been sent (409 if it has)."""
    asked = await form_of(request, CANVASSERS)
    if asked is None:
        return to_login()
    who, _ = asked
    canvass_id = request.path_params["canvass_id"]
    web = deps(request)
    try:
        async with web.sessions() as session, session.begin():
            found = await own_canvass(session, who, canvass_id, lock=True)
            await cancel(session, web.ctx, found, Actor(name=who.account.login, via="web"))
            ref = canvass_store.ref(found.id)
            audit(
                session,
                request,
                "console.canvass_cancel",
                who.account.login,
                found.network_id,
                object_ref=ref,
            )
    except CommandRefused as refused:
        why = refusal_text(refused, who.account.language)
        return await _page(request, who, canvass_id, message=why, code=409)
    web.on_change()
    return RedirectResponse(f"/canvasses/{canvass_id}", status_code=303)


async def approve_canvass(request: Request) -> Response:
    """``POST /canvasses/N/approve``: a second moderator confirms a canvass that waits for one (409 for
    the first moderator, an account that is not a moderator, or a canvass that does not wait)."""
    asked = await form_of(request, CANVASSERS)
    if asked is None:
        return to_login()
    who, _ = asked
    canvass_id = request.path_params["canvass_id"]
    web = deps(request)
    try:
        async with web.sessions() as session, session.begin():
            found = await own_canvass(session, who, canvass_id, lock=True)
            if who.account.login not in network_of(request, who).settings.moderators:
                raise CommandRefused(f"{who.account.login} is not a moderator of this network")
            await foureyes.approve(session, web.ctx, found, Actor(name=who.account.login, via="web"))
            audit(
                session,
                request,
                "console.canvass_approve",
                who.account.login,
                found.network_id,
                object_ref=canvass_store.ref(found.id),
            )
    except CommandRefused as refused:
        return await _page(request, who, canvass_id, message=str(refused), code=409)
    web.on_change()
    return RedirectResponse(f"/canvasses/{canvass_id}", status_code=303)
