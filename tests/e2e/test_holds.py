"""A hold keeps what proves what happened to a report: the moderators' approval mail, the distribution
and the tokens that link them, out of erasure and retention; an unheld report loses them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.membership.holds import set_hold
from save_relay.membership.privacy import erase
from save_relay.membership.retention import purge_expired
from save_relay.store.evidence import distributions_of, replies_about
from save_relay.store.tables import InboundMessage, Report, Token
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import REPORTER, distributed, notification_for, post_report, reply
from tests.helpers import Sink, wait_for


async def approved(relay: Relay, sink: Sink) -> str:
    reference = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok\nvermeld")
    await wait_for(lambda: distributed(sink, reference))
    return reference


async def proof(relay: Relay, reference: str) -> tuple[list[bytes], list[bytes], int]:
    """(the replies' raw mail, the distributions' bodies, the report's tokens) of ``reference``."""
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        replies = [m.raw for m in await replies_about(session, report)]
        bodies = [d.body for d in await distributions_of(session, report.id)]
        tokens = len(list(await session.scalars(select(Token.id).where(Token.report_id == report.id))))
    return replies, bodies, tokens


async def test_hold_keeps_the_approval_mail_through_erasure_and_retention(relay: Relay, sink: Sink) -> None:
    held, loose = await approved(relay, sink), await approved(relay, sink)
    async with relay.sessions() as session, session.begin():
        await set_hold(session, held, actor="cli:test", reason="PV 2026/9", release=False)
    replies, bodies, _ = await proof(relay, held)
    assert len(replies) == 1 and REPORTER.encode() in replies[0]  # the approval quotes the reporter
    assert bodies and all(bodies)

    async with relay.sessions() as session, session.begin():
        result = await erase(session, relay.settings, REPORTER, actor="cli:test")
    assert held in result.held and loose not in result.held
    kept_replies, kept_bodies, _ = await proof(relay, held)
    assert kept_replies == replies and kept_bodies == bodies
    loose_replies, _, _ = await proof(relay, loose)
    assert all(REPORTER.encode() not in raw for raw in loose_replies)  # emptied or pseudonymised

    async with relay.sessions() as session, session.begin():
        await purge_expired(session, relay.ctx, utcnow() + timedelta(days=800))  # type: ignore[arg-type]
    kept_replies, kept_bodies, tokens = await proof(relay, held)
    assert kept_replies == replies and kept_bodies == bodies and tokens > 0
    async with relay.sessions() as session:
        purged = await session.scalars(select(InboundMessage.raw).where(InboundMessage.purpose == "confirm"))
        assert b"" in list(purged)  # the unheld report's approval went with retention
    loose_replies, loose_bodies, loose_tokens = await proof(relay, loose)
    assert loose_tokens == 0 and all(body == b"" for body in loose_bodies)
