"""The subscribers CSV import in two steps: a preview that shows every change and every refused line
(the import run in a transaction that is rolled back), then a confirm that applies the good lines.

The confirm form carries the CSV text back, so nothing is kept between the steps; the confirm
validates it again (a zone removed meanwhile refuses its lines then, it is never half-applied). The
import is ``membership/subscribers.import_csv``, as ``save-relay subscribers import`` runs it: the
network's default groups may be created, other unknown groups refuse their line, erased addresses are
refused. Coordinators and admins import; the upload may be larger than other requests (``web/uploads.py``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from save_relay.membership.subscribers import SubscriberImport, import_csv
from save_relay.membership.suppress import key_of
from save_relay.web.access import EDITORS, network_of, to_login
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.templating import render
from save_relay.web.uploads import uploaded


async def import_page(request: Request) -> Response:
    """``/subscribers/import``: the upload form."""
    who = await visitor(request)
    if who is None:
        return to_login()
    return _page(request, who, text="", result=None, applied=False)


def _page(
    request: Request,
    who: Visitor,
    *,
    text: str,
    result: SubscriberImport | None,
    applied: bool,
    problem: str = "",
) -> Response:
    """The form, the preview (``result``) or what was applied; ``problem``: a text key, answered 400."""
    context = {
        "who": who,
        "text": text,
        "result": result,
        "applied": applied,
        "problem": problem,
        "may": who.account.role in EDITORS,
    }
    code = 400 if problem else 200
    return render(request, "subscriber_import.html", context, language=who.account.language, status=code)


async def _run(request: Request, who: Visitor, text: str, *, apply: bool) -> SubscriberImport:
    web = deps(request)
    network = network_of(request, who)
    async with web.sessions() as session:
        transaction = await session.begin()
        try:
            result = await import_csv(
                session,
                network.id,
                text,
                create_groups=list(network.settings.default_groups),
                suppression_key=key_of(web.ctx.settings),
                region=network.settings.phone_region,
            )
            if apply:
                audit(
                    session,
                    request,
                    "console.subscribers_import",
                    who.account.login,
                    network.id,
                    created=result.created,
                    updated=result.updated,
                    refused=len(result.errors),
                )
        except BaseException:
            await transaction.rollback()
            raise
        if apply:
            await transaction.commit()
        else:
            await transaction.rollback()
    return result


async def preview(request: Request) -> Response:
    """``POST /subscribers/import``: what the file would change, and every line it refuses."""
    posted = await uploaded(request)
    if posted is None:
        return to_login()
    if posted.problem:
        return _page(request, posted.who, text="", result=None, applied=False, problem=posted.problem)
    result = await _run(request, posted.who, posted.text, apply=False)
    return _page(request, posted.who, text=posted.text, result=result, applied=False)


async def confirm(request: Request) -> Response:
    """``POST /subscribers/import/confirm``: apply the previewed text's good lines."""
    posted = await uploaded(request)
    if posted is None:
        return to_login()
    if posted.problem:
        return _page(request, posted.who, text="", result=None, applied=False, problem=posted.problem)
    result = await _run(request, posted.who, posted.text, apply=True)
    return _page(request, posted.who, text="", result=result, applied=True)
