"""A storage outage logs a few lines, not a traceback per refused message (issue 16), over real SMTP.

The inbound table is renamed away under the running relay (a real failure at INSERT, as in
tests/e2e/test_lmtp.py): every DATA gets 451; the log has the first failure with its cause, one line per
interval with the count refused, and one line when storing works again.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from save_relay.app import Relay
from tests.e2e.test_intake_errors import NETWORK, REPORTER, send_raw
from tests.e2e.test_lmtp import _rename_inbound
from tests.helpers import report_message

REFUSED = 20


async def test_an_outage_logs_a_few_lines(
    relay: Relay, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert relay.intake is not None
    relay.intake.outage.interval = 0.3
    raw = report_message().as_bytes()
    caplog.set_level(logging.INFO, logger="save_relay")
    await _rename_inbound(db_url, "inbound_messages", "inbound_messages_away")
    try:
        for i in range(REFUSED):
            code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], raw)
            assert code == 451 and text.startswith("4.3.0"), text
            if i == REFUSED // 2:
                await asyncio.sleep(0.4)  # one interval passes: one summary line
    finally:
        await _rename_inbound(db_url, "inbound_messages_away", "inbound_messages")
    for _ in range(3):  # a cached plan may fail once after the table is back
        code, _ = await send_raw(relay.smtp_port, REPORTER, [NETWORK], raw)
        if code == 250:
            break
    assert code == 250

    lines = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("save_relay.intake")
    ]
    actions = [getattr(r, "action", None) for r in lines]
    assert actions == ["intake_storage_failed", "intake_storage_failing", "intake_storage_recovered"], [
        r.getMessage() for r in lines
    ]
    first, summary, recovered = lines
    assert first.exc_info is not None and "inbound_messages" in first.getMessage()  # the cause
    assert 0 < summary.__dict__["refused"] < REFUSED
    assert recovered.__dict__["refused"] >= REFUSED
