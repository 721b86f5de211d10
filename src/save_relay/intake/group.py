"""Group commit: the calls that arrive while one commit runs share the next transaction.

One committer task takes everything queued, commits it in one transaction (one ``BEGIN IMMEDIATE`` and
one fsync on SQLite, one round of statements and one commit on PostgreSQL) and only then hands each
caller its own result. Nobody waits for a timer: a lone call is committed at once, and a group forms
only from the calls that queued up behind the commit in progress.

A group whose statements fail is rolled back whole and every member is retried alone, so one bad
message never costs the others their 250 and nothing is stored twice. A failure of the commit itself
(``OutcomeUnknown``) is not retried: the group may be on disk already (a connection lost during COMMIT),
so each caller answers 451 and its sender retries, as with one message per transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from save_relay.core.errors import SaveRelayError

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


class OutcomeUnknown(SaveRelayError):
    """The commit itself failed: the transaction may or may not be on disk."""


class GroupClosed(SaveRelayError, RuntimeError):
    """``submit`` after ``close``: the relay is stopping."""


@dataclass(slots=True)
class _Entry(Generic[T, R]):
    item: T
    size: int
    future: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    """Batches concurrent ``submit`` calls; ``commit(items)`` stores a group and returns one result each."""

    def __init__(
        self,
        commit: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        size: Callable[[T], int],
        max_items: int = 100,
        max_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._commit = commit
        self._size = size
        self.max_items = max_items
        self.max_bytes = max_bytes  # bounds the memory and the length of one transaction
        self._queue: deque[_Entry[T, R]] = deque()
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        self.in_commit = 0  # calls in the transaction in progress

    @property
    def waiting(self) -> int:
        """Calls queued behind the commit in progress (not yet in a transaction)."""
        return len(self._queue)

    async def submit(self, item: T) -> R:
        """Returns ``item``'s result once its transaction is committed; raises if it was not stored."""
        if self.closed:
            raise GroupClosed("stopping: not accepting")
        entry: _Entry[T, R] = _Entry(item, self._size(item), asyncio.get_running_loop().create_future())
        self._queue.append(entry)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="group-commit")
        return await entry.future  # a cancelled caller cancels only its own future

    async def close(self) -> None:
        """Refuse new calls; commit the ones already queued (graceful stop)."""
        self.closed = True
        if self._task is not None:
            await asyncio.shield(self._task)

    def _take(self) -> list[_Entry[T, R]]:
        group: list[_Entry[T, R]] = []
        total = 0
        while self._queue and len(group) < self.max_items:
            entry = self._queue[0]
            if group and total + entry.size > self.max_bytes:
                break
            self._queue.popleft()
            if entry.future.done():  # its caller went away before the commit: store nothing for it
                continue
            group.append(entry)
            total += entry.size
        return group

    async def _run(self) -> None:
        group: list[_Entry[T, R]] = []
        try:
            while self._queue:
                group = self._take()
                self.in_commit = len(group)
                if group:
                    await self._commit_group(group)
                group = []
                self.in_commit = 0
        except BaseException as exc:  # cancelled with the loop, or a bug: nobody may wait forever
            self.in_commit = 0
            if isinstance(exc, Exception):
                log.exception("group commit failed", extra={"action": "group_commit_error"})
            for entry in [*group, *self._queue]:
                _fail(entry, GroupClosed("stopped before the commit"))
            self._queue.clear()
            if not isinstance(exc, Exception):
                raise

    async def _commit_group(self, group: list[_Entry[T, R]]) -> None:
        try:
            results = await self._commit([e.item for e in group])
        except OutcomeUnknown as exc:
            for entry in group:
                _fail(entry, exc)
            return
        except Exception as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            for entry in group:  # the group was rolled back: each one alone finds the bad one
                await self._commit_alone(entry)
            return
        for entry, result in zip(group, results, strict=True):
            if not entry.future.done():
                entry.future.set_result(result)

    async def _commit_alone(self, entry: _Entry[T, R]) -> None:
        try:
            (result,) = await self._commit([entry.item])
        except Exception as exc:
            _fail(entry, exc)
            return
        if not entry.future.done():
            entry.future.set_result(result)


def _fail(entry: _Entry[T, R], exc: Exception) -> None:
    if not entry.future.done():  # done: cancelled, its caller went away
        entry.future.set_exception(exc)
