"""The ASGI app: the routing table, the middleware and the error pages, built once per daemon.

To add a page: write an endpoint ``async def page(request) -> Response`` in a module of ``web/`` (it reaches
the daemon through ``deps(request)`` and renders with ``templating.render``), add its template under
``web/templates/`` (``{% extends "base.html" %}``), and add one ``Route`` to ``ROUTES`` below.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from save_relay.core.settings import HttpSettings, MetricsSettings
from save_relay.web import (
    audit_page,
    auth,
    canvass_results,
    canvasses,
    capfeed,
    oneclick,
    ops,
    originals,
    pages,
    queue,
    reports,
    smsreceipts,
    subscriber_changes,
    subscriber_import,
    subscribers,
    webhooks_page,
    zonemap,
    zones_page,
)
from save_relay.web.deps import Deps
from save_relay.web.errors import client_gone, http_error, server_error
from save_relay.web.limits import RequestLimits
from save_relay.web.security import SecurityHeaders
from save_relay.web.static import CachedStaticFiles
from save_relay.web.templating import STATIC_DIR, STATIC_PREFIX
from save_relay.web.uploads import UPLOAD_BYTES as UPLOAD

ROUTES: list[BaseRoute] = [
    Route("/", auth.home, name="home"),
    # The console: login (password, TOTP), logout, and the pages of a logged-in account.
    Route("/login", auth.login, methods=["POST"], name="login"),
    Route("/logout", auth.logout, methods=["POST"], name="logout"),
    Route("/console", auth.console, name="console"),
    Route("/reports", queue.queue, name="queue"),
    Route("/reports/reject", queue.bulk_reject, methods=["POST"], name="bulk_reject"),  # before REF
    Route("/reports/{reference}", reports.report, methods=["GET"], name="report"),
    Route("/reports/{reference}", reports.decide_report, methods=["POST"]),
    Route("/reports/{reference}/raw", reports.raw, name="report_raw"),
    Route("/reports/{reference}/count", zonemap.count, name="report_count"),
    Route("/reports/{reference}/attachments/{number:int}", originals.attachment, name="report_attachment"),
    Route("/zones.geojson", zonemap.zones_geojson, name="zones_geojson"),
    # The coordinators' pages: subscribers, zones, canvasses; and the audit log for every role.
    Route("/subscribers", subscribers.subscribers, name="subscribers"),
    Route("/subscribers/new", subscribers.new_form, methods=["GET"], name="subscriber_new"),
    Route("/subscribers/new", subscribers.create, methods=["POST"]),
    Route("/subscribers/import", subscriber_import.import_page, methods=["GET"], name="subscriber_import"),
    Route("/subscribers/import", subscriber_import.preview, methods=["POST"], max_body_size=UPLOAD),
    Route("/subscribers/import/confirm", subscriber_import.confirm, methods=["POST"], max_body_size=UPLOAD),
    Route("/subscribers/{subscriber_id:int}", subscribers.company, methods=["GET"], name="subscriber"),
    Route("/subscribers/{subscriber_id:int}", subscribers.edit, methods=["POST"]),
    Route("/subscribers/{subscriber_id:int}/enabled", subscribers.switch, methods=["POST"]),
    Route("/subscribers/{subscriber_id:int}/rename", subscriber_changes.rename_company, methods=["POST"]),
    Route("/subscribers/{subscriber_id:int}/remove", subscriber_changes.remove_form, methods=["GET"]),
    Route("/subscribers/{subscriber_id:int}/remove", subscriber_changes.remove, methods=["POST"]),
    Route("/zones", zones_page.zones, methods=["GET"], name="zones"),
    Route("/zones", zones_page.upload, methods=["POST"], max_body_size=UPLOAD),
    Route("/canvasses", canvasses.canvasses, methods=["GET"], name="canvasses"),
    Route("/canvasses", canvasses.create_canvass, methods=["POST"]),
    Route("/canvasses/new", canvasses.new_form, name="canvass_new"),
    Route("/canvasses/count", canvasses.count, name="canvass_count"),
    Route("/canvasses/{canvass_id:int}", canvass_results.canvass, name="canvass"),
    Route("/canvasses/{canvass_id:int}/results.csv", canvass_results.results_csv, name="canvass_csv"),
    Route("/canvasses/{canvass_id:int}/cancel", canvass_results.cancel_canvass, methods=["POST"]),
    Route("/canvasses/{canvass_id:int}/approve", canvass_results.approve_canvass, methods=["POST"]),
    Route("/webhooks", webhooks_page.webhooks, methods=["GET"], name="webhooks"),
    Route("/webhooks", webhooks_page.create, methods=["POST"]),
    Route("/webhooks/{endpoint_id:int}/enabled", webhooks_page.switch, methods=["POST"]),
    Route("/webhooks/{endpoint_id:int}/rotate", webhooks_page.rotate_secret, methods=["POST"]),
    Route("/audit", audit_page.audit_log, name="audit"),
    Route("/cap/{network}.atom", capfeed.feed, name="cap_feed"),
    Route("/cap/{network}/{reference}.xml", capfeed.alert, name="cap_alert"),
    Route("/sms/receipts/{network}", smsreceipts.receipts, methods=["POST"], name="sms_receipts"),
    # Operations: liveness (the process answers) and readiness (it can do its work: web/ops.py).
    Route("/healthz", pages.healthz, name="healthz"),
    Route("/readyz", ops.readyz, name="readyz"),
    # RFC 8058 one-click unsubscribe, linked from every distributed mail (List-Unsubscribe).
    Route("/unsubscribe/{network}/{token}", oneclick.show, methods=["GET"], name="unsubscribe"),
    Route("/unsubscribe/{network}/{token}", oneclick.unsubscribe, methods=["POST"]),
    # Versioned and hashed files (templating.static_url): cached for a year.
    Mount(STATIC_PREFIX, app=CachedStaticFiles(directory=STATIC_DIR), name="static"),
]


#: The operations listener's routes ([metrics]: loopback by default, never behind the public proxy).
OPS_ROUTES: list[BaseRoute] = [
    Route("/metrics", ops.metrics, name="metrics"),
    Route("/healthz", pages.healthz),
    Route("/readyz", ops.readyz),
]
OPS_MAX_BYTES = 8192
OPS_TIMEOUT = 10.0


class ConsoleApp(Starlette):
    """Starlette with ``SecurityHeaders`` around all of it, Starlette's own error responses included."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def make_app(
    routes: Sequence[BaseRoute], *, max_bytes: int, timeout: float, site_name: str = "save-relay"
) -> ConsoleApp:
    """An app with the routes and save-relay's limits, headers and error pages (tests build small ones).

    ``max_bytes`` bounds the head and the body each (a route may allow a larger body with its own
    ``max_body_size``); ``timeout`` is the body's deadline after the head."""
    app = ConsoleApp(
        routes=list(routes),
        middleware=[Middleware(RequestLimits, max_head_bytes=max_bytes, timeout=timeout)],
        exception_handlers={
            HTTPException: http_error,
            ClientDisconnect: client_gone,
            Exception: server_error,
        },
        max_body_size=max_bytes,
    )
    app.state.site_name = site_name
    return app


def build_app(web: Deps, conf: HttpSettings) -> ConsoleApp:
    """The daemon's app: ``ROUTES`` with the daemon's services and the ``[http]`` limits."""
    app = make_app(ROUTES, max_bytes=conf.max_request_bytes, timeout=conf.timeout, site_name=web.site_name)
    app.state.deps = web
    return app


def build_ops_app(web: Deps, conf: MetricsSettings) -> ConsoleApp:
    """The operations listener's app: ``OPS_ROUTES``; ``/metrics`` asks for ``conf.bearer_token`` if set."""
    app = make_app(OPS_ROUTES, max_bytes=OPS_MAX_BYTES, timeout=OPS_TIMEOUT, site_name=web.site_name)
    app.state.deps = web
    app.state.metrics_token = conf.bearer_token
    return app
