"""Renaming a company and removing a company or one of its addresses, from its page.

``membership/manage.py`` does the work (``rename``, ``remove_subscriber``, ``remove_address``) with its
audit entries (``via`` web), plus a ``console.*`` entry with the account and client address. A removal
cannot be undone, so it has a confirmation page (a plain GET showing what goes, and a POST form with
the CSRF token): no JavaScript needed. An address is removed from this company only (the CLI's
``subscribers remove ADDRESS`` takes it from every company of the network). Coordinators and admins.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.core.errors import NotFound, SaveRelayError
from save_relay.membership.manage import remove_address, remove_subscriber, rename
from save_relay.store import console_reads
from save_relay.web.access import EDITORS, form_of, to_login
from save_relay.web.auth import audit, visitor
from save_relay.web.deps import deps
from save_relay.web.i18n import error_lines
from save_relay.web.subscribers import company_page, own_subscriber
from save_relay.web.templating import render


async def rename_company(request: Request) -> Response:
    """``POST /subscribers/N/rename``: the company's new name (refused if another company has it)."""
    asked = await form_of(request, EDITORS)
    if asked is None:
        return to_login()
    who, form = asked
    subscriber_id = request.path_params["subscriber_id"]
    try:
        async with deps(request).sessions() as session, session.begin():
            found = await own_subscriber(session, who, subscriber_id)
            old = found.company
            await rename(session, found, str(form.get("name", "")), actor=who.account.login, via="web")
            login, network_id = who.account.login, found.network_id
            audit(
                session,
                request,
                "console.subscriber_rename",
                login,
                network_id,
                object_ref=found.company,
                old=old,
            )
    except SaveRelayError as refused:
        problems = error_lines(refused, who.account.language)
        return await company_page(request, who, subscriber_id, problems, code=400)
    return RedirectResponse(f"/subscribers/{subscriber_id}", status_code=303)


async def remove_form(request: Request) -> Response:
    """``/subscribers/N/remove[?address=A]``: what would go, and the button that removes it."""
    who = await visitor(request)
    if who is None:
        return to_login()
    address = (request.query_params.get("address") or "").strip().lower()
    async with deps(request).sessions() as session:
        found = await own_subscriber(session, who, request.path_params["subscriber_id"])
        addresses = [a.address for a in await console_reads.addresses_of(session, found.id)]
    if address and address not in {a.lower() for a in addresses}:
        raise HTTPException(404)
    context = {
        "who": who,
        "s": found,
        "address": address,
        "count": len(addresses),
        "may": who.account.role in EDITORS,
    }
    return render(request, "subscriber_remove.html", context, language=who.account.language)


async def remove(request: Request) -> Response:
    """``POST /subscribers/N/remove``: remove the company, or only its ``address``."""
    asked = await form_of(request, EDITORS)
    if asked is None:
        return to_login()
    who, form = asked
    address = str(form.get("address", "")).strip().lower()
    login, subscriber_id = who.account.login, request.path_params["subscriber_id"]
    async with deps(request).sessions() as session, session.begin():
        found = await own_subscriber(session, who, subscriber_id)
        company, network_id = found.company, found.network_id
        if address:
            try:
                gone = await remove_address(session, found, address, actor=login, via="web")
            except NotFound:
                raise HTTPException(404) from None
            audit(
                session,
                request,
                "console.address_remove",
                login,
                network_id,
                object_ref=company,
                address=address,
            )
        else:
            await remove_subscriber(session, found, actor=login, via="web")
            gone = True
        if gone:
            audit(session, request, "console.subscriber_remove", login, network_id, object_ref=company)
    where = "/subscribers" if gone else f"/subscribers/{subscriber_id}"
    return RedirectResponse(where, status_code=303)
