"""GroupCommit without a database: who shares a transaction, who is retried alone, who gets an error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from save_relay.intake.group import GroupClosed, GroupCommit, OutcomeUnknown


class FakeStore:
    """Commits groups of strings; a group holding ``bad`` fails before its commit; ``gate`` holds a commit."""

    def __init__(self, bad: str = "", unknown: bool = False) -> None:
        self.bad = bad
        self.unknown = unknown  # the failure happens at COMMIT: outcome unknown
        self.groups: list[list[str]] = []  # every transaction tried
        self.stored: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit(self, items: Sequence[str]) -> list[str]:
        self.groups.append(list(items))
        await self.gate.wait()
        if self.bad in items:
            if self.unknown:
                raise OutcomeUnknown("connection lost during COMMIT")
            raise RuntimeError("disk on fire")
        self.stored.extend(items)
        return [f"ok:{item}" for item in items]


def group_of(store: FakeStore, **kw: int) -> GroupCommit[str, str]:
    return GroupCommit(store.commit, size=len, **kw)


async def hold_first(store: FakeStore, commit: GroupCommit[str, str], first: str) -> asyncio.Task[str]:
    """Start ``first``'s commit and keep it open, so that the next calls queue up behind it."""
    store.gate.clear()
    task = asyncio.create_task(commit.submit(first))
    while commit.in_commit != 1:
        await asyncio.sleep(0)
    return task


async def behind_first(store: FakeStore, commit: GroupCommit[str, str], items: list[str]) -> list[object]:
    """Commit ``items[0]`` alone, with the others queued behind it; each one's result or error."""
    first = await hold_first(store, commit, items[0])
    rest = [asyncio.create_task(commit.submit(x)) for x in items[1:]]
    while commit.waiting != len(rest):
        await asyncio.sleep(0)
    store.gate.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


async def test_calls_behind_a_commit_share_the_next_transaction() -> None:
    store = FakeStore()
    results = await behind_first(store, group_of(store), list("abcd"))
    assert results == ["ok:a", "ok:b", "ok:c", "ok:d"]
    assert store.groups == [["a"], ["b", "c", "d"]]


async def test_a_failing_group_is_retried_one_by_one_and_only_the_bad_one_fails() -> None:
    store = FakeStore(bad="c")
    results = await behind_first(store, group_of(store), list("abcd"))
    assert results[:2] == ["ok:a", "ok:b"] and results[3] == "ok:d"
    assert isinstance(results[2], RuntimeError)
    assert store.groups == [["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]
    assert sorted(store.stored) == ["a", "b", "d"]  # each once


async def test_an_unknown_commit_outcome_is_not_retried() -> None:
    store = FakeStore(bad="c", unknown=True)
    results = await behind_first(store, group_of(store), list("abcd"))
    assert results[0] == "ok:a"
    assert all(isinstance(r, OutcomeUnknown) for r in results[1:])
    assert store.groups == [["a"], ["b", "c", "d"]]  # may be on disk: trying again could store twice


async def test_groups_are_bounded_by_count_and_bytes() -> None:
    store = FakeStore()
    await behind_first(store, group_of(store, max_items=2, max_bytes=4), ["a", "b", "c", "dddd", "e"])
    assert store.groups == [["a"], ["b", "c"], ["dddd"], ["e"]]


async def test_a_caller_gone_before_its_commit_stores_nothing() -> None:
    store = FakeStore()
    commit = group_of(store)
    first = await hold_first(store, commit, "a")
    gone = asyncio.create_task(commit.submit("b"))
    stays = asyncio.create_task(commit.submit("c"))
    while commit.waiting != 2:
        await asyncio.sleep(0)
    gone.cancel()
    store.gate.set()
    assert await asyncio.gather(first, stays) == ["ok:a", "ok:c"]
    assert store.stored == ["a", "c"]


async def test_close_commits_what_is_queued_then_refuses() -> None:
    store = FakeStore()
    commit = group_of(store)
    first = await hold_first(store, commit, "a")
    queued = asyncio.create_task(commit.submit("b"))
    while commit.waiting != 1:
        await asyncio.sleep(0)
    closing = asyncio.create_task(commit.close())
    await asyncio.sleep(0)
    with pytest.raises(GroupClosed):
        await commit.submit("late")
    store.gate.set()
    await closing
    assert await asyncio.gather(first, queued) == ["ok:a", "ok:b"]
    assert store.stored == ["a", "b"]
