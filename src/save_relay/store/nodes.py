"""The ``nodes`` table: each daemon's heartbeat, read by ``save-relay status``.

A daemon calls ``beat`` at its start and every ``status.heartbeat_seconds``, and ``stopped`` on a clean
shutdown. Two daemons with the same ``node_name`` share one row (the last writer wins): give each node
its own name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.store.tables import Node


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What a daemon says of itself in its heartbeat."""

    name: str
    pid: int
    hostname: str
    version: str
    started_at: datetime
    heartbeat_seconds: float
    listeners: list[str]


@dataclass(frozen=True, slots=True)
class NodeRow:
    name: str
    pid: int
    hostname: str
    version: str
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None
    heartbeat_seconds: float
    listeners: list[str]


async def beat(session: AsyncSession, node: NodeInfo, now: datetime) -> None:
    """Insert or refresh the node's row (seen now, not stopped); the caller commits."""
    values = {
        "pid": node.pid,
        "hostname": node.hostname,
        "version": node.version,
        "started_at": node.started_at,
        "last_seen_at": now,
        "stopped_at": None,
        "heartbeat_seconds": node.heartbeat_seconds,
        "listeners": list(node.listeners),
    }
    query = update(Node).where(Node.name == node.name).values(**values).returning(Node.name)
    if await session.scalar(query) is not None:
        return
    try:
        async with session.begin_nested():
            session.add(Node(name=node.name, **values))
    except IntegrityError:  # another process of the same name inserted it meanwhile
        await session.execute(update(Node).where(Node.name == node.name).values(**values))


async def stopped(session: AsyncSession, name: str, pid: int, now: datetime) -> None:
    """Mark the node stopped, if the row is still this process's."""
    await session.execute(
        update(Node).where(Node.name == name, Node.pid == pid).values(stopped_at=now, last_seen_at=now)
    )


async def all_nodes(session: AsyncSession) -> list[NodeRow]:
    rows = await session.scalars(select(Node).order_by(Node.name))
    return [
        NodeRow(
            name=r.name,
            pid=r.pid,
            hostname=r.hostname,
            version=r.version,
            started_at=as_utc(r.started_at),
            last_seen_at=as_utc(r.last_seen_at),
            stopped_at=as_utc(r.stopped_at) if r.stopped_at else None,
            heartbeat_seconds=r.heartbeat_seconds,
            listeners=list(r.listeners or []),
        )
        for r in rows
    ]
