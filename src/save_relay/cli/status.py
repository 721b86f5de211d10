"""``save-relay status``: a monitoring check (Nagios-like) of everything sharing the database.

It reads, and never writes: the daemons' heartbeats (``nodes``), the moderation queue, the outbound
backlog and the IMAP mailboxes. The first line is the summary (``SAVE-RELAY OK: ...`` or
``SAVE-RELAY CRITICAL: ...`` with the reasons, then ``|`` and performance data); the exit code is 0
(ok) or 2 (critical): no node alive, the outbound stuck (a delivery has waited longer than
``status.stuck_after_seconds`` and none was sent in that time), or a mailbox not ok.

A node is alive when it was seen within three of its heartbeat intervals and did not stop. A mailbox is
healthy when its poller says ``ready`` and its last sign of life is recent enough for its settings (a
heartbeat comes after every IDLE renewal or poll). A daemon that died leaves ``ready`` in the database,
which then turns ``stale``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.cli.common import database, debugging, explain, mask, print_traceback, settings
from save_relay.core.clock import as_utc, utcnow
from save_relay.core.settings import ImapSettings, Settings
from save_relay.store.db import session_factory
from save_relay.store.health import Backlog, QueueSummary, backlog, queue_summary
from save_relay.store.imap import MailboxRow, all_mailboxes
from save_relay.store.nodes import NodeRow, all_nodes

OK, CRITICAL = 0, 2
ALIVE_BEATS = 3  # a node is alive when seen within this many of its heartbeat intervals


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    network: str
    account: str
    folder: str
    health: str  # ok, stale, backoff, connecting, stopped, never connected
    state: str
    since: str | None
    last_ok_at: str | None
    last_error: str | None
    last_error_at: str | None
    uidvalidity: int | None
    last_uid: int
    messages: int
    node: str

    @property
    def healthy(self) -> bool:
        return self.health == "ok"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def stale_after(conf: ImapSettings) -> timedelta:
    """How long without a heartbeat before a ``ready`` mailbox counts as stale."""
    interval = conf.idle_renew_seconds if conf.idle else conf.poll_seconds
    return timedelta(seconds=2 * interval + 2 * conf.timeout + 60)


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat(timespec="seconds") if value else None


def _health(conf: ImapSettings, row: MailboxRow | None, now: datetime) -> str:
    if row is None:
        return "never connected"
    if row.state != "ready":
        return row.state
    if row.last_ok_at is None or now - as_utc(row.last_ok_at) > stale_after(conf):
        return "stale"
    return "ok"


async def mailbox_status(session: AsyncSession, settings: Settings, now: datetime) -> list[MailboxStatus]:
    """One entry per network with an enabled ``[networks.X.imap]``."""
    rows = {(row.network, row.folder): row for row in await all_mailboxes(session)}
    out = []
    for key, network in settings.networks.items():
        conf = network.imap
        if conf is None or not conf.enabled:
            continue
        row = rows.get((key, conf.folder))
        out.append(
            MailboxStatus(
                network=key,
                account=conf.account,
                folder=conf.folder,
                health=_health(conf, row, now),
                state=row.state if row else "",
                since=_iso(row.state_since) if row else None,
                last_ok_at=_iso(row.last_ok_at) if row else None,
                last_error=row.last_error if row else None,
                last_error_at=_iso(row.last_error_at) if row else None,
                uidvalidity=row.uidvalidity if row else None,
                last_uid=row.last_uid if row else 0,
                messages=row.messages if row else 0,
                node=row.node if row else "",
            )
        )
    return out


def format_status(entries: list[MailboxStatus]) -> list[str]:
    """Human-readable lines, one block per mailbox."""
    if not entries:
        return ["no IMAP mailboxes configured"]
    lines = []
    for e in entries:
        lines.append(f"imap {e.network}: {e.health.upper()}  {e.account} {e.folder}")
        if e.state:
            lines.append(f"  state       {e.state} since {e.since} (node {e.node or '?'})")
            lines.append(f"  last ok     {e.last_ok_at or 'never'}")
            position = f"UIDVALIDITY {e.uidvalidity}, last UID {e.last_uid}, {e.messages} taken"
            lines.append(f"  position    {position}")
        if e.last_error:
            lines.append(f"  last error  {e.last_error_at}: {e.last_error}")
    return lines


# --------------------------------------------------------------------------------------------------
# nodes, queue, outbound: the whole check


def ago(seconds: float) -> str:
    """A duration for people: 45 s, 12 min, 3 h, 2 d."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


@dataclass(frozen=True, slots=True)
class NodeStatus:
    name: str
    state: str  # alive, stopped, lost
    pid: int
    hostname: str
    version: str
    started_at: str | None
    last_seen_at: str | None
    seen_seconds_ago: float
    stopped_at: str | None
    heartbeat_seconds: float
    listeners: list[str]


def node_status(row: NodeRow, now: datetime) -> NodeStatus:
    seen = _age(now, row.last_seen_at) or 0.0
    if row.stopped_at is not None:
        state = "stopped"
    elif seen <= ALIVE_BEATS * row.heartbeat_seconds:
        state = "alive"
    else:
        state = "lost"
    return NodeStatus(
        name=row.name,
        state=state,
        pid=row.pid,
        hostname=row.hostname,
        version=row.version,
        started_at=_iso(row.started_at),
        last_seen_at=_iso(row.last_seen_at),
        seen_seconds_ago=round(seen, 1),
        stopped_at=_iso(row.stopped_at),
        heartbeat_seconds=row.heartbeat_seconds,
        listeners=row.listeners,
    )


@dataclass(slots=True)
class Health:
    """What ``save-relay status`` found; ``code`` 0 (ok) or 2 (critical)."""

    problems: list[str] = field(default_factory=list)
    nodes: list[NodeStatus] = field(default_factory=list)
    queue: dict[str, Any] = field(default_factory=dict)
    outbound: dict[str, Any] = field(default_factory=dict)
    mailboxes: list[MailboxStatus] = field(default_factory=list)
    perfdata: dict[str, float] = field(default_factory=dict)

    @property
    def code(self) -> int:
        return CRITICAL if self.problems else OK

    @property
    def summary(self) -> str:
        if self.problems:
            text = "SAVE-RELAY CRITICAL: " + "; ".join(self.problems)
        else:
            alive = [n.name for n in self.nodes if n.state == "alive"]
            text = (
                f"SAVE-RELAY OK: {len(alive)} node(s) alive ({', '.join(alive)}), "
                f"{self.queue.get('pending', 0)} pending report(s), "
                f"{self.outbound.get('waiting', 0)} delivery(ies) waiting"
            )
        perf = " ".join(f"{key}={value:g}" for key, value in self.perfdata.items())
        return mask(f"{text} | {perf}" if perf else text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "critical" if self.problems else "ok",
            "exit_code": self.code,
            "summary": self.summary,
            "problems": [mask(p) for p in self.problems],
            "nodes": [asdict(n) for n in self.nodes],
            "queue": self.queue,
            "outbound": {k: mask(v) if isinstance(v, str) else v for k, v in self.outbound.items()},
            "mailboxes": [e.as_dict() for e in self.mailboxes],
        }


def _judge_nodes(health: Health, rows: list[NodeRow], now: datetime) -> None:
    health.nodes = [node_status(row, now) for row in rows]
    alive = [n for n in health.nodes if n.state == "alive"]
    health.perfdata["nodes_alive"] = len(alive)
    if alive:
        return
    if not health.nodes:
        health.problems.append("no node alive (no daemon has run on this database: start save-relay serve)")
        return
    last = max(health.nodes, key=lambda n: n.last_seen_at or "")
    how = "stopped" if last.state == "stopped" else "last seen"
    health.problems.append(f"no node alive ({last.name} {how} {ago(last.seen_seconds_ago)} ago)")


def _judge_queue(health: Health, queue: QueueSummary, now: datetime) -> None:
    oldest = _age(now, queue.oldest_pending_at)
    health.queue = {
        "pending": queue.pending,
        "oldest_pending_at": _iso(queue.oldest_pending_at),
        "oldest_pending_seconds": round(oldest, 1) if oldest is not None else None,
    }
    health.perfdata["pending"] = queue.pending
    health.perfdata["oldest_pending_s"] = round(oldest or 0)


def _judge_outbound(health: Health, found: Backlog, now: datetime, stuck_after: timedelta) -> None:
    waiting_for = _age(now, found.oldest_waiting_since)
    due_for = _age(now, found.oldest_due_at)
    health.outbound = {
        "waiting": found.waiting,
        "due": found.due,
        "oldest_waiting_since": _iso(found.oldest_waiting_since),
        "oldest_waiting_seconds": round(waiting_for, 1) if waiting_for is not None else None,
        "oldest_due_at": _iso(found.oldest_due_at),
        "oldest_due_seconds": round(due_for, 1) if due_for is not None else None,
        "sent_in_window": found.sent_since,
        "window_seconds": stuck_after.total_seconds(),
        "last_sent_at": _iso(found.last_sent_at),
        "last_error": found.last_error,
    }
    health.perfdata.update(
        waiting=found.waiting, due=found.due, oldest_waiting_s=round(waiting_for or 0), sent=found.sent_since
    )
    if waiting_for is not None and waiting_for > stuck_after.total_seconds() and found.sent_since == 0:
        error = f"; last error: {found.last_error}" if found.last_error else ""
        health.problems.append(
            f"outbound stuck: {found.waiting} delivery(ies) waiting, the oldest for {ago(waiting_for)}, "
            f"none sent in the last {ago(stuck_after.total_seconds())}{error}"
        )


async def check(session: AsyncSession, conf: Settings, now: datetime) -> Health:
    health = Health()
    _judge_nodes(health, await all_nodes(session), now)
    _judge_queue(health, await queue_summary(session), now)
    stuck_after = timedelta(seconds=conf.status.stuck_after_seconds)
    _judge_outbound(health, await backlog(session, now, stuck_after), now, stuck_after)
    health.mailboxes = await mailbox_status(session, conf, now)
    health.problems += [
        f"imap {m.network}: {m.health.upper()}" + (f" ({m.last_error})" if m.last_error else "")
        for m in health.mailboxes
        if not m.healthy
    ]
    return health


def format_health(health: Health) -> list[str]:
    """The summary line, then a block per part."""
    lines = [health.summary, "nodes:"]
    if not health.nodes:
        lines.append("  (none has ever run on this database)")
    for n in health.nodes:
        when = f"seen {ago(n.seen_seconds_ago)} ago" if n.state != "stopped" else f"stopped {n.stopped_at}"
        lines.append(
            f"  {n.name:<12} {n.state.upper():<8} pid {n.pid} on {n.hostname or '?'}, "
            f"save-relay {n.version}, up since {n.started_at}, {when}"
        )
        if n.listeners:
            lines.append(f"  {'':<12} {', '.join(n.listeners)}")
    q = health.queue
    oldest = q.get("oldest_pending_seconds")
    lines.append("moderation queue:")
    pending = f"  pending     {q.get('pending', 0)}"
    if oldest is not None:
        pending += f", the oldest received {ago(oldest)} ago ({q['oldest_pending_at']})"
    lines.append(pending)
    o = health.outbound
    lines.append("outbound:")
    waiting = f"  waiting     {o.get('waiting', 0)}, due now {o.get('due', 0)}"
    if o.get("oldest_waiting_seconds") is not None:
        waiting += f", the oldest waiting for {ago(o['oldest_waiting_seconds'])}"
    lines.append(waiting)
    lines.append(
        f"  sent        {o.get('sent_in_window', 0)} in the last {ago(o.get('window_seconds', 0))}"
        + (f", the last at {o['last_sent_at']}" if o.get("last_sent_at") else "")
    )
    if o.get("last_error"):
        lines.append(f"  last error  {o['last_error']}")
    lines += format_status(health.mailboxes)
    return [mask(line) for line in lines]


def status(as_json: Annotated[bool, typer.Option("--json", help="the same as JSON")] = False) -> None:
    """A monitoring check: nodes, moderation queue, outbound backlog, IMAP mailboxes. Exits 0 when all
    is well, 2 (critical) when no node is alive, the outbound is stuck or a mailbox is failing."""

    async def go() -> Health:
        async with database() as engine, session_factory(engine)() as session:
            return await check(session, settings(), utcnow())

    try:
        health = asyncio.run(go())
    except Exception as exc:  # the database cannot be read: critical, the reason is the summary line
        if debugging():
            print_traceback()
        summary = mask(f"SAVE-RELAY CRITICAL: {explain(exc)}")
        body = {"status": "critical", "exit_code": CRITICAL, "summary": summary, "problems": [summary]}
        typer.echo(json.dumps(body, indent=2) if as_json else summary)
        raise typer.Exit(CRITICAL) from None
    if as_json:
        typer.echo(json.dumps(health.as_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo("\n".join(format_health(health)))
    raise typer.Exit(health.code)
