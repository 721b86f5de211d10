"""``save-relay status``: the health of every configured IMAP mailbox, as the pollers recorded it.

A mailbox is healthy when its poller says ``ready`` and its last sign of life is recent enough for its
settings (a heartbeat comes after every IDLE renewal or poll). A daemon that died leaves ``ready`` in
the database, which then turns ``stale``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.core.settings import ImapSettings, Settings
from save_relay.store.imap import MailboxRow, all_mailboxes


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
