"""Personal data: export everything about an address, erase it everywhere, and purge by retention."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.mail.parse import parse_message
from save_relay.membership.holds import set_hold
from save_relay.membership.manage import set_sms
from save_relay.membership.privacy import ErasureRefused, erase, export
from save_relay.membership.retention import purge_expired
from save_relay.store.tables import AuditEntry, Base, Delivery, InboundMessage, Report, SubscriberPhone
from tests.conftest import MODERATORS
from tests.e2e.test_bounces import send_bounce
from tests.e2e.test_one_click import URL, http, quiet
from tests.e2e.test_report_flow import REPORTER, distributed, notification_for, post_report, reply
from tests.e2e.test_subscriptions import REQUEST, mail
from tests.helpers import Sink, wait_for

MAIL_COLUMNS = {("inbound_messages", "raw"), ("deliveries", "message"), ("distributions", "body")}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


async def traces(session: AsyncSession, address: str) -> list[str]:
    """Every ``table.column`` of every row that mentions ``address``, found independently of the code
    under test: each value read back and searched, stored mail decoded first."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                hit = address in _text(value).lower()
                if not hit and (table.name, column) in MAIL_COLUMNS and value:
                    parsed = parse_message(value)
                    hit = address in (parsed.text + (parsed.html or "") + str(parsed.headers)).lower()
                if hit:
                    found.append(f"{table.name}.{column} (row {dict(row).get('id', '?')})")
    return found


async def leave_traces(relay: Relay, sink: Sink) -> str:
    """The reporter posts a credited report, receives its distribution, bounces once, unsubscribes by
    one-click, asks +request for help: a trace in nearly every table. Returns the report's reference."""
    reference = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok\nvermeld")
    delivered = await wait_for(lambda: [m for m in distributed(sink, reference) if REPORTER in m.rcpt_tos])
    await quiet(relay)  # the delivery's tokens are recorded
    await send_bounce(relay, "postfix_user_unknown.eml", delivered[0])
    match = URL.search(str(delivered[0].message["List-Unsubscribe"]))
    assert match
    assert (await asyncio.to_thread(http, match.group(1), b"List-Unsubscribe=One-Click"))[0] == 200
    await mail(relay, REPORTER, REQUEST, "help", "")
    await wait_for(lambda: [m for m in sink.to(REPORTER) if "Hulp" in str(m.message["Subject"])])
    await quiet(relay)
    return reference


async def test_export_then_erase_leaves_no_trace(relay: Relay, sink: Sink) -> None:
    reference = await leave_traces(relay, sink)
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():  # the company's SMS number
        network_id = relay.ctx.networks["industrie"].id
        await set_sms(
            session, network_id, "Metaalwerken Vos NV", ["0470 12 34 56"], region="BE", actor="cli:test"
        )
    async with relay.sessions() as session:
        assert len(await traces(session, REPORTER)) > 10
        info = await export(session, relay.settings, REPORTER)
        audit_before = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert info["subscribers"][0]["company"] == "Metaalwerken Vos NV"
    assert info["subscribers"][0]["addresses"][0]["status"] == "unsubscribed"
    assert info["subscribers"][0]["sms_numbers"] == ["+32470123456"]
    assert [r["reference"] for r in info["reports"]] == [reference] and "witte bestelwagen" in info[
        "reports"
    ][0]["text"]
    assert {d["kind"] for d in info["deliveries"]} >= {"ack", "distribution", "unsubscribed", "request"}
    assert info["bounces"][0]["kind"] == "permanent"
    assert info["membership_events"][0]["event"] == "unsubscribed"
    assert {"report_received", "address_unsubscribed", "bounce_received"} <= {
        a["action"] for a in info["audit"]
    }
    json.dumps(info)  # plain JSON

    async with relay.sessions() as session, session.begin():
        with pytest.raises(ErasureRefused, match="moderator in the settings"):
            await erase(session, relay.settings, MODERATORS[0], actor="cli:test")
    async with relay.sessions() as session, session.begin():
        result = await erase(session, relay.settings, REPORTER.upper(), actor="cli:test")
    assert result.held == [] and result.deleted["subscriber addresses"] == 1

    async with relay.sessions() as session:
        assert await traces(session, REPORTER) == []
        # The audit trail keeps every entry, in order, plus the erasure itself.
        audit_after = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        report = await session.scalar(select(Report).where(Report.reference == reference))
        inbound = await session.get(InboundMessage, report.inbound_id) if report else None
    assert audit_after == [*audit_before, "audit_redacted", "personal_data_erased"]
    assert report is not None and report.sender == result.pseudonym and report.status == "approved"
    assert inbound is not None and inbound.raw == b"" and len(inbound.sha256) == 64
    async with relay.sessions() as session:  # the company had only this address: it went, with its number
        assert list(await session.scalars(select(SubscriberPhone.number))) == []


async def test_a_report_on_evidence_hold_survives_erasure_and_purge(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    await notification_for(sink, MODERATORS[0], reference)
    await quiet(relay)
    async with relay.sessions() as session, session.begin():
        assert "on evidence hold" in await set_hold(
            session, reference, actor="cli:test", reason="PV 123", release=False
        )
    async with relay.sessions() as session, session.begin():
        result = await erase(session, relay.settings, REPORTER, actor="cli:test")
    assert result.held == [reference]
    async with relay.sessions() as session:
        left = await traces(session, REPORTER)
    assert left and all(t.startswith(("reports.sender", "inbound_messages.")) for t in left), left

    # The retention purge passes it by as well, however old it is.
    async with relay.sessions() as session, session.begin():
        await session.execute(update(Report).values(received_at=utcnow() - timedelta(days=4000)))
        assert relay.ctx is not None
        purged = await purge_expired(session, relay.ctx, utcnow())
    assert purged.reports == 0
    async with relay.sessions() as session, session.begin():
        assert "released" in await set_hold(session, reference, actor="cli:test", reason="", release=True)
        purged = await purge_expired(session, relay.ctx, utcnow())
    assert purged.reports == 1
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        inbound = await session.get(InboundMessage, report.inbound_id)
        assert inbound is not None and inbound.raw == b"" and inbound.purged_at is not None
        assert report.subject == "" and report.status == "pending"
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"evidence_hold", "evidence_hold_released", "retention_purge"} <= actions


async def test_retention_purges_old_delivery_logs_only(relay: Relay, sink: Sink) -> None:
    await leave_traces(relay, sink)
    async with relay.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(Delivery))
    async with relay.sessions() as session, session.begin():
        assert relay.ctx is not None
        nothing = await purge_expired(session, relay.ctx, utcnow())
    assert not nothing  # everything is recent
    async with relay.sessions() as session, session.begin():
        old = utcnow() - timedelta(days=91)
        await session.execute(update(Delivery).values(created_at=old))
        await session.execute(update(InboundMessage).values(received_at=old))
        purged = await purge_expired(session, relay.ctx, utcnow())
    assert purged.deliveries == before and purged.reports == 0  # reports are kept for a year
    assert purged.other_inbound >= 3  # the moderator's reply, the bounce, the request
    async with relay.sessions() as session:
        posts = list(
            await session.scalars(select(InboundMessage.raw).where(InboundMessage.purpose == "post"))
        )
    assert all(posts)  # the report itself is still whole
