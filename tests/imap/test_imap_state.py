"""The IMAP state table on SQLite and PostgreSQL: the migration matches the model, and ``last_uid`` only
moves forward, only under the UIDVALIDITY it was read with."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from save_relay.core.settings import load_settings
from save_relay.store import imap as imap_store
from save_relay.store.db import create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Base

NETWORKS = {
    "industrie": {
        "address": "industrie@politie.lommel.be",
        "name": "SaVE Lommel",
        "moderators": ["inspecteur.peeters@politie.lommel.be"],
    }
}


async def test_migration_0002_matches_the_model(db_url: str) -> None:
    engine = create_engine(db_url)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, Base.metadata) if "imap_mailboxes" in repr(d)]

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_last_uid_moves_forward_only_under_its_uidvalidity(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            network = (await sync_networks(session, load_settings(None, networks=NETWORKS)))["industrie"]
            position = await imap_store.open_mailbox(session, network.id, "INBOX", "u@imap:993")
            assert position.uidvalidity is None and position.last_uid == 0
            await imap_store.reset(session, position.mailbox_id, 4_000_000_000)  # UIDs are 32-bit unsigned
        box = position.mailbox_id
        async with sessions() as session, session.begin():
            assert await imap_store.advance(session, box, 4_000_000_000, 3)
            assert not await imap_store.advance(session, box, 4_000_000_000, 3)  # taken already
            assert not await imap_store.advance(session, box, 4_000_000_000, 2)  # never backwards
            assert not await imap_store.advance(session, box, 17, 9)  # another UIDVALIDITY
            assert await imap_store.advance(session, box, 4_000_000_000, 4_294_967_295)
        async with sessions() as session, session.begin():
            again = await imap_store.open_mailbox(session, network.id, "INBOX", "u@imap:993")
            assert (again.mailbox_id, again.uidvalidity, again.last_uid) == (
                box,
                4_000_000_000,
                4_294_967_295,
            )
            rows = await imap_store.all_mailboxes(session)
        assert [(r.network, r.folder, r.messages) for r in rows] == [("industrie", "INBOX", 2)]
    finally:
        await engine.dispose()
