"""The audit log page: the network's entries, newest first, narrowed by object (a report's reference,
``canvass-7``), person (an address anywhere in the entry), account and period; 50 a page.

Every role of the network reads it (moderators answer for their decisions, coordinators for their
canvasses). A search for a person is itself a read of personal data: it is audited
(``console.audit_search``); plain browsing is not, or each page view would bury the log. Verifying the
hash chain walks the whole log, so it runs only when asked (``?verify=1``), as ``save-relay audit
verify`` does on the server.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from save_relay.canvass.results import local_time
from save_relay.core.chain import Report
from save_relay.core.clock import as_utc
from save_relay.store import audit, console_reads
from save_relay.store.tables import AuditEntry
from save_relay.web.access import network_of, to_login
from save_relay.web.auth import audit as audit_action
from save_relay.web.auth import visitor
from save_relay.web.deps import deps
from save_relay.web.period import period
from save_relay.web.templating import render

PAGE_SIZE = 50
MAX_PAGE = 10_000


def _page_number(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def _row(entry: AuditEntry, timezone: str) -> dict[str, Any]:
    detail = dict(entry.detail or {})
    return {
        "id": entry.id,
        "at": local_time(as_utc(entry.at), timezone),
        "action": entry.action,
        "actor": entry.actor,
        "via": entry.via,
        "object": entry.object_ref or "",
        "client": str(detail.pop("client", "")),
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
    }


async def audit_log(request: Request) -> Response:
    """``/audit?object=..&person=..&account=..&from=YYYY-MM-DD&to=YYYY-MM-DD&page=N[&verify=1]``."""
    who = await visitor(request)
    if who is None:
        return to_login()
    network = network_of(request, who)
    params = request.query_params
    days = period(params, network.settings.timezone)
    shown = {name: (params.get(name) or "").strip()[:320] for name in ("object", "person", "account")}
    narrow = console_reads.AuditFilter(
        object_ref=shown["object"] or None,
        person=shown["person"] or None,
        account=shown["account"] or None,
        since=days.since,
        until=days.until,
    )
    number = _page_number(params.get("page"))
    chain: Report | None = None
    async with deps(request).sessions() as session, session.begin():
        rows = await console_reads.audit_page(
            session, network.id, narrow, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
        )
        if params.get("verify"):
            chain = await audit.verify(session)
        if narrow.person:
            audit_action(
                session, request, "console.audit_search", who.account.login, network.id, person=narrow.person
            )
    query = {**shown, "from": days.shown_from, "to": days.shown_to}
    kept = {key: value for key, value in query.items() if value}
    context = {
        "who": who,
        "rows": [_row(entry, network.settings.timezone) for entry in rows[:PAGE_SIZE]],
        "shown": query,
        "page": number,
        "newer": urlencode({**kept, "page": number - 1}) if number > 1 else "",
        "older": urlencode({**kept, "page": number + 1}) if len(rows) > PAGE_SIZE else "",
        "verify": urlencode({**kept, "page": number, "verify": 1}),
        "chain": chain,
    }
    return render(request, "audit.html", context, language=who.account.language)
