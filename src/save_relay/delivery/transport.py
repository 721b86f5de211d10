"""Where outbound mail goes: a Maildir outbox (the embedded default) or an SMTP smarthost.

Both answer each message with a SendResult; neither raises for a refused message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from itertools import count
from pathlib import Path
from typing import Protocol

import aiosmtplib

from save_relay.core.settings import OutboundSettings
from save_relay.delivery.retry import SendResult

log = logging.getLogger(__name__)


class Transport(Protocol):
    async def send(self, mail_from: str, recipient: str, data: bytes) -> SendResult: ...

    async def close(self) -> None: ...


class MaildirTransport:
    """Writes each message into ``<outbox>/new`` the way an MDA does (tmp, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        self._seq = count()
        self._host = socket.gethostname().replace("/", "_").replace(":", "_")

    def _write(self, mail_from: str, recipient: str, data: bytes) -> None:
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self._seq)}.{self._host}"
        head = f"Return-Path: <{mail_from}>\r\nDelivered-To: {recipient}\r\n".encode()
        tmp = self.path / "tmp" / name
        with open(tmp, "wb") as handle:
            handle.write(head + data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, self.path / "new" / name)

    async def send(self, mail_from: str, recipient: str, data: bytes) -> SendResult:
        try:
            await asyncio.to_thread(self._write, mail_from, recipient, data)
        except OSError as exc:
            return SendResult(451, f"outbox not writable: {exc}")
        return SendResult(250, "written to the outbox")

    async def close(self) -> None:
        return None


class SmtpTransport:
    """One persistent connection to the smarthost, reopened when it drops. Use one per worker task."""

    def __init__(self, settings: OutboundSettings, local_hostname: str) -> None:
        self.settings = settings
        self.local_hostname = local_hostname
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        conf = self.settings
        client = aiosmtplib.SMTP(
            hostname=conf.smarthost_host,
            port=conf.smarthost_port,
            timeout=conf.timeout,
            start_tls=conf.smarthost_starttls,
            local_hostname=self.local_hostname,
            username=conf.smarthost_username,
            password=conf.smarthost_password,
        )
        await client.connect()
        if client.last_ehlo_response is None and client.last_helo_response is None:
            try:  # the extensions (SIZE, SMTPUTF8) are needed before the first MAIL
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        self._client = client
        return client

    async def send(self, mail_from: str, recipient: str, data: bytes) -> SendResult:
        # MAIL, RCPT and DATA one by one rather than aiosmtplib's sendmail(), which parses every address
        # twice in pure Python (a third of the worker's CPU in the fan-out profile, bench/RESULTS.md).
        try:
            client = await self._connected()
            envelope = _envelope(client, mail_from, recipient, len(data))
            if isinstance(envelope, SendResult):
                return envelope
            options, encoding = envelope
            await client.mail(mail_from, options=options, encoding=encoding)
            await client.rcpt(recipient, encoding=encoding)
            await client.data(data)
        except aiosmtplib.SMTPResponseException as exc:  # MAIL, RCPT or DATA refused
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self._reset()
            return SendResult(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop()
            return SendResult(421, f"smarthost unreachable: {exc}")
        return SendResult(250, "accepted by the smarthost")

    async def _reset(self) -> None:
        if self._client is not None and self._client.is_connected:
            await self._client.rset()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _envelope(
    client: aiosmtplib.SMTP, mail_from: str, recipient: str, size: int
) -> tuple[list[str], str] | SendResult:
    """MAIL options and address encoding, or a permanent failure for an address the smarthost can't take."""
    options = [f"SIZE={size}"] if client.supports_extension("size") else []
    if mail_from.isascii() and recipient.isascii():
        return options, "ascii"
    if not client.supports_extension("smtputf8"):
        return SendResult(553, "5.6.7 non-ASCII address and the smarthost does not offer SMTPUTF8")
    return [*options, "SMTPUTF8"], "utf-8"
