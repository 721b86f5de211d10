"""The log of a report's way through the daemon, as JSON lines would carry it: each event names its
report (``reference``), message (``inbound_id``) or deliveries (``delivery_ids``) in a field."""

from __future__ import annotations

import logging

import pytest

from save_relay.app import Relay
from save_relay.core.logs import extra_fields
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import notification_for, post_report, reply
from tests.helpers import Sink, wait_for


async def test_a_reports_events_carry_its_reference(
    relay: Relay, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="save_relay")
    sink.answers["planning@transport-vangorp.example"] = "550 5.1.1 No such user"  # one delivery fails
    reference = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok")

    def by_action() -> dict[str, list[dict[str, object]]]:
        found: dict[str, list[dict[str, object]]] = {}
        for record in caplog.records:
            fields = extra_fields(record)
            found.setdefault(str(fields.get("action")), []).append(fields)
        return found

    def failed_batch() -> bool:
        return any(fields.get("not_sent") for fields in by_action().get("outbound_batch", []))

    await wait_for(failed_batch, timeout=15)
    events = by_action()
    assert any(f.get("reference") == reference for f in events["intake_stored"])
    assert any(f.get("reference") == reference and f.get("inbound_id") for f in events["report_announced"])
    assert [f["reference"] for f in events["report_approved"]] == [reference]
    failed = next(f for f in events["outbound_batch"] if f.get("not_sent"))
    assert failed["delivery_ids"] and "550" in str(failed["error"])
