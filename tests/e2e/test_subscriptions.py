"""Subscribing and unsubscribing by mail to +request, over real SMTP: double opt-in, then a moderator."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.store.recipients import recipients_query
from save_relay.store.tables import (
    AuditEntry,
    Group,
    GroupMembership,
    MembershipEvent,
    Subscriber,
    SubscriberAddress,
    SubscriptionRequest,
    Zone,
    ZoneMembership,
)
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import distributed, notification_for, post_report, reply
from tests.helpers import Received, Sink, smtp_send, wait_for

REQUEST = "industrie+request@politie.lommel.be"
NEWCOMER = "preventie@nieuw-staal.example"
CONFIRM = re.compile(r"industrie\+confirm-[a-z2-7]{26}@politie\.lommel\.be")


async def mail(
    relay: Relay, sender: str, to: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> None:
    message = EmailMessage()
    message["From"] = f"Nieuwe Deelnemer <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    code, text = await smtp_send(relay.smtp_port, sender, [to], message)
    assert code == 250, text


async def mail_to(sink: Sink, address: str, subject_part: str, count: int = 1) -> Received:
    found = await wait_for(
        lambda: [m for m in sink.to(address) if subject_part in str(m.message["Subject"])][count - 1 :]
    )
    return found[0]  # type: ignore[no-any-return]


def text_of(message: Received) -> str:
    return message.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr,no-any-return]


async def test_subscribe_confirm_approve(relay: Relay, sink: Sink) -> None:
    await mail(
        relay, NEWCOMER, REQUEST, "aanmelden", "bedrijf: Nieuw Staal NV\nadres: Balendijk 200, 3920 Lommel\n"
    )
    confirm = await mail_to(sink, NEWCOMER, "Bevestig uw aanmelding")
    assert CONFIRM.fullmatch(str(confirm.message["Reply-To"]))
    assert "Nog nodig: locatie" in text_of(confirm)  # field names in the mail's language (issue 15)
    async with relay.sessions() as session:
        request = await session.scalar(select(SubscriptionRequest))
        assert request is not None and request.status == "unconfirmed" and request.company == "Nieuw Staal NV"

    # Someone else answering the requester's confirmation changes nothing (and hears nothing back).
    await mail(relay, "kwaad@elders.example", str(confirm.message["Reply-To"]), "Re: bevestig", "ja")
    # The requester confirms and adds the location asked for.
    await mail(
        relay, NEWCOMER, str(confirm.message["Reply-To"]), "Re: bevestig", "ja\nlocatie: 51.2399, 5.2862\n"
    )
    await mail_to(sink, NEWCOMER, "Aanmelding bevestigd")
    notes = [await mail_to(sink, m, "Aanmelding goed te keuren") for m in MODERATORS]
    assert "51.239900, 5.286200" in text_of(notes[0]) and "kolonel-dusart" in text_of(notes[0])
    assert not sink.to("kwaad@elders.example")

    # A requester cannot approve themselves with a moderator's token.
    await mail(relay, NEWCOMER, str(notes[0].message["Reply-To"]), "Re: goedkeuren", "ok")
    # The moderator approves and puts the company in a group.
    await reply(relay, notes[0], "ok\ngroepen: transport")
    await mail_to(sink, NEWCOMER, "Welkom")
    await wait_for(lambda: [m for m in sink.to(MODERATORS[0]) if "goedgekeurd" in str(m.message["Subject"])])

    async with relay.sessions() as session:
        subscriber = await session.scalar(select(Subscriber).where(Subscriber.company == "Nieuw Staal NV"))
        assert subscriber is not None and subscriber.street == "Balendijk 200, 3920 Lommel"
        assert (subscriber.latitude, subscriber.longitude) == (51.2399, 5.2862)
        zones = set(
            await session.scalars(
                select(Zone.slug)
                .join(ZoneMembership, ZoneMembership.zone_id == Zone.id)
                .where(ZoneMembership.subscriber_id == subscriber.id, ZoneMembership.source == "computed")
            )
        )
        assert "kolonel-dusart" in zones
        groups = set(
            await session.scalars(
                select(Group.slug)
                .join(GroupMembership, GroupMembership.group_id == Group.id)
                .where(GroupMembership.subscriber_id == subscriber.id)
            )
        )
        assert groups == {"transport"}
        request = await session.scalar(select(SubscriptionRequest))
        assert request is not None and (request.status, request.decided_by) == ("approved", MODERATORS[0])
        refused = list(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("%_refused")))
        )
        assert sorted(refused) == ["subscribe_refused", "subscription_refused"]
        assert NEWCOMER in set(
            await session.scalars(
                recipients_query(relay.ctx.networks["industrie"].id, ["kolonel-dusart"], [])
            )
        )  # type: ignore[union-attr]

    # And the next report for the zone reaches the newcomer.
    reference = await post_report(relay)
    await reply(relay, await notification_for(sink, MODERATORS[0], reference), "ok")
    await wait_for(lambda: [m for m in distributed(sink, reference) if NEWCOMER in m.rcpt_tos])


async def test_unsubscribe_by_mail_is_confirmed_first(relay: Relay, sink: Sink) -> None:
    member = "planning@transport-vangorp.example"
    await mail(relay, member, REQUEST, "Afmelden", "Graag geen mails meer.")
    confirm = await mail_to(sink, member, "Bevestig uw afmelding")
    async with relay.sessions() as session:
        status = await session.scalar(
            select(SubscriberAddress.status).where(SubscriberAddress.address == member)
        )
        assert status == "active"  # nothing happens before the confirmation
    await mail(relay, member, str(confirm.message["Reply-To"]), "Re: afmelden", "ja")
    await mail_to(sink, member, "Uitgeschreven")
    async with relay.sessions() as session:
        status = await session.scalar(
            select(SubscriberAddress.status).where(SubscriberAddress.address == member)
        )
        event = await session.scalar(select(MembershipEvent).where(MembershipEvent.address == member))
    assert (
        status == "unsubscribed"
        and event is not None
        and (event.event, event.via) == ("unsubscribed", "mail")
    )

    # Asking again: the address is not subscribed any more, and is told so.
    await mail(relay, member, REQUEST, "afmelden", "")
    await mail_to(sink, member, "Niet aangemeld")


async def test_help_unknown_and_automatic_mail(relay: Relay, sink: Sink) -> None:
    await mail(relay, NEWCOMER, REQUEST, "Vraag", "Hoe werkt dit?")
    help_mail = await mail_to(sink, NEWCOMER, "Hulp bij aan- en afmelden")
    assert "geen opdracht" in text_of(help_mail) and REQUEST in text_of(help_mail)
    await mail(
        relay,
        "afwezig@nieuw-staal.example",
        REQUEST,
        "Automatisch antwoord: aanmelden",
        "Ik ben afwezig.",
        {"Auto-Submitted": "auto-replied"},
    )
    await mail(relay, NEWCOMER, REQUEST, "subscribe", "")
    await mail(relay, NEWCOMER, REQUEST, "subscribe", "")  # within the hour: no second mail
    await mail_to(sink, NEWCOMER, "Bevestig uw aanmelding")

    async def settled() -> bool:
        async with relay.sessions() as session:
            actions = list(await session.scalars(select(AuditEntry.action)))
        return "request_ignored" in actions and "subscribe_throttled" in actions

    await wait_for(settled)
    assert not sink.to("afwezig@nieuw-staal.example")
    assert len([m for m in sink.to(NEWCOMER) if "Bevestig" in str(m.message["Subject"])]) == 1
    async with relay.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SubscriptionRequest)) == 1
