"""The audit log: every state change, with who, when and how, in one hash chain (core/chain.py).

An entry is chained when its session flushes: ``before_flush`` locks the chain head (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite transactions begin IMMEDIATE, so there is one writer anyway) before
the entries get their ids, and ``after_flush`` hashes them in id order and moves the head. The lock is
held until the transaction ends, so ids follow the chain and daemons sharing one database never fork
it; the price is that audited transactions commit one after the other, which the relay's rate allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import set_committed_value

from save_relay.core import chain
from save_relay.store.tables import AuditChainHead, AuditEntry

_HEAD_ID = 1
_LOCKED = "audit_chain_locked"


def record(
    session: AsyncSession,
    *,
    action: str,
    actor: str,
    via: str,
    network_id: int | None = None,
    object_ref: str | None = None,
    message_id: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit entry to the session's transaction (it commits with the change it describes)."""
    session.add(
        AuditEntry(
            action=action,
            actor=actor,
            via=via,
            network_id=network_id,
            object_ref=object_ref,
            message_id=message_id,
            detail=detail,
        )
    )


def content(entry: AuditEntry) -> dict[str, Any]:
    """The values of ``entry`` that the chain covers."""
    return {name: getattr(entry, name) for name in AuditEntry.CHAINED}


def _new_entries(session: Session) -> list[AuditEntry]:
    return [obj for obj in session.new if isinstance(obj, AuditEntry)]


def _lock_head(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Take the chain head before new entries get their ids (see the module docstring)."""
    if not _new_entries(session) or session.info.get(_LOCKED):
        return
    connection = session.connection()
    query = select(AuditChainHead.last_id).where(AuditChainHead.id == _HEAD_ID)
    if connection.scalar(query.with_for_update()) is None:
        connection.execute(insert(AuditChainHead).values(id=_HEAD_ID, last_id=0, last_hash=chain.GENESIS))
    session.info[_LOCKED] = True


def _chain_new(session: Session, _flush: UOWTransaction) -> None:
    """Hash the entries just inserted, in id order, after the head; then move the head."""
    entries = sorted(_new_entries(session), key=lambda entry: entry.id)
    if not entries:
        return
    connection = session.connection()
    prev = connection.scalar(select(AuditChainHead.last_hash).where(AuditChainHead.id == _HEAD_ID))
    prev = prev or chain.GENESIS
    for entry in entries:
        sealed = chain.seal(prev, content(entry))
        values = {"content_hash": sealed.content_hash, "prev_hash": prev, "entry_hash": sealed.entry_hash}
        connection.execute(update(AuditEntry).where(AuditEntry.id == entry.id).values(values))
        for name, value in values.items():
            set_committed_value(entry, name, value)
        prev = sealed.entry_hash
    connection.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == _HEAD_ID)
        .values(last_id=entries[-1].id, last_hash=prev)
    )


def _forget_lock(session: Session, *_args: object) -> None:
    session.info.pop(_LOCKED, None)


event.listen(Session, "before_flush", _lock_head)
event.listen(Session, "after_flush", _chain_new)
event.listen(Session, "after_transaction_end", _forget_lock)


# --- reading -------------------------------------------------------------------------------------


async def entries_about(session: AsyncSession, object_ref: str) -> list[AuditEntry]:
    """The audit entries about one object (a report's reference), oldest first."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.object_ref == object_ref).order_by(AuditEntry.id)
    )
    return list(rows)


async def listing(
    session: AsyncSession,
    *,
    action: str | None = None,
    actor: str | None = None,
    object_ref: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest ``limit`` entries that match every filter given, oldest first."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(func.lower(AuditEntry.actor) == actor.lower())
    if object_ref:
        query = query.where(AuditEntry.object_ref == object_ref)
    if since:
        query = query.where(AuditEntry.at >= since)
    rows = await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def _row(entry: AuditEntry) -> chain.Row:
    return chain.Row(
        id=entry.id,
        action=entry.action,
        digest_now=chain.content_digest(content(entry)),
        content_hash=entry.content_hash,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
        detail=entry.detail if isinstance(entry.detail, dict) else {},
    )


async def verify(session: AsyncSession) -> chain.Report:
    """Walk the whole chain (see ``core.chain.walk``)."""
    rows = await session.scalars(
        select(AuditEntry).order_by(AuditEntry.id).execution_options(populate_existing=True)
    )
    head = (await session.execute(select(AuditChainHead.last_id, AuditChainHead.last_hash))).first()
    return chain.walk([_row(entry) for entry in rows], (head[0], head[1]) if head else (0, chain.GENESIS))


async def redact(session: AsyncSession, pseudonym: str, *, actor: str) -> int:
    """After an erasure rewrote rows to ``pseudonym``: chain a record of the rewritten entries' new
    digests (the erasure keeps the chain verifiable; see core/chain.py). Returns how many."""
    needle = pseudonym.lower()
    rows: Sequence[AuditEntry] = list(
        await session.scalars(
            select(AuditEntry)
            .where(
                func.lower(AuditEntry.actor).contains(needle, autoescape=True)
                | func.lower(AuditEntry.object_ref).contains(needle, autoescape=True)
                | func.lower(AuditEntry.message_id).contains(needle, autoescape=True)
                | func.lower(cast(AuditEntry.detail, Text)).contains(needle, autoescape=True)
            )
            .where(AuditEntry.content_hash.is_not(None))
            .order_by(AuditEntry.id)
            .execution_options(populate_existing=True)
        )
    )
    rewritten = {
        str(entry.id): digest
        for entry in rows
        if (digest := chain.content_digest(content(entry))) != entry.content_hash
    }
    if rewritten:
        record(session, action=chain.REDACTED, actor=actor, via="system", rewritten=rewritten)
    return len(rewritten)
