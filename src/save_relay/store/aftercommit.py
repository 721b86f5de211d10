"""Callbacks that run once the transaction they belong to is committed, and never if it rolls back.

A handler in the processor's batch counts its event (``core.metrics``) with ``after_commit``: the batch
may still roll back (and run again, one savepoint each), and a count must not precede the commit that
makes it true. A callback registered inside a SAVEPOINT goes with it: rolled back with it, or handed to
the enclosing transaction when the savepoint is released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_KEY = "save_relay_after_commit"
Callback = Callable[[], None]


def _pending(session: Session) -> list[tuple[SessionTransaction, Callback]]:
    found: list[tuple[SessionTransaction, Callback]] = session.info.setdefault(_KEY, [])
    return found


def after_commit(session: AsyncSession, callback: Callback) -> None:
    """Run ``callback`` after the commit of the session's transaction (drop it on rollback)."""
    sync = session.sync_session
    owner = sync.get_nested_transaction() or sync.get_transaction()
    if owner is None:  # no transaction: nothing to wait for
        callback()
        return
    _pending(sync).append((owner, callback))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.get(_KEY)
    if not pending:
        return
    nested = session.get_nested_transaction()
    if nested is not None:  # a savepoint released: its callbacks now wait for the enclosing transaction
        parent = nested.parent
        session.info[_KEY] = [(parent if owner is nested else owner, cb) for owner, cb in pending]
        return
    session.info[_KEY] = []
    for _, callback in pending:
        try:
            callback()
        except Exception:  # a metric must never break the work it counts
            log.exception("after-commit callback failed", extra={"action": "after_commit_failed"})


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_KEY)
    if pending:
        session.info[_KEY] = [(owner, cb) for owner, cb in pending if owner is not previous]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:  # the outermost: nothing left to wait for
        session.info.pop(_KEY, None)
