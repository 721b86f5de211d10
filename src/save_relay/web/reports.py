"""The moderation page of one report, with approve and reject (the queue: ``web/queue.py``).

A decision goes through ``moderation.decide`` like a mail reply or ``queue approve`` does: the report
row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer), so when a console decision and a
mail reply race, one wins and the other is refused with who decided and when. Only moderators and
admins decide; an account sees only its own network's reports (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.core.errors import CommandRefused
from save_relay.core.states import AccountRole, ReportStatus
from save_relay.mail.attachments import extract
from save_relay.mail.commands import MAX_SMS_CHARS
from save_relay.moderation.decide import Applied, Decision, decide
from save_relay.moderation.queue import describe
from save_relay.processing.gate import Actor
from save_relay.store import recipients
from save_relay.store import reports as report_store
from save_relay.store import sms as sms_store
from save_relay.store.tables import Report
from save_relay.web.access import form_of, own_report
from save_relay.web.auth import Visitor, audit, visitor
from save_relay.web.deps import deps
from save_relay.web.i18n import refusal_text
from save_relay.web.originals import is_inline
from save_relay.web.security import with_images_from
from save_relay.web.templating import render

DECIDERS = frozenset({AccountRole.MODERATOR, AccountRole.ADMIN})


async def _report_page(
    request: Request, who: Visitor, reference: str, message: str = "", code: int = 200
) -> Response:
    always = deps(request).ctx.by_id[who.account.network_id].settings.default_groups
    async with deps(request).sessions() as session:
        report = await own_report(session, who, reference)
        info = await describe(session, reference)
        zones = await recipients.zone_slugs(session, report.network_id)
        groups = await recipients.group_slugs(session, report.network_id)
        targets = list(dict.fromkeys([*always, *report.groups]))
        count = await recipients.recipient_count(session, report.network_id, report.zones, targets)
        originals = extract(await report_store.raw_of(session, report), {"reference": report.reference})
        texted = await sms_store.of_distributions(
            session, await report_store.distribution_ids(session, report.id)
        )
    conf = deps(request).ctx.settings.console
    context = {
        "who": who,
        "info": info,
        "preview": shown_text(report, str(info["text"])),
        "zones": zones,
        "groups": groups,
        "chosen": set(report.zones),
        "chosen_groups": set(report.groups) | set(always),
        "always": set(always),
        "count": count,
        "originals": [(n, item, is_inline(item)) for n, item in enumerate(originals, 1)],
        "tiles": conf.map_tiles,
        "attribution": conf.map_attribution,
        "pending": report.status == ReportStatus.PENDING,
        "may_decide": who.account.role in DECIDERS,
        "message": message,
        "sms": texted,
    }
    response = render(request, "report.html", context, language=who.account.language, status=code)
    if conf.map_tiles:
        response.headers["Content-Security-Policy"] = with_images_from(conf.map_tiles)
    return response


async def report(request: Request) -> Response:
    """``/reports/REF``: the preview subscribers will get, the details, the history, the decision forms."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    return await _report_page(request, who, request.path_params["reference"])


async def raw(request: Request) -> Response:
    """``/reports/REF/raw``: the mail as received, for police eyes (its own network); audited."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    async with deps(request).sessions() as session, session.begin():
        found = await own_report(session, who, request.path_params["reference"])
        data = await report_store.raw_of(session, found)
        audit(
            session,
            request,
            "console.raw_download",
            who.account.login,
            found.network_id,
            object_ref=found.reference,
        )
    name = f"{found.reference}.eml"
    return Response(
        data, media_type="message/rfc822", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def shown_text(report: Report, parsed_text: str) -> str:
    """What subscribers get: the moderator's edit once there is one, else the preview."""
    if report.edited_text is not None:
        return report.edited_text
    return report.preview_text or parsed_text


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _edit(form: FormData) -> str | None:
    """The text typed in the approve form when it differs from the preview shown with it (browsers
    send a textarea with CRLF line ends); None: not edited, the preview goes out."""
    text, shown = form.get("text"), form.get("shown")
    if not isinstance(text, str) or not isinstance(shown, str) or _lines(text) == _lines(shown):
        return None
    if not _lines(text):
        raise HTTPException(400)
    return _lines(text) + "\n"


def _decision(form: FormData) -> Decision:
    action = form.get("action")
    if action == "approve":
        zones, groups = form.getlist("zones"), form.getlist("groups")
        sms_text = " ".join(str(form.get("sms_text", "")).split())[:MAX_SMS_CHARS] or None
        return Decision(
            action="approve",
            zones=[str(z) for z in zones],
            groups=[str(g) for g in groups],
            edit_text=_edit(form),
            urgent=form.get("urgent") == "1" or bool(sms_text),
            sms_text=sms_text,
        )
    if action == "reject":
        return Decision(action="reject", reason=str(form.get("reason", "")).strip() or None)
    raise HTTPException(400)


async def decider_form(request: Request) -> tuple[Visitor, FormData] | None:
    """The visitor and its CSRF-checked form for a decision (None: not logged in; 403: not a decider)."""
    return await form_of(request, DECIDERS)


async def decide_as(
    request: Request, who: Visitor, reference: str, decision: Decision, **detail: Any
) -> Applied:
    """Apply ``decision`` to the report in its own transaction, as ``who``, audited (``console.<action>``
    with ``detail``); HTTP 403/404 for another network's or no report, ``CommandRefused`` if decided."""
    web = deps(request)
    async with web.sessions() as session, session.begin():
        found = await own_report(session, who, reference)
        actor = Actor(name=who.account.login, via="web")
        applied = await decide(session, web.ctx, found, decision, actor)
        audit(
            session,
            request,
            f"console.{applied.action}",
            who.account.login,
            found.network_id,
            object_ref=applied.reference,
            **detail,
        )
    return applied


async def decide_report(request: Request) -> Response:
    """``POST /reports/REF``: approve (with the zones ticked) or reject (with a reason)."""
    asked = await decider_form(request)
    if asked is None:
        return RedirectResponse("/", status_code=303)
    who, form = asked
    reference = request.path_params["reference"]
    decision = _decision(form)
    try:
        applied = await decide_as(request, who, reference, decision, edited=decision.edit_text is not None)
    except CommandRefused as refused:
        why = refusal_text(refused, who.account.language)
        return await _report_page(request, who, reference, message=why, code=409)
    deps(request).on_change()
    return RedirectResponse(f"/reports/{applied.reference}", status_code=303)
