"""The IMAP intake: watch a hosted mailbox and feed each new message to the same ``Intake`` as SMTP.

For every message, in UID order:

1. fetch it (``BODY.PEEK[]``: nothing changes on the server yet);
2. in ONE transaction: move the mailbox's ``last_uid`` forward (a conditional UPDATE, so two nodes never
   both take a message), skip it if its SHA-256 is already stored for this network, else store it
   exactly as an SMTP message for the route its delivery headers name;
3. only after the commit, move it to ``move_to`` (or flag it ``\\Seen`` + ``flag_keyword``).

A crash between 2 and 3 leaves a message with UID <= last_uid in the folder: on every (re)connect these
are filed without being stored again. A new UIDVALIDITY restarts the UIDs at 0 and the SHA-256 check
keeps what is already stored from coming twice. Mail over ``smtp.max_message_size`` is not stored but
filed in ``reject_to`` (or flagged ``reject_keyword``) with an audit entry.

Any error drops the connection; the poller reconnects with exponential backoff and jitter, logs each
change of state once, and keeps its health in memory (``health``) and in the database (``save-relay
status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime

from save_relay.core.clock import utcnow
from save_relay.core.context import NetworkRef
from save_relay.core.settings import ImapSettings
from save_relay.intake.imap_client import Candidate, ConnectionLost, ImapConnection, LoginFailed
from save_relay.intake.imap_policy import (
    Disposition,
    disposition,
    envelope_sender,
    headers_of,
    retry_delay,
    route_for,
    server_busy,
)
from save_relay.intake.service import Intake, Stored
from save_relay.store import audit
from save_relay.store import imap as imap_store

log = logging.getLogger(__name__)

Hook = Callable[[int], Awaitable[None]]


@dataclass(slots=True)
class MailboxHealth:
    """What ``save-relay status`` shows, as the running poller sees it."""

    network: str
    account: str
    folder: str
    state: str = "starting"  # connecting, ready, backoff, stopped
    since: datetime = field(default_factory=utcnow)
    last_ok_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    mode: str = ""  # "IDLE" or "polling every N s"
    taken: int = 0  # messages stored by this process

    @property
    def healthy(self) -> bool:
        return self.state == "ready"


def describe(exc: BaseException) -> str:
    """One line for the log and the status: what went wrong, without a traceback."""
    if isinstance(exc, LoginFailed):
        return f"login failed: {exc}"
    if isinstance(exc, ConnectionLost):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return f"TLS error: {exc}"
    if isinstance(exc, TimeoutError):
        return f"timeout: {exc}" if str(exc) else "timeout"
    if isinstance(exc, OSError):
        return f"network error: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


class ImapPoller:
    """Watches one network's mailbox until cancelled."""

    def __init__(
        self,
        intake: Intake,
        network: NetworkRef,
        conf: ImapSettings,
        *,
        node: str = "",
        rand: Callable[[], float] = random.random,
        before_filing: Hook | None = None,
    ) -> None:
        """``before_filing(uid)`` runs between the commit and the move/flag: a seam for crash tests."""
        self.intake = intake
        self.network = network
        self.conf = conf
        self.node = node
        self.rand = rand
        self.before_filing = before_filing
        self.max_size = intake.settings.smtp.max_message_size
        self.health = MailboxHealth(network.key, conf.account, conf.folder)
        self.connection: ImapConnection | None = None
        self._mailbox_id: int | None = None
        self._uidvalidity = 0
        self._last_uid = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._waiting = False  # in IDLE, a poll wait or a backoff sleep: safe to cancel at once
        self._timeouts = 0  # timeouts since the mailbox last answered a whole round (``_failed``)

    @property
    def log_fields(self) -> dict[str, str]:
        """The fields of every log line about this mailbox."""
        return {"network": self.network.key, "mailbox": f"{self.conf.account}/{self.conf.folder}"}

    @property
    def label(self) -> str:
        return f"imap {self.network.key} ({self.conf.account} {self.conf.folder})"

    # -- the loop ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop soon: at once when waiting, else as soon as the message in hand is filed.

        (Cancelling at any point is safe too: a message committed but not filed is filed at the next
        start.)
        """
        self._stopping = True
        if self._waiting and self._task is not None:
            self._task.cancel()

    async def run(self) -> None:
        """Connect, take mail, wait, repeat; reconnect after any failure; until ``stop()`` or cancelled."""
        self._task = asyncio.current_task()
        try:
            while not self._stopping:
                connection = self.connection = ImapConnection(self.conf)
                failure: Exception | None = None
                try:
                    await self._session(connection)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failure = exc
                finally:
                    await connection.close()
                    self.connection = None
                if failure is not None:
                    await self._failed(failure)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._set_state("stopped"))

    async def _failed(self, exc: Exception) -> None:
        """Wait before reconnecting. A session that logs in and then times out (a server stuck on a
        lock) counts its timeouts on, although the login reset ``failures``: repeated timeouts back off
        like failed connects instead of reconnecting every few hundred ms until the server refuses
        more sessions; a ``[LIMIT]``/``[UNAVAILABLE]`` refusal waits as long as a refused login."""
        self.health.failures += 1
        reason = describe(exc)
        if isinstance(exc, TimeoutError):
            self._timeouts += 1
        failures = max(self.health.failures, self._timeouts)
        delay = retry_delay(
            failures,
            base=self.conf.backoff_base_seconds,
            cap=self.conf.backoff_max_seconds,
            rand=self.rand(),
            auth_failed=isinstance(exc, LoginFailed) or server_busy(reason),
            auth_floor=self.conf.auth_retry_seconds,
        )
        log.warning(
            "%s: %s; reconnecting in %.1f s (failure %d)",
            self.label,
            reason,
            delay,
            failures,
            extra={"action": "imap_backoff", **self.log_fields, "delay": round(delay, 2)},
        )
        await self._set_state("backoff", error=reason)
        await self._wait(asyncio.sleep(delay))

    async def _wait(self, awaitable: Awaitable[object]) -> None:
        """Await something that may be cut short by ``stop()`` (when already stopping, a coroutine is
        closed unawaited, so Python never warns of one left behind)."""
        if self._stopping:
            if isinstance(awaitable, Coroutine):
                awaitable.close()
            return
        self._waiting = True
        try:
            await awaitable
        finally:
            self._waiting = False

    async def _session(self, connection: ImapConnection) -> None:
        conf = self.conf
        if self.health.failures == 0:  # while retrying, the state stays "backoff" until a success
            await self._set_state("connecting")
        await connection.open()
        if conf.after == "move":
            await connection.ensure_folder(conf.move_to)
            await connection.ensure_folder(conf.reject_to)
        uidvalidity = await connection.select(conf.folder)
        await self._resume(uidvalidity)
        await self._reconcile(connection)
        self.health.failures = 0
        self.health.mode = "IDLE" if connection.idle_supported else f"polling every {conf.poll_seconds:g} s"
        await self._set_state("ready", ok=True)
        while not self._stopping:
            await self._take_new(connection)
            self._timeouts = 0  # the mailbox answered a whole round: the server works again
            await self._wait(connection.wait_for_mail())
            await self._heartbeat()

    # -- position ---------------------------------------------------------------------------------

    async def _resume(self, uidvalidity: int) -> None:
        """Load (or create) the stored position; a changed UIDVALIDITY starts the UIDs over."""
        async with self.intake.sessions() as session, session.begin():
            position = await imap_store.open_mailbox(
                session, self.network.id, self.conf.folder, self.conf.account
            )
            last_uid = position.last_uid
            if position.uidvalidity != uidvalidity:
                if position.uidvalidity is not None:
                    log.warning(
                        "%s: UIDVALIDITY changed from %d to %d; every message in the folder is looked at "
                        "again (those already stored are recognised by their SHA-256)",
                        self.label,
                        position.uidvalidity,
                        uidvalidity,
                        extra={"action": "imap_uidvalidity_changed", **self.log_fields},
                    )
                await imap_store.reset(session, position.mailbox_id, uidvalidity)
                last_uid = 0
        self._mailbox_id, self._uidvalidity, self._last_uid = position.mailbox_id, uidvalidity, last_uid

    def _filed(self, candidate: Candidate) -> bool:
        """In flag mode: already flagged by us (after a UIDVALIDITY reset, say)."""
        if self.conf.after != "flag":
            return False
        names = {self.conf.flag_keyword.lower(), self.conf.reject_keyword.lower()}
        return not names.isdisjoint(candidate.flags)

    async def _reconcile(self, connection: ImapConnection) -> None:
        """File what was committed but not yet moved or flagged when we last stopped."""
        if self._last_uid < 1:
            return
        leftovers = [c for c in await connection.candidates(1, self._last_uid) if not self._filed(c)]
        if not leftovers:
            return
        by_disposition: dict[Disposition, list[int]] = {}
        for candidate in leftovers:
            by_disposition.setdefault(disposition(candidate.size, self.max_size), []).append(candidate.uid)
        for what, uids in by_disposition.items():
            await connection.file(uids, what)
        log.info(
            "%s: filed %d message(s) already taken before a restart or reconnect (not stored again)",
            self.label,
            len(leftovers),
            extra={
                "action": "imap_reconciled",
                **self.log_fields,
                "uids": [c.uid for c in leftovers],
            },
        )

    # -- taking mail ------------------------------------------------------------------------------

    async def _take_new(self, connection: ImapConnection) -> None:
        for candidate in await connection.candidates(self._last_uid + 1):
            if self._stopping:
                return
            await self._take(connection, candidate)

    async def _take(self, connection: ImapConnection, candidate: Candidate) -> None:
        uid = candidate.uid
        if self._filed(candidate):
            await self._commit(uid, None, candidate.size, already_filed=True)
            return
        what = disposition(candidate.size, self.max_size)
        raw: bytes | None = None
        if what is Disposition.PROCESSED:
            raw = await connection.fetch(uid, candidate.size)
            if raw is None:
                log.info(
                    "%s: UID %d vanished before it was fetched",
                    self.label,
                    uid,
                    extra={"action": "imap_vanished", "uid": uid, **self.log_fields},
                )
                return
        if not await self._commit(uid, raw, candidate.size):
            return
        if self.before_filing is not None:
            await self.before_filing(uid)
        await connection.file([uid], what)

    async def _commit(self, uid: int, raw: bytes | None, size: int, *, already_filed: bool = False) -> bool:
        """Advance the UID and store the message in one transaction; False if another node has it."""
        assert self._mailbox_id is not None
        network = self.network
        stored: list[Stored] = []
        duplicate_of: int | None = None
        mail_from = ""
        async with self.intake.sessions() as session, session.begin():
            if not await imap_store.advance(session, self._mailbox_id, self._uidvalidity, uid):
                self._last_uid = max(self._last_uid, uid)
                return False
            if already_filed:
                pass
            elif raw is None:
                reason = f"{size} bytes, over smtp.max_message_size ({self.max_size})"
                audit.record(
                    session,
                    action="imap_rejected",
                    actor="system",
                    via="imap",
                    network_id=network.id,
                    object_ref=f"{self.conf.folder} {self._uidvalidity}:{uid}",
                    reason=reason,
                    account=self.conf.account,
                )
                log.warning(
                    "%s: UID %d not taken in: %s; filed in %s",
                    self.label,
                    uid,
                    reason,
                    self.conf.reject_to if self.conf.after == "move" else self.conf.reject_keyword,
                    extra={"action": "imap_rejected", "uid": uid, **self.log_fields},
                )
            else:
                duplicate_of = await imap_store.already_stored(
                    session, network.id, hashlib.sha256(raw).hexdigest()
                )
                if duplicate_of is None:
                    headers = headers_of(raw)
                    route = route_for(self.intake.settings, network.key, headers)
                    mail_from = envelope_sender(headers)
                    stored = await self.intake.store(
                        session,
                        raw,
                        mail_from=mail_from,
                        routes=[route],
                        peer=f"{self.conf.host} {self.conf.folder} {self._uidvalidity}:{uid}",
                        via="imap",
                    )
        self._last_uid = uid
        if duplicate_of is not None:
            log.info(
                "%s: UID %d is a copy of inbound message %d (same SHA-256); not stored again",
                self.label,
                uid,
                duplicate_of,
                extra={"action": "imap_duplicate", "uid": uid, "inbound_id": duplicate_of, **self.log_fields},
            )
        if stored:
            self.health.taken += 1
            self.intake.committed(stored, mail_from=mail_from, via="imap", routes=[route])
        return True

    # -- health -----------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        self.health.last_ok_at = utcnow()
        await self._write_health(state_changed=False, ok=True)

    async def _set_state(self, state: str, *, error: str | None = None, ok: bool = False) -> None:
        health = self.health
        changed = state != health.state
        if changed:
            health.state, health.since = state, utcnow()
        if ok:
            health.last_ok_at = utcnow()
        if error is not None:
            health.last_error = error
        if changed and state == "ready":
            log.info(
                "%s: watching with %s; UIDVALIDITY %d, last UID %d",
                self.label,
                health.mode,
                self._uidvalidity,
                self._last_uid,
                extra={"action": "imap_ready", **self.log_fields},
            )
        elif changed and state in {"connecting", "stopped"}:
            log.info("%s: %s", self.label, state, extra={"action": f"imap_{state}", **self.log_fields})
        await self._write_health(state_changed=changed, ok=ok, error=error)

    async def _write_health(self, *, state_changed: bool, ok: bool, error: str | None = None) -> None:
        """Best effort: a database that is down must not stop the poller from retrying."""
        if self._mailbox_id is None:
            if self.health.state in {"connecting", "starting"}:
                return
            try:
                async with self.intake.sessions() as session, session.begin():
                    position = await imap_store.open_mailbox(
                        session, self.network.id, self.conf.folder, self.conf.account
                    )
                self._mailbox_id = position.mailbox_id
            except Exception:
                log.exception(
                    "%s: cannot record health",
                    self.label,
                    extra={"action": "imap_health_failed", **self.log_fields},
                )
                return
        try:
            async with self.intake.sessions() as session, session.begin():
                await imap_store.record_health(
                    session,
                    self._mailbox_id,
                    state=self.health.state,
                    node=self.node,
                    ok=ok,
                    error=error,
                    state_changed=state_changed,
                )
        except Exception:
            log.exception(
                "%s: cannot record health",
                self.label,
                extra={"action": "imap_health_failed", **self.log_fields},
            )
