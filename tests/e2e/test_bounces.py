"""Bounces to the VERP return path over real SMTP: scored, decayed, disabling past the threshold; automatic
replies are neither bounces nor reports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.core.tokens import delivery_id_of, new_token, token_hash
from save_relay.delivery.bounces import decayed, match_unmatched
from save_relay.store.reports import list_reports
from save_relay.store.tables import (
    AuditEntry,
    BounceEvent,
    Delivery,
    Report,
    SubscriberAddress,
    UnmatchedBounce,
)
from tests.conftest import MODERATORS
from tests.e2e.test_one_click import approve_one
from tests.helpers import Received, Sink, report_message, smtp_send, wait_for

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"
MEMBER = "planning@transport-vangorp.example"
SAMPLE_VERP = "industrie+bounces-abcdefghijklmnopqrstuvwxyz@politie.lommel.be"
SAMPLE_RECIPIENT = "jan.peeters@kempen-staal.example"


def bounce(name: str, delivered: Received) -> bytes:
    """A sample DSN rewritten for one real delivery: its recipient and its VERP return path."""
    text = (DATA / name).read_text(encoding="utf-8")
    return (
        text.replace(SAMPLE_VERP, delivered.mail_from)
        .replace(SAMPLE_RECIPIENT, delivered.rcpt_tos[0])
        .encode()
    )


async def send_bounce(relay: Relay, name: str, delivered: Received) -> None:
    code, text = await smtp_send(relay.smtp_port, "", [delivered.mail_from], bounce(name, delivered))
    assert code == 250, text


async def address_row(relay: Relay) -> SubscriberAddress:
    async with relay.sessions() as session:
        row = await session.scalar(select(SubscriberAddress).where(SubscriberAddress.address == MEMBER))
    assert row is not None
    return row


async def events(relay: Relay, count: int) -> list[BounceEvent]:
    async def found() -> list[BounceEvent] | None:
        async with relay.sessions() as session:
            rows = list(await session.scalars(select(BounceEvent).order_by(BounceEvent.id)))
        return rows if len(rows) >= count else None

    return await wait_for(found)  # type: ignore[no-any-return]


async def audited(relay: Relay, action: str, count: int = 1) -> None:
    async def found() -> bool:
        async with relay.sessions() as session:
            return (
                len(list(await session.scalars(select(AuditEntry.id).where(AuditEntry.action == action))))
                >= count
            )

    await wait_for(found)


async def to_member(relay: Relay, sink: Sink) -> Received:
    _, delivered = await approve_one(relay, sink)
    return next(m for m in delivered if m.rcpt_tos[0].lower() == MEMBER)


async def test_bounces_score_and_disable(relay: Relay, sink: Sink) -> None:
    first = await to_member(relay, sink)
    await send_bounce(relay, "postfix_user_unknown.eml", first)
    (event,) = await events(relay, 1)
    assert (event.kind, event.added, event.score) == ("permanent", 1.0, 1.0)
    async with relay.sessions() as session:
        delivery = await session.get(Delivery, event.delivery_id)
        assert delivery is not None and delivery.status == "failed" and "5.1.1" in (delivery.last_error or "")
    # The same delivery bouncing again does not count twice; an out-of-office reply is no bounce.
    await send_bounce(relay, "postfix_user_unknown.eml", first)
    await send_bounce(relay, "exchange_out_of_office.eml", first)
    await audited(relay, "bounce_ignored")
    await events(relay, 2)
    assert (await address_row(relay)).bounce_score == 1.0

    second = await to_member(relay, sink)
    await send_bounce(relay, "gmail_delay.eml", second)  # temporary: a quarter
    await events(relay, 3)
    assert (await address_row(relay)).bounce_score == 1.25
    await send_bounce(relay, "gmail_no_such_user.eml", second)  # then it failed: counts at its worst
    await events(relay, 4)
    assert (await address_row(relay)).bounce_score == 2.0

    third = await to_member(relay, sink)
    await send_bounce(relay, "exim_failed.eml", third)
    await events(relay, 5)
    row = await address_row(relay)
    assert row.status == "disabled" and row.bounce_score == 3.0
    for moderator in MODERATORS:
        notice = await wait_for(
            lambda m=moderator: [x for x in sink.to(m) if "uitgeschakeld" in str(x.message["Subject"])]
        )
        assert MEMBER in notice[0].message.get_body(preferencelist=("plain",)).get_content()
    reference, delivered = await approve_one(relay, sink)
    assert MEMBER not in {m.rcpt_tos[0].lower() for m in delivered}
    assert reference


async def test_a_bounce_before_its_delivery_is_recorded_waits_for_it(relay: Relay, sink: Sink) -> None:
    first = await to_member(relay, sink)
    # The worker stores a delivery's token after its batch: pretend this bounce came before that.
    async with relay.sessions() as session, session.begin():
        delivery = await session.scalar(select(Delivery).where(Delivery.recipient == MEMBER))
        assert delivery is not None
        hashed, delivery.bounce_hash = delivery.bounce_hash, None
    await send_bounce(relay, "exim_failed.eml", first)
    await wait_for(lambda: unmatched(relay, 1))
    assert (await address_row(relay)).bounce_score == 0.0
    async with relay.sessions() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.id == delivery.id).values(bounce_hash=hashed))
        assert relay.ctx is not None
        assert await match_unmatched(session, relay.ctx, utcnow()) == 1
    assert (await address_row(relay)).bounce_score == 1.0
    assert await unmatched(relay, 0)

    # A token that never names a delivery is dropped after a day, audited.
    fake = Received("industrie+bounces-" + "b" * 26 + "@politie.lommel.be", first.rcpt_tos, b"")
    await send_bounce(relay, "exim_failed.eml", fake)
    await wait_for(lambda: unmatched(relay, 1))
    async with relay.sessions() as session, session.begin():
        assert await match_unmatched(session, relay.ctx, utcnow()) == 0
        assert await match_unmatched(session, relay.ctx, utcnow() + timedelta(days=2)) == 1
    await audited(relay, "bounce_unknown_token")
    assert (await address_row(relay)).bounce_score == 1.0


async def unmatched(relay: Relay, count: int) -> bool:
    async with relay.sessions() as session:
        return len(list(await session.scalars(select(UnmatchedBounce.inbound_id)))) == count


def test_scores_halve_every_half_life_in_whole_days() -> None:
    now = utcnow()
    week, fortnight = now - timedelta(days=7), now - timedelta(days=14, hours=23)
    assert decayed(2.0, week, now, 7.0) == (1.0, week + timedelta(days=7))
    assert decayed(2.0, fortnight, now, 7.0) == (0.5, fortnight + timedelta(days=14))  # the 23 hours wait
    assert decayed(2.0, now - timedelta(hours=23), now, 7.0)[0] == 2.0
    assert decayed(2.0, None, now, 7.0) == (2.0, now) and decayed(-1.0, now, now, 7.0)[0] == 0.0


async def test_auto_reply_to_the_network_is_discarded_not_posted(relay: Relay, sink: Sink) -> None:
    message = report_message(
        subject="Automatisch antwoord: uw bericht", headers={"Auto-Submitted": "auto-replied"}
    )
    code, text = await smtp_send(
        relay.smtp_port, "security@metaalwerken-vos.example", ["industrie@politie.lommel.be"], message
    )
    assert code == 250, text
    reference = text.rsplit(" ", 1)[-1]

    async def discarded() -> Report | None:
        async with relay.sessions() as session:
            report = await session.scalar(select(Report).where(Report.reference == reference))
        return report if report is not None and report.status == "discarded" else None

    report = await wait_for(discarded)
    assert report.reason == "automatic reply"
    await audited(relay, "report_discarded")
    async with relay.sessions() as session:
        assert [r.status for r in await list_reports(session, None) if r.reference == reference] == [
            "discarded"
        ]
        assert [r.reference for r in await list_reports(session, "pending")] == []
    assert not [m for m in sink.to(MODERATORS[0]) if reference in str(m.message["Subject"])]
    assert not sink.to("security@metaalwerken-vos.example")  # no acknowledgement either


def _token_of(verp: str) -> str:
    """TOKEN of ``industrie+bounces-TOKEN@domain``."""
    return verp.split("@", 1)[0].split("-", 1)[1]


async def test_a_token_names_its_delivery_but_only_the_random_part_opens_it(relay: Relay, sink: Sink) -> None:
    """The delivery id in a token is no key: the same id with another random part finds nothing."""
    first = await to_member(relay, sink)
    token = _token_of(first.mail_from)
    async with relay.sessions() as session:
        delivery = await session.scalar(select(Delivery).where(Delivery.recipient == MEMBER))
    assert delivery is not None and delivery_id_of(token) == delivery.id
    forged = new_token() + token[26:]  # a fresh random part, the real id
    assert delivery_id_of(forged) == delivery.id
    await send_bounce(
        relay, "exim_failed.eml", Received(first.mail_from.replace(token, forged), first.rcpt_tos, b"")
    )
    await wait_for(lambda: unmatched(relay, 1))
    assert (await address_row(relay)).bounce_score == 0.0
    async with relay.sessions() as session:
        row = await session.scalar(select(UnmatchedBounce))
    assert row is not None and row.delivery_id == delivery.id  # tried again by id, never matches


async def test_a_plain_token_mailed_before_migration_0007_still_finds_its_delivery(
    relay: Relay, sink: Sink
) -> None:
    """Tokens without the delivery id (older mail) are found by their hash alone."""
    first = await to_member(relay, sink)
    old = new_token()
    async with relay.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.recipient == MEMBER).values(bounce_hash=token_hash(old))
        )
    await send_bounce(
        relay,
        "exim_failed.eml",
        Received(first.mail_from.replace(_token_of(first.mail_from), old), first.rcpt_tos, b""),
    )
    (event,) = await events(relay, 1)
    assert event.kind == "permanent"
    assert (await address_row(relay)).bounce_score == 1.0
