"""The IMAP intake's state per watched mailbox: where it is (UIDVALIDITY, last UID) and how it is doing.

One row per (network, folder). ``last_uid`` only ever moves forward, and only in the transaction that
stores the message with that UID (``advance``), so "UID <= last_uid" means "committed, or deliberately
set aside": a restart moves or flags those without storing them again. The health columns are written
by the poller on every state change and heartbeat, and read by ``save-relay status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.store.tables import ImapMailbox, InboundMessage, Network


@dataclass(frozen=True, slots=True)
class Position:
    """Where a poller resumes: ``uidvalidity`` None means never selected yet."""

    mailbox_id: int
    uidvalidity: int | None
    last_uid: int


async def open_mailbox(session: AsyncSession, network_id: int, folder: str, account: str) -> Position:
    """The row of (network, folder), created on first use (safe against a concurrent creator)."""
    query = select(ImapMailbox).where(ImapMailbox.network_id == network_id, ImapMailbox.folder == folder)
    row = await session.scalar(query)
    if row is None:
        try:
            async with session.begin_nested():
                row = ImapMailbox(network_id=network_id, folder=folder, account=account, last_uid=0)
                session.add(row)
        except IntegrityError:  # another node created it in the meantime
            row = (await session.scalars(query)).one()
    row.account = account
    return Position(row.id, row.uidvalidity, row.last_uid)


async def reset(session: AsyncSession, mailbox_id: int, uidvalidity: int) -> None:
    """A new UIDVALIDITY: every UID is new again (the SHA-256 check keeps what we have from coming twice)."""
    await session.execute(
        update(ImapMailbox).where(ImapMailbox.id == mailbox_id).values(uidvalidity=uidvalidity, last_uid=0)
    )


async def advance(session: AsyncSession, mailbox_id: int, uidvalidity: int, uid: int) -> bool:
    """Move ``last_uid`` forward to ``uid`` in the caller's transaction.

    False when the row is already at or past ``uid`` (another node took this message) or its
    UIDVALIDITY changed: the caller must then not store the message.
    """
    found = await session.scalar(
        update(ImapMailbox)
        .where(
            ImapMailbox.id == mailbox_id,
            ImapMailbox.uidvalidity == uidvalidity,
            ImapMailbox.last_uid < uid,
        )
        .values(last_uid=uid, messages=ImapMailbox.messages + 1)
        .returning(ImapMailbox.id)
    )
    return found is not None


async def already_stored(session: AsyncSession, network_id: int, sha256: str) -> int | None:
    """The id of an inbound message of this network with exactly these bytes, if any."""
    return await session.scalar(
        select(InboundMessage.id)
        .where(InboundMessage.sha256 == sha256, InboundMessage.network_id == network_id)
        .limit(1)
    )


async def record_health(
    session: AsyncSession,
    mailbox_id: int,
    *,
    state: str,
    node: str,
    ok: bool = False,
    error: str | None = None,
    state_changed: bool = True,
) -> None:
    """Write the poller's state; ``ok`` stamps ``last_ok_at``, ``error`` the last error."""
    now = utcnow()
    values: dict[str, object] = {"state": state, "node": node[:64]}
    if state_changed:
        values["state_since"] = now
    if ok:
        values["last_ok_at"] = now
    if error is not None:
        values["last_error"] = error[:2000]
        values["last_error_at"] = now
    await session.execute(update(ImapMailbox).where(ImapMailbox.id == mailbox_id).values(**values))


@dataclass(frozen=True, slots=True)
class MailboxRow:
    """One line of ``save-relay status``."""

    network: str
    folder: str
    account: str
    state: str
    state_since: datetime
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    uidvalidity: int | None
    last_uid: int
    messages: int
    node: str


async def all_mailboxes(session: AsyncSession) -> list[MailboxRow]:
    rows = await session.execute(
        select(ImapMailbox, Network.slug)
        .join(Network, Network.id == ImapMailbox.network_id)
        .order_by(Network.slug, ImapMailbox.folder)
    )
    return [
        MailboxRow(
            network=slug,
            folder=box.folder,
            account=box.account,
            state=box.state,
            state_since=box.state_since,
            last_ok_at=box.last_ok_at,
            last_error=box.last_error,
            last_error_at=box.last_error_at,
            uidvalidity=box.uidvalidity,
            last_uid=box.last_uid,
            messages=box.messages,
            node=box.node,
        )
        for box, slug in rows
    ]
