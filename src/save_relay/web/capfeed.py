"""``/cap/NETWORK.atom`` and ``/cap/NETWORK/REF.xml``: the network's CAP alerts over HTTP.

Anyone gets the alerts that may be public (``channels.alerts.may_be_public``: TLP:CLEAR); until reports
carry labels that is none, so an anonymous feed is valid and empty. A console session of the network's
own accounts gets every approved report (scope Restricted, the restriction saying for whom). A
restricted alert is 404 to anyone else, so that the feed does not tell what exists.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from save_relay.channels import alerts
from save_relay.channels.cap import to_xml
from save_relay.channels.feed import Entry, to_atom
from save_relay.core.clock import utcnow
from save_relay.core.context import NetworkRef
from save_relay.core.states import ReportStatus
from save_relay.store import alerts as alert_store
from save_relay.web.auth import visitor
from save_relay.web.deps import deps

FEED_SIZE = 50


async def _network(request: Request) -> tuple[NetworkRef, bool]:
    """The network of the path (404 if none) and whether the visitor is one of its accounts."""
    network = deps(request).ctx.networks.get(request.path_params["network"])
    if network is None:
        raise HTTPException(404)
    who = await visitor(request)
    return network, who is not None and who.account.network_id == network.id


def _headers(member: bool) -> dict[str, str]:
    """A member's feed is never cached by anyone else; the public one briefly."""
    return {"cache-control": "private, no-store" if member else "public, max-age=60", "vary": "Cookie"}


async def feed(request: Request) -> Response:
    network, member = await _network(request)
    base = deps(request).ctx.settings.http.public_url or str(request.base_url).rstrip("/")
    async with deps(request).sessions() as session:
        reports = await alert_store.approved(session, network.id, FEED_SIZE)
        shown = [r for r in reports if member or alerts.may_be_public(r)]
        issued = await alert_store.issued(session, [r.reference or "" for r in shown])
        shapes = await alerts.zone_polygons(session, network.id) if shown else {}
    entries = [
        Entry(
            alerts.build(network, r, shapes, issued=alerts.issued_of(issued[r.reference or ""])),
            f"{base}/cap/{network.key}/{r.reference}.xml",
        )
        for r in shown
    ]
    document = to_atom(
        feed_id=f"urn:save-relay:{network.settings.domain}:cap-feed:{network.key}",
        title=f"{network.settings.name} (CAP)",
        self_url=f"{base}/cap/{network.key}.atom",
        updated=max((e.alert.sent for e in entries), default=utcnow()),
        entries=entries,
    )
    return Response(document, media_type="application/atom+xml", headers=_headers(member))


async def alert(request: Request) -> Response:
    network, member = await _network(request)
    async with deps(request).sessions() as session:
        report = await alert_store.report(session, network.id, request.path_params["reference"])
        if (
            report is None
            or report.status != ReportStatus.APPROVED
            or not (member or alerts.may_be_public(report))
        ):
            raise HTTPException(404)
        document = to_xml(await alerts.latest(session, network, report))
    return Response(document, media_type="application/cap+xml", headers=_headers(member))
