"""The subscribers pages: search, a company page (addresses, location on the map, zones, groups, bounce
scores), add, edit, disable and enable (the CSV import: ``web/subscriber_import.py``).

Changes go through ``membership/manage.py`` as the CLI's ``subscribers add|disable|enable`` do, with its
validation (the import's) and its audit entries (``via`` web), plus a ``console.*`` entry with the
account and client address. Coordinators and admins change; moderators see. A company page shows
personal data: each view is in the audit log (``console.subscriber_view``). Renaming and removing:
``web/subscriber_changes.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.core.errors import SaveRelayError
from save_relay.core.phones import InvalidNumber, e164
from save_relay.membership.manage import add, set_enabled
from save_relay.membership.suppress import key_of
from save_relay.store import console_reads, recipients
from save_relay.store.subscribers import find_subscribers
from save_relay.store.tables import Subscriber
from save_relay.web.access import EDITORS, form_of, network_of, own, to_login
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.i18n import error_lines, texts
from save_relay.web.templating import render

MAX_LISTED = 200
FIELDS = ("company", "contact", "street", "latitude", "longitude")


async def own_subscriber(session: AsyncSession, who: Visitor, subscriber_id: int) -> Subscriber:
    """The subscriber if it is of ``who``'s network (``access.own``)."""
    return own(await console_reads.subscriber(session, subscriber_id), who)


async def subscribers(request: Request) -> Response:
    """``/subscribers?q=TEXT``: the network's subscribers whose name, contact, street or address has TEXT."""
    who = await visitor(request)
    if who is None:
        return to_login()
    text = (request.query_params.get("q") or "").strip()[:200]
    async with deps(request).sessions() as session:
        rows = await console_reads.search_subscribers(session, who.account.network_id, text, limit=MAX_LISTED)
    context = {"who": who, "rows": rows, "q": text, "more": len(rows) == MAX_LISTED, "may": _may(who)}
    return render(request, "subscribers.html", context, language=who.account.language)


def _may(who: Visitor) -> bool:
    return who.account.role in EDITORS


def _cells(form: FormData) -> dict[str, str]:
    """The form as the CSV's cells (``membership/csvfile.validate_row`` checks them)."""
    cells = {name: str(form.get(name, "")).strip() for name in FIELDS}
    cells["addresses"] = ";".join(str(form.get("addresses", "")).replace(",", ";").split())
    cells["zones"] = ";".join(str(z) for z in form.getlist("zones"))
    cells["groups"] = ";".join(str(g) for g in form.getlist("groups"))
    cells["sms"] = ";".join(
        n.strip() for n in str(form.get("sms", "")).replace(",", ";").split(";") if n.strip()
    )
    return cells


def _number_problems(cells: dict[str, str], region: str, language: str) -> list[str]:
    """Each mobile number of the form that is none, in the visitor's language (one line each)."""
    t = texts(language)
    problems = []
    for raw in cells.get("sms", "").split(";"):
        if raw.strip():
            try:
                e164(raw, region)
            except InvalidNumber as bad:
                problems.append(t["invalid_number"].format(value=bad.value, why=t[f"number_{bad.reason}"]))
    return problems


async def _choices(session: AsyncSession, network_id: int) -> dict[str, Any]:
    return {
        "zones": await recipients.zone_slugs(session, network_id),
        "groups": await recipients.group_slugs(session, network_id),
    }


async def new_form(request: Request) -> Response:
    """``/subscribers/new``: the form to add a subscriber."""
    who = await visitor(request)
    if who is None:
        return to_login()
    return await _new_page(request, who, {}, [])


async def _new_page(
    request: Request, who: Visitor, cells: dict[str, str], problems: list[str], code: int = 200
) -> Response:
    async with deps(request).sessions() as session:
        choices = await _choices(session, who.account.network_id)
    context = {"who": who, "cells": cells, "problems": problems, "may": _may(who), **choices}
    return render(request, "subscriber_new.html", context, language=who.account.language, status=code)


async def create(request: Request) -> Response:
    """``POST /subscribers/new``: add a subscriber (or addresses to one of that name), validated as a
    CSV line is; the problems are shown with the form as it was filled in."""
    asked = await form_of(request, EDITORS)
    if asked is None:
        return to_login()
    who, form = asked
    cells = _cells(form)
    web = deps(request)
    region = network_of(request, who).settings.phone_region
    if problems := _number_problems(cells, region, who.account.language):
        return await _new_page(request, who, cells, problems, code=400)
    try:
        async with web.sessions() as session, session.begin():
            login, network_id = who.account.login, who.account.network_id
            key = key_of(web.ctx.settings)
            await add(session, network_id, cells, actor=login, via="web", suppression_key=key, region=region)
            audit(session, request, "console.subscriber_add", login, network_id, object_ref=cells["company"])
            found = await find_subscribers(session, network_id, " ".join(cells["company"].split()))
    except SaveRelayError as refused:
        return await _new_page(request, who, cells, error_lines(refused, who.account.language), code=400)
    return RedirectResponse(f"/subscribers/{found[0].id}", status_code=303)


async def company(request: Request) -> Response:
    """``/subscribers/N``: one company with its addresses, place, zones and groups; audited."""
    who = await visitor(request)
    if who is None:
        return to_login()
    return await company_page(request, who, request.path_params["subscriber_id"])


async def company_page(
    request: Request, who: Visitor, subscriber_id: int, problems: list[str] | None = None, code: int = 200
) -> Response:
    async with deps(request).sessions() as session, session.begin():
        found = await own_subscriber(session, who, subscriber_id)
        manual, computed, groups = await console_reads.memberships_of(session, found.id)
        context = {
            "who": who,
            "s": found,
            "addresses": await console_reads.addresses_of(session, found.id),
            "manual": manual,
            "computed": computed,
            "member_of": groups,
            "problems": problems or [],
            "sms_numbers": await console_reads.sms_numbers_of(session, found.id),
            "may": _may(who),
            **await _choices(session, found.network_id),
        }
        audit(
            session,
            request,
            "console.subscriber_view",
            who.account.login,
            found.network_id,
            object_ref=found.company,
        )
    return render(request, "subscriber.html", context, language=who.account.language, status=code)


async def edit(request: Request) -> Response:
    """``POST /subscribers/N``: contact, street, location, manual zones and groups as the form says
    (an empty field clears it), and new addresses added."""
    asked = await form_of(request, EDITORS)
    if asked is None:
        return to_login()
    who, form = asked
    subscriber_id = request.path_params["subscriber_id"]
    web = deps(request)
    region = network_of(request, who).settings.phone_region
    if problems := _number_problems(_cells(form), region, who.account.language):
        return await company_page(request, who, subscriber_id, problems, code=400)
    try:
        async with web.sessions() as session, session.begin():
            found = await own_subscriber(session, who, subscriber_id)
            have = [a.address for a in await console_reads.addresses_of(session, found.id)]
            cells = _cells(form) | {"company": found.company}
            cells["addresses"] = ";".join([*have, *cells["addresses"].split(";")])
            key = key_of(web.ctx.settings)
            login = who.account.login
            await add(
                session,
                found.network_id,
                cells,
                actor=login,
                via="web",
                suppression_key=key,
                replace=True,
                region=region,
            )
            audit(
                session, request, "console.subscriber_edit", login, found.network_id, object_ref=found.company
            )
    except SaveRelayError as refused:
        problems = error_lines(refused, who.account.language)
        return await company_page(request, who, subscriber_id, problems, code=400)
    return RedirectResponse(f"/subscribers/{subscriber_id}", status_code=303)


async def switch(request: Request) -> Response:
    """``POST /subscribers/N/enabled``: disable or enable the company, or one of its addresses
    (``address``); enabling an address clears its bounce score, as ``subscribers enable`` does."""
    asked = await form_of(request, EDITORS)
    if asked is None:
        return to_login()
    who, form = asked
    subscriber_id = request.path_params["subscriber_id"]
    on = form.get("enabled") == "1"
    async with deps(request).sessions() as session, session.begin():
        found = await own_subscriber(session, who, subscriber_id)
        address = str(form.get("address", "")).strip().lower()
        have = {a.address.lower() for a in await console_reads.addresses_of(session, found.id)}
        if address and address not in have:
            raise HTTPException(400)
        target = address or found.company
        login = who.account.login
        await set_enabled(session, found.network_id, target, on, actor=login, via="web")
        action = "console.subscriber_enable" if on else "console.subscriber_disable"
        audit(session, request, action, login, found.network_id, object_ref=target)
    return RedirectResponse(f"/subscribers/{subscriber_id}", status_code=303)
