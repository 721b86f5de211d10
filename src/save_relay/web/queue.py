"""The moderation queue: the network's reports by status, narrowed by zone, category and period, and
a bulk rejection with one reason.

The period is in days on the network's clock (``web/period.py``). A bulk rejection decides each report
on its own, through ``moderation.decide`` as a single one does, in its own transaction: a report
decided meanwhile (by a mail reply, or another moderator) is listed as refused and does not undo the
others.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.core.context import NetworkRef
from save_relay.core.errors import CommandRefused
from save_relay.core.states import ReportStatus
from save_relay.moderation.decide import Decision
from save_relay.store import recipients
from save_relay.store import reports as report_store
from save_relay.web.auth import Visitor, visitor
from save_relay.web.deps import deps
from save_relay.web.i18n import refusal_text
from save_relay.web.period import period
from save_relay.web.reports import DECIDERS, decide_as, decider_form
from save_relay.web.templating import render

MAX_BULK = 200  # the queue shows at most this many


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a bulk rejection did: the references rejected, and the refused ones with why."""

    rejected: list[str]
    refused: list[tuple[str, str]]


def _network(request: Request, who: Visitor) -> NetworkRef:
    return deps(request).ctx.by_id[who.account.network_id]


def _narrow(request: Request, network: NetworkRef) -> tuple[str, report_store.ReportFilter, dict[str, str]]:
    """The status and the filter the query string asks for, and the form's values to show them."""
    params = request.query_params
    wanted = params.get("status", ReportStatus.PENDING)
    status = wanted if wanted in set(ReportStatus) else ReportStatus.PENDING
    category = params.get("category") or None
    if network.settings.category(category or "") is None:
        category = None
    days = period(params, network.settings.timezone)
    narrow = report_store.ReportFilter(
        zone=params.get("zone") or None, category=category, since=days.since, until=days.until
    )
    shown = {
        "zone": narrow.zone or "",
        "category": category or "",
        "from": days.shown_from,
        "to": days.shown_to,
    }
    return status, narrow, shown


async def _queue_page(request: Request, who: Visitor, outcome: Outcome | None = None) -> Response:
    network = _network(request, who)
    status, narrow, shown = _narrow(request, network)
    async with deps(request).sessions() as session:
        rows = await report_store.list_reports(session, status, network_id=network.id, narrow=narrow)
        counts = await report_store.status_counts(session, network.id, cap=report_store.COUNT_CAP)
        zones = await recipients.zone_slugs(session, network.id)
    language = who.account.language
    context = {
        "who": who,
        "rows": rows,
        "counts": counts,
        "count_cap": report_store.COUNT_CAP,
        "status": status,
        "statuses": list(ReportStatus),
        "zones": zones,
        "categories": [(c.slug, c.name(language)) for c in network.settings.categories],
        "shown": shown,
        "bulk": status == ReportStatus.PENDING and who.account.role in DECIDERS,
        "outcome": outcome,
    }
    return render(request, "queue.html", context, language=language)


async def queue(request: Request) -> Response:
    """``/reports?status=pending&zone=..&category=..&from=YYYY-MM-DD&to=YYYY-MM-DD``: the queue."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    return await _queue_page(request, who)


async def _reject_one(request: Request, who: Visitor, reference: str, reason: str) -> str | None:
    """Reject one report; None when done, else why not."""
    try:
        await decide_as(request, who, reference, Decision(action="reject", reason=reason), bulk=True)
    except HTTPException as refused:
        return str(refused.status_code)
    except CommandRefused as refused:
        return refusal_text(refused, who.account.language)
    return None


async def bulk_reject(request: Request) -> Response:
    """``POST /reports/reject``: reject the reports ticked in the queue, all with the one reason given."""
    asked = await decider_form(request)
    if asked is None:
        return RedirectResponse("/", status_code=303)
    who, form = asked
    reason = str(form.get("reason", "")).strip()
    references = list(dict.fromkeys(str(r).strip().upper() for r in form.getlist("references")))
    if not reason or not references or len(references) > MAX_BULK:
        raise HTTPException(400)
    outcome = Outcome([], [])
    for reference in references:
        why = await _reject_one(request, who, reference, reason)
        if why is None:
            outcome.rejected.append(reference)
        else:
            outcome.refused.append((reference, why))
    deps(request).on_change()
    return await _queue_page(request, who, outcome)
