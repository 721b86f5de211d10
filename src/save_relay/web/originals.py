"""A report's attachments as received, for police eyes: shown on the report page, never distributed.

They come from the raw mail (the evidence; what subscribers get are the cleaned copies), only to an
account of the report's own network, and every view is in the audit log (``console.attachment_view``).
Only raster images are served inline; anything else (an SVG could carry script) is a download.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from save_relay.mail.attachments import Extracted, extract
from save_relay.store import reports as report_store
from save_relay.web.access import own_report
from save_relay.web.auth import audit, visitor
from save_relay.web.deps import deps

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def is_inline(item: Extracted) -> bool:
    return item.content_type in INLINE_TYPES


async def attachment(request: Request) -> Response:
    """``/reports/REF/attachments/N``: attachment N (1, 2, ...) of the mail as received; audited."""
    who = await visitor(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    number = request.path_params["number"]
    async with deps(request).sessions() as session, session.begin():
        report = await own_report(session, who, request.path_params["reference"])
        found = extract(await report_store.raw_of(session, report), {"reference": report.reference})
        if not 1 <= number <= len(found):
            raise HTTPException(404)
        item = found[number - 1]
        audit(
            session,
            request,
            "console.attachment_view",
            who.account.login,
            report.network_id,
            object_ref=report.reference,
            attachment=number,
        )
    if is_inline(item):
        return Response(item.data, media_type=item.content_type, headers={"Cache-Control": "no-store"})
    disposition = f'attachment; filename="{item.filename}"'
    headers = {"Content-Disposition": disposition}
    return Response(item.data, media_type="application/octet-stream", headers=headers)
