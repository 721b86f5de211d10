"""The processor's fair order (store/inbound.claim_new): a known subscriber is known per network.

A subscriber of one network who mails another network is a stranger there: his posts wait their
turn by arrival instead of going ahead as a known subscriber's (and into the urgent delivery lane).
"""

from __future__ import annotations

from sqlalchemy import insert

from save_relay.core.states import InboundStatus
from save_relay.store.db import create_engine, session_factory
from save_relay.store.inbound import claim_new
from save_relay.store.tables import InboundMessage, Network, Subscriber, SubscriberAddress

MEMBER = "wachtdienst@bedrijf.example"
STRANGER = "iemand@elders.example"


async def _claim_first(db_url: str, member_of: str) -> tuple[str, bool]:
    """A stranger's post, then ``MEMBER``'s, both to network ``a``; ``MEMBER`` subscribes to ``member_of``."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            ids = {}
            for slug in ("a", "b"):
                network = Network(slug=slug, address=f"{slug}@politie.example", name=slug)
                session.add(network)
                await session.flush()
                ids[slug] = network.id
            subscriber = Subscriber(network_id=ids[member_of], company="Bedrijf")
            session.add(subscriber)
            await session.flush()
            session.add(SubscriberAddress(subscriber_id=subscriber.id, address=MEMBER))
            for sender in (STRANGER, MEMBER.upper()):  # the lookup ignores the case of the address
                await session.execute(
                    insert(InboundMessage).values(
                        network_id=ids["a"],
                        purpose="post",
                        raw=b"x",
                        sha256="0" * 64,
                        size=1,
                        mail_from=sender,
                        rcpt_to="a@politie.example",
                        status=InboundStatus.NEW,
                    )
                )
        async with session_factory(engine)() as session, session.begin():
            [first] = await claim_new(session, limit=1)
            return first.message.mail_from.lower(), first.urgent
    finally:
        await engine.dispose()


async def test_a_subscriber_of_the_network_goes_first(db_url: str) -> None:
    assert await _claim_first(db_url, member_of="a") == (MEMBER, True)


async def test_a_subscriber_of_another_network_waits_his_turn(db_url: str) -> None:
    assert await _claim_first(db_url, member_of="b") == (STRANGER, False)
