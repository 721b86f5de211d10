"""One IMAP session with a watched folder, over aioimaplib: TLS, login, UID commands and IDLE.

Every command is raced against the connection's loss and a timeout, so a dead server or a cut cable
surfaces as an exception at once (aioimaplib alone would wait forever on a command whose answer never
comes). Any exception means "drop this connection": the poller reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import shlex
import ssl
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib
from aioimaplib.aioimaplib import STOP_WAIT_SERVER_PUSH, Command

from save_relay.core.errors import SaveRelayError
from save_relay.core.settings import ImapSettings
from save_relay.intake.imap_policy import Disposition

log = logging.getLogger(__name__)

T = TypeVar("T")

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_EXISTS = re.compile(rb"^(?:\* )?\d+ EXISTS")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?P<delim>\\.|[^"])"|NIL) ')
_CHUNK = 200  # UIDs per MOVE/STORE command


class ImapError(SaveRelayError):
    """The server refused a command, or spoke nonsense."""


class LoginFailed(ImapError):
    """Credentials refused (or no token): retried, but slowly."""


class ConnectionLost(ImapError):
    """The server closed the connection (or it broke)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A message in the folder: its UID, size in bytes and flags (lower-cased)."""

    uid: int
    size: int
    flags: frozenset[str]


def quote(value: str) -> str:
    """An IMAP quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_mailbox(name: str, delimiter: str | None) -> str:
    """A folder name from the settings (``/`` for hierarchy) as an IMAP argument: the server's
    delimiter, modified UTF-7 (RFC 3501 5.1.3) for non-ASCII, quoted."""
    if delimiter and delimiter != "/":
        name = name.replace("/", delimiter)
    return quote(_utf7(name))


def _utf7(text: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = "".join(pending).encode("utf-16-be")
            b64 = base64.b64encode(encoded).decode("ascii").rstrip("=").replace("/", ",")
            out.append(f"&{b64}-")
            pending.clear()

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def uid_sets(uids: Iterable[int]) -> list[str]:
    """``1,2,3`` strings of at most _CHUNK UIDs each."""
    ordered = sorted(set(uids))
    return [",".join(map(str, ordered[i : i + _CHUNK])) for i in range(0, len(ordered), _CHUNK)]


def parse_candidates(lines: Sequence[Any]) -> list[Candidate]:
    """``N FETCH (UID u RFC822.SIZE s FLAGS (...))`` lines, in any item order."""
    found: list[Candidate] = []
    for line in lines:
        if not isinstance(line, bytes) or not _FETCH_START.match(line):
            continue
        uid, size, flags = _UID.search(line), _SIZE.search(line), _FLAGS.search(line)
        if uid is None or size is None:
            continue
        names = flags.group(1).decode("ascii", "replace").lower().split() if flags else []
        found.append(Candidate(int(uid.group(1)), int(size.group(1)), frozenset(names)))
    return sorted(found, key=lambda c: c.uid)


def parse_body(lines: Sequence[Any], uid: int) -> bytes | None:
    """The literal of ``BODY[]`` in the FETCH item whose UID is ``uid`` (None if the message is gone)."""
    text = b""
    literal: bytes | None = None
    for line in [*lines, b"0 FETCH ("]:  # a sentinel closes the last item
        if isinstance(line, bytes) and _FETCH_START.match(line):
            found = _UID.search(text)
            if literal is not None and found is not None and int(found.group(1)) == uid:
                return literal
            text, literal = line, None
        elif isinstance(line, bytearray):
            if literal is None:
                literal = bytes(line)
        elif isinstance(line, bytes):
            text += b" " + line
    return None


async def access_token(command: str, timeout: float) -> str:  # noqa: ASYNC109 - the command's own limit
    """Run ``oauth2_token_command`` (no shell) and return what it prints."""
    args = shlex.split(command)
    if not args:
        raise LoginFailed("oauth2_token_command is empty")
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        raise LoginFailed(f"cannot run oauth2_token_command: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise LoginFailed(f"oauth2_token_command took longer than {timeout:g} s") from None
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace").strip()[-300:]
        raise LoginFailed(f"oauth2_token_command exited with {process.returncode}: {detail}")
    token = out.decode("utf-8", "replace").strip()
    if not token:
        raise LoginFailed("oauth2_token_command printed no token")
    return token


class ImapConnection:
    """A logged-in session on ``conf.folder``; ``open()`` first, ``close()`` always."""

    def __init__(self, conf: ImapSettings) -> None:
        self.conf = conf
        self.timeout = conf.timeout
        self.delimiter: str | None = None
        self._client: aioimaplib.IMAP4 | None = None
        self._lost: asyncio.Future[BaseException | None] | None = None
        self._exists_seen = False  # an untagged EXISTS since the last listing
        self._timed_out = False  # a command went unanswered: no polite LOGOUT on this connection

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def client(self) -> aioimaplib.IMAP4:
        if self._client is None:
            raise ConnectionLost("not connected")
        return self._client

    def has(self, capability: str) -> bool:
        return capability in self.client.protocol.capabilities

    @property
    def idle_supported(self) -> bool:
        return self.conf.idle and self.has("IDLE")

    def _on_lost(self, exc: BaseException | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(exc)

    async def _call(self, awaitable: Awaitable[T], what: str, timeout: float | None = None) -> T:  # noqa: ASYNC109
        """Await ``awaitable`` unless the connection drops or ``timeout`` passes first."""
        assert self._lost is not None
        task = asyncio.ensure_future(awaitable)
        waiting: set[asyncio.Future[Any]] = {task, self._lost}
        try:
            done, _ = await asyncio.wait(
                waiting, timeout=timeout or self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if self._lost.done():
            reason = self._lost.result()
            raise ConnectionLost(f"connection lost during {what}" + (f": {reason}" if reason else ""))
        self._timed_out = True
        raise TimeoutError(f"no answer to {what} within {timeout or self.timeout:g} s")

    async def _ok(self, awaitable: Awaitable[Any], what: str) -> Any:
        """Run a command and insist on OK."""
        response = await self._call(awaitable, what)
        if response.result != "OK":
            raise ImapError(f"{what} refused: {response.result} {_last_text(response.lines)}")
        return response

    # -- session ----------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        cafile = str(self.conf.ca_file) if self.conf.ca_file else None
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)

    async def open(self) -> None:
        """Connect, secure (implicit TLS or STARTTLS), log in and learn the capabilities and delimiter."""
        conf = self.conf
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        context = self._tls_context() if conf.tls == "implicit" else None
        self._client = client = aioimaplib.IMAP4(
            host=conf.host,
            port=conf.effective_port,
            timeout=self.timeout,
            conn_lost_cb=self._on_lost,
            ssl_context=context,
        )
        self._watch_exists(client.protocol)
        await self._call(client.wait_hello_from_server(), "the greeting")
        if conf.tls == "starttls":
            await self._starttls()
        if conf.oauth2_token_command is not None:
            token = await access_token(conf.oauth2_token_command, self.timeout)
            response = await self._call(client.xoauth2(conf.user, token), "AUTHENTICATE XOAUTH2")
        else:
            response = await self._call(client.login(quote(conf.user), conf.password or ""), "LOGIN")
        if response.result != "OK":
            raise LoginFailed(f"login as {conf.user} refused: {_last_text(response.lines)}")
        await self._call(client.protocol.capability(), "CAPABILITY")  # those after login count
        listing = await self._ok(client.list('""', '""'), "LIST")
        for line in listing.lines:
            match = _LIST.match(line) if isinstance(line, bytes) else None
            if match and match.group("delim"):
                self.delimiter = match.group("delim").decode()[-1]

    def _watch_exists(self, protocol: Any) -> None:
        """Note every untagged ``* N EXISTS``, whatever command it came with.

        Dovecot reports new mail with the answer to any command (our UID FETCH or MOVE, say), and
        aioimaplib drops untagged lines it cannot attribute; the server does not repeat them in IDLE.
        Without this, mail that arrives while we list or move would wait for the next IDLE renewal.
        """
        original = protocol._untagged_response

        def spy(line: bytes) -> Any:
            if _EXISTS.match(line):
                self._exists_seen = True
            return original(line)

        protocol._untagged_response = spy

    async def _starttls(self) -> None:
        client = self.client
        protocol = client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("tls = starttls, but the server does not offer STARTTLS")
        command = Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        await self._ok(protocol.execute(command), "STARTTLS")
        loop = asyncio.get_running_loop()
        transport = await self._call(
            loop.start_tls(protocol.transport, protocol, self._tls_context(), server_hostname=self.conf.host),
            "the TLS handshake",
        )
        protocol.transport = transport
        await self._call(protocol.capability(), "CAPABILITY")  # RFC 3501 6.2.1: ask again after TLS

    async def ensure_folder(self, name: str) -> None:
        """Create ``name`` unless it exists (the move targets)."""
        encoded = encode_mailbox(name, self.delimiter)
        listing = await self._ok(self.client.list('""', encoded), f"LIST {encoded}")
        if any(isinstance(line, bytes) and _LIST.match(line) for line in listing.lines):
            return
        response = await self._call(self.client.create(encoded), f"CREATE {encoded}")
        if response.result != "OK" and b"ALREADYEXISTS" not in b" ".join(_bytes(response.lines)):
            raise ImapError(f"cannot create folder {name!r}: {_last_text(response.lines)}")
        log.info("created IMAP folder %s", name, extra={"action": "imap_folder_created", "mailbox": name})

    async def select(self, name: str) -> int:
        """Select ``name`` read-write; returns its UIDVALIDITY."""
        encoded = encode_mailbox(name, self.delimiter)
        response = await self._ok(self.client.select(encoded), f"SELECT {encoded}")
        lines = _bytes(response.lines)
        if any(b"[READ-ONLY]" in line for line in lines):
            raise ImapError(f"folder {name!r} is read-only for this user; cannot move or flag mail")
        for line in lines:
            match = _UIDVALIDITY.search(line)
            if match:
                return int(match.group(1))
        raise ImapError(f"SELECT {name!r} gave no UIDVALIDITY")

    async def candidates(self, first: int, last: int | None = None) -> list[Candidate]:
        """The messages with ``first <= UID (<= last)``, by UID."""
        if last is not None and last < first:
            return []
        span = f"{first}:{last if last is not None else '*'}"
        if last is None:
            self._exists_seen = False  # this listing covers everything reported so far
        response = await self._ok(self.client.uid("fetch", span, "(UID RFC822.SIZE FLAGS)"), "UID FETCH")
        # "N:*" also names the last message when every UID is below N: keep only the asked-for range.
        return [
            c for c in parse_candidates(response.lines) if c.uid >= first and (last is None or c.uid <= last)
        ]

    async def fetch(self, uid: int, size: int) -> bytes | None:
        """The whole message, without setting \\Seen; None if it was expunged meanwhile.

        The timeout grows with ``size`` (at least 50 kB/s), so a big message on a slow link is not cut.
        """
        command = self.client.uid("fetch", str(uid), "(UID BODY.PEEK[])")
        response = await self._call(command, "UID FETCH", self.timeout + size / 50_000)
        if response.result != "OK":
            raise ImapError(f"UID FETCH {uid} refused: {response.result} {_last_text(response.lines)}")
        return parse_body(response.lines, uid)

    async def file(self, uids: Sequence[int], disposition: Disposition) -> None:
        """Move or flag ``uids`` as the settings say, once the database has them."""
        if not uids:
            return
        conf = self.conf
        for uid_set in uid_sets(uids):
            if conf.after == "flag":
                flags = (
                    f"\\Seen {conf.flag_keyword}"
                    if disposition is Disposition.PROCESSED
                    else conf.reject_keyword
                )
                await self._ok(self.client.uid("store", uid_set, "+FLAGS.SILENT", f"({flags})"), "UID STORE")
            else:
                target = conf.move_to if disposition is Disposition.PROCESSED else conf.reject_to
                await self._move(uid_set, encode_mailbox(target, self.delimiter))

    async def _move(self, uid_set: str, target: str) -> None:
        client = self.client
        if self.has("MOVE"):
            await self._ok(client.uid("move", uid_set, target), "UID MOVE")
            return
        # RFC 6851's fallback: COPY, mark deleted, expunge (only these UIDs where UIDPLUS allows).
        await self._ok(client.uid("copy", uid_set, target), "UID COPY")
        await self._ok(client.uid("store", uid_set, "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
        if self.has("UIDPLUS"):
            await self._ok(client.uid("expunge", uid_set), "UID EXPUNGE")
        else:
            await self._ok(client.expunge(), "EXPUNGE")

    async def wait_for_mail(self) -> bool:
        """Return when the folder may have changed: IDLE where offered, else after ``poll_seconds``.

        True if the server said so (EXISTS), False after a quiet renew interval or poll.
        """
        if self._exists_seen:  # new mail was reported while we were busy: list again at once
            return True
        if not self.idle_supported:
            await self._call(
                asyncio.sleep(self.conf.poll_seconds), "the poll wait", self.conf.poll_seconds + 1
            )
            await self._ok(self.client.noop(), "NOOP")
            return False
        client = self.client
        queue = client.protocol.idle_queue
        while not queue.empty():  # leftovers of the previous round: we listed after them anyway
            queue.get_nowait()
        renew = self.conf.idle_renew_seconds
        idle = await self._call(client.idle_start(timeout=renew), "IDLE")
        try:
            while True:
                pushed = await self._call(client.wait_server_push(timeout=renew + 5), "IDLE", renew + 10)
                if pushed == STOP_WAIT_SERVER_PUSH:
                    return False
                if any(b"EXISTS" in line for line in _bytes(pushed)):
                    return True
        finally:
            if client.has_pending_idle():
                client.idle_done()
                task = asyncio.current_task()
                if task is None or not task.cancelling():  # shutting down: no need to wait for the OK
                    await self._call(asyncio.shield(idle), "DONE")

    def abort(self) -> None:
        """Drop the TCP connection at once (no LOGOUT)."""
        client = self._client
        if client is not None and client.protocol.transport is not None:
            client.protocol.transport.abort()

    async def close(self) -> None:
        """LOGOUT politely if the connection still works, then make sure it is closed."""
        client = self._client
        if client is None:
            return
        try:
            alive = self._lost is not None and not self._lost.done() and not self._timed_out
            if alive and client.get_state() != "LOGOUT":
                await self._call(client.logout(), "LOGOUT", timeout=min(self.timeout, 1.0))
        except Exception:  # noqa: S110 - a dying connection may refuse a polite goodbye
            pass
        finally:
            self.abort()
            for task in (client._client_task, *client.tasks, *client.protocol.tasks):
                task.cancel()
            self._client = None


def _bytes(lines: Iterable[Any]) -> list[bytes]:
    return [bytes(line) for line in lines if isinstance(line, bytes | bytearray)]


def _last_text(lines: Sequence[Any]) -> str:
    texts = _bytes(lines)
    return texts[-1].decode("utf-8", "replace") if texts else ""
