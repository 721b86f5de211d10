"""Urgent SMS through a plain HTTP gateway (issue 21) on loopback: the JSON contract and its token, 429 and
503 retried, 400 not, the gateway's answer state and its receipt callback stored and shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from save_relay.core.sms_settings import SmsSettings
from save_relay.moderation.decide import Decision
from save_relay.store.tables import Delivery
from tests.conftest import MODERATORS, make_settings
from tests.e2e.test_report_flow import notification_for, post_report
from tests.e2e.test_sms import PLOEG_A, VOS, VOS_NIGHT, shown_sms, sms_rows, started
from tests.e2e.test_webhooks import decide_on
from tests.helpers import Sink, wait_for
from tests.smsgateway_support import TOKEN, Gateway
from tests.web_support import base_url


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    server = await Gateway().start()
    yield server
    await server.stop()


async def test_the_http_gateway_gets_json_retries_throttling_and_takes_receipts(
    db_url: str, sink: Sink, tmp_path: Path, gateway: Gateway
) -> None:
    gateway.answers[VOS] = [429]
    gateway.answers[PLOEG_A] = [503, 503]
    gateway.answers[VOS_NIGHT] = [400, 400]
    settings = make_settings(db_url, sink.port, tmp_path)
    settings.networks["industrie"].sms = SmsSettings.model_validate(gateway.settings())
    relay = await started(settings)
    try:
        reference = await post_report(relay)
        await notification_for(sink, MODERATORS[0], reference)
        await decide_on(relay, reference, Decision("approve", urgent=True, sms_text="Let op: wit busje"))

        async def settled() -> dict[str, Delivery] | None:
            rows = await sms_rows(relay)
            return rows if len(rows) == 3 and all(r.status != "queued" for r in rows.values()) else None

        rows = await wait_for(settled, timeout=30)
        url = f"{base_url(relay)}/sms/receipts/industrie"
        bearer = {"authorization": f"Bearer {TOKEN}"}
        [vos] = gateway.taken(VOS)
        receipts = [{"id": vos.message_id, "status": "delivered"}, {"id": "gw-999", "status": "failed"}]
        async with httpx.AsyncClient(timeout=10) as http:
            wrong = await http.post(url, json=receipts[0], headers={"authorization": "Bearer x"})
            told = await http.post(url, json=receipts, headers=bearer)
            unknown = await http.post(f"{base_url(relay)}/sms/receipts/nowhere", json={}, headers=bearer)
        lines = await shown_sms(relay, reference)
    finally:
        await relay.stop()
    assert wrong.status_code == 401 and unknown.status_code == 404
    assert told.status_code == 200 and told.json() == {"matched": 1}
    assert {n: r.status for n, r in rows.items()} == {VOS: "sent", PLOEG_A: "sent", VOS_NIGHT: "failed"}
    assert [p.status for p in gateway.posted if p.data["to"] == VOS_NIGHT] == [400]  # not retried
    assert [p.status for p in gateway.posted if p.data["to"] == PLOEG_A] == [503, 503, 200]
    assert vos.data == {
        "to": VOS,
        "from": "SaVE Lommel",
        "text": f"{reference}: Let op: wit busje",
        "reference": str(rows[VOS].id),
    }
    assert all(p.headers["authorization"] == f"Bearer {TOKEN}" for p in gateway.posted)
    assert any(line.startswith(f"{VOS} sent, receipt DELIVRD") for line in lines), lines
    assert any(line.startswith(f"{PLOEG_A} sent, receipt ACCEPTD") for line in lines), lines
    assert any(line.startswith(f"{VOS_NIGHT} failed") and "HTTP 400" in line for line in lines), lines
