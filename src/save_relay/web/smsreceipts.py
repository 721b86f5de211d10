"""``POST /sms/receipts/NETWORK``: delivery receipts from a network's HTTP SMS gateway.

The gateway authenticates with the same token the relay sends it (``Authorization: Bearer TOKEN``,
compared in constant time); a network without an HTTP gateway and token has no such endpoint (404).
The body is one JSON object or a list of them, each with the message id at the gateway's
``id_field`` and the state at its ``status_field`` (``delivered``, ``failed``, ``DELIVRD`` ...).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from save_relay.core.sms_settings import pick, receipt_state
from save_relay.store import sms as sms_store
from save_relay.web.deps import deps

MAX_RECEIPTS = 1000  # per request


async def receipts(request: Request) -> Response:
    web = deps(request)
    network = web.ctx.networks.get(request.path_params["network"])
    conf = network.settings.sms if network is not None else None
    gateway = conf.http if conf is not None else None
    if network is None or gateway is None or gateway.token is None:
        return Response(status_code=404)
    expected = f"Bearer {gateway.token.get_secret_value()}".encode()
    if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
        return Response(status_code=401, headers={"www-authenticate": "Bearer"})
    try:
        data: Any = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"error": "not JSON"}, status_code=400)
    items = data if isinstance(data, list) else [data]
    matched = 0
    async with web.sessions() as session, session.begin():
        for item in items[:MAX_RECEIPTS]:
            message_id, state = pick(item, gateway.id_field), pick(item, gateway.status_field)
            if message_id and state:
                matched += await sms_store.record_receipt(
                    session, network.id, message_id, receipt_state(state)
                )
    return JSONResponse({"matched": matched})
