"""The SMTP (and LMTP) listener: aiosmtpd speaks the protocol, a thin handler applies the policy."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from save_relay.core.metrics import Metrics
from save_relay.core.routing import Refusal
from save_relay.intake.limits import IntakeLimits
from save_relay.intake.recipients import Recipients
from save_relay.intake.service import Intake

log = logging.getLogger(__name__)

STORAGE_FAILURE = "451 4.3.0 Temporary storage failure; the message was not accepted, please retry later"
TIMEOUT_REPLY = b"421 4.4.2 Timeout: closing the connection\r\n"


class _Limited(SMTP):
    """Connection limit per client address (``RelayHandler.limits``) and a 421 before a timeout's close.

    aiosmtpd restarts its timer only when a command arrives, so ``smtp.timeout`` also bounds a whole
    DATA phase: a client dribbling its message forever is cut off like an idle one.
    """

    _limited_peer: str | None = None

    async def _handle_client(self) -> None:
        limits: IntakeLimits | None = getattr(self.event_handler, "limits", None)
        if limits is not None and self.session is not None:
            peer = _peer(self.session)
            refusal = limits.connect(peer)
            if refusal is not None:
                log.warning(
                    "refused connection from %s: %s", peer, refusal.reply, extra={"action": "conn_limited"}
                )
                await self.push(refusal.reply)
                if self.transport is not None:
                    self.transport.close()
                return
            self._limited_peer = peer
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        limits: IntakeLimits | None = getattr(self.event_handler, "limits", None)
        if limits is not None and self._limited_peer is not None:
            limits.disconnect(self._limited_peer)
            self._limited_peer = None
        super().connection_lost(error)

    def _timeout_cb(self) -> None:
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(TIMEOUT_REPLY)  # sent before the close (aiosmtpd just hangs up)
        super()._timeout_cb()  # type: ignore[no-untyped-call]


MIN_LINE_LENGTH = 16 * 1024

# aiosmtpd's replies that lack the RFC 3463 enhanced code, with the one their RFC gives (RFC 3207 4).
_ENHANCED = {"530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first"}


class _LongLines(SMTP):
    """A line may be as long as the whole message (``data_size_limit``); RFC 3463 codes on size replies;
    the replies counted (``core.metrics``: 2xx to DATA, every 4xx and 5xx).

    Real mail programs break RFC 5321's 1000-octet rule (a long quote, HTML on one line: the corpus has
    a reply with a 700 KB line); Postfix takes such mail, so a report must not be refused for it. A
    line is bounded by the message size, which bounds the memory of a DATA phase anyway; a command
    line is refused by its own, much smaller, limit once it is read. A line longer than that is a
    message over the size limit, and is answered so.
    """

    line_length_limit = MIN_LINE_LENGTH
    _in_data = False
    protocol = "smtp"

    def __init__(self, *args: Any, data_size_limit: int | None = None, **kwargs: Any) -> None:
        self.line_length_limit = max(MIN_LINE_LENGTH, data_size_limit or 0)  # aiosmtpd's reader limit
        super().__init__(*args, data_size_limit=data_size_limit, **kwargs)

    def _size_reply(self, status: Any) -> Any:
        """aiosmtpd's size refusals (too much data; a line over the limit, which is as long as the
        message may be) as ``552 5.3.4`` with the limit; its STARTTLS refusal with ``5.7.0``."""
        if not isinstance(status, str):
            return status
        status = _ENHANCED.get(status, status)
        too_long = status.startswith("500 Line too long") and self.line_length_limit >= (
            self.data_size_limit or self.line_length_limit + 1
        )
        if status.startswith("552 Error") or too_long:
            return f"552 5.3.4 Message size exceeds the limit of {self.data_size_limit} bytes"
        return status

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        self._in_data = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self._in_data = False

    async def push(self, status: Any) -> None:
        status = self._size_reply(status)
        metrics: Metrics | None = getattr(self.event_handler, "metrics", None)
        if metrics is not None and isinstance(status, str) and (self._in_data or status[:1] in ("4", "5")):
            metrics.intake_reply(self.protocol, status)
        await super().push(status)


class RelaySMTP(_LongLines, _Limited):
    """aiosmtpd's SMTP with RFC 3463 enhanced codes on its size replies and room for long lines."""


# aiosmtpd's own refusals of the data itself; LMTP must repeat them once per recipient (RFC 2033 4.2).
_DATA_REFUSALS = ("552 5.3.4 ", "500 Line too long", "500 Error: strict ASCII mode")


class RelayLMTP(_LongLines, LMTP):
    """aiosmtpd's LMTP with RelaySMTP's replies, and one reply per accepted recipient after DATA.

    The handler answers per recipient itself; this also repeats aiosmtpd's own DATA refusals (too big,
    line too long), which it sends once, so an MTA never waits for replies that would not come.
    """

    _data_recipients = 0
    protocol = "lmtp"

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        self._data_recipients = len(self.envelope.rcpt_tos) if self.envelope is not None else 0
        try:
            await super().smtp_DATA(arg)
        finally:
            self._data_recipients = 0

    async def push(self, status: Any) -> None:
        status = self._size_reply(status)
        if isinstance(status, str) and self._data_recipients > 1 and status.startswith(_DATA_REFUSALS):
            status = "\r\n".join([status] * self._data_recipients)
        await super().push(status)


class RelayHandler:
    """RCPT checks the address; DATA stores the message and answers with its reference."""

    def __init__(
        self, intake: Intake, max_recipients: int, lmtp: bool = False, limits: IntakeLimits | None = None
    ) -> None:
        self.intake = intake
        self.max_recipients = max_recipients
        self.lmtp = lmtp
        self.limits = limits  # SMTP only: an MTA in front of LMTP does its own rate limiting

    @property
    def metrics(self) -> Metrics:
        """Where the protocol counts its replies (``_LongLines.push``)."""
        return self.intake.metrics

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.limits is not None:
            refusal = self.limits.may_send(_peer(session), address)
            if refusal is not None:
                log.warning(
                    "refused sender %r from %s: %s",
                    address,
                    _peer(session),
                    refusal.reply,
                    extra={"action": "rate_limited"},
                )
                return refusal.reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        route = self.intake.check_recipient(address)
        if isinstance(route, Refusal):
            log.info("refused recipient %r: %s", address, route.name, extra={"action": "rcpt_refused"})
            return route.value
        recipients = _recipients(envelope)
        if recipients.find(route) is None and len(recipients.routes) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self.max_recipients} per message)"
        envelope.rcpt_tos.append(address)  # a repeat too: LMTP counts one reply per accepted RCPT
        recipients.add(route)
        return "250 2.1.5 Recipient ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipients = _recipients(envelope)
        raw = envelope.original_content or b""
        peer = _peer(session)
        try:
            stored = await self.intake.accept(
                raw,
                mail_from=envelope.mail_from or "",
                routes=recipients.routes,
                peer=peer,
                via="lmtp" if self.lmtp else "smtp",
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.intake.outage.failed(exc)  # one line per outage and interval, not per message
            if self.lmtp:
                return "\r\n".join([STORAGE_FAILURE] * len(recipients.slots))
            return STORAGE_FAILURE
        self.intake.outage.stored()
        if self.limits is not None:
            self.limits.sent(peer, envelope.mail_from or "")
        lines = [_accepted(stored[i].reference) for i in recipients.slots]
        if self.lmtp:
            return "\r\n".join(lines)
        refs = [s.reference for s in stored if s.reference]
        return _accepted(", ".join(refs) if refs else None)

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %r", error, extra={"action": "smtp_session_error"})
        return "451 4.3.0 Local error in processing; please retry later"


def server_tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context for STARTTLS: TLS 1.2 or newer, the system's default ciphers."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def _accepted(reference: str | None) -> str:
    return f"250 2.0.0 Ok: queued as {reference}" if reference else "250 2.0.0 Ok: queued"


def _recipients(envelope: Envelope) -> Recipients:
    """The transaction's merged recipients, kept on the envelope (aiosmtpd makes one per MAIL)."""
    recipients: Recipients | None = getattr(envelope, "save_recipients", None)
    if recipients is None:
        recipients = Recipients()
        envelope.save_recipients = recipients  # type: ignore[attr-defined]
    return recipients


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


async def start_server(
    handler: RelayHandler,
    *,
    host: str,
    port: int,
    hostname: str,
    max_message_size: int,
    timeout: float,  # noqa: ASYNC109 - the SMTP idle timeout handed to aiosmtpd, not this call's
    lmtp: bool = False,
    tls: ssl.SSLContext | None = None,
    require_starttls: bool = False,
) -> asyncio.Server:
    """Listen on ``host:port`` (0 picks a free port) in the running loop; offer STARTTLS with ``tls``."""
    protocol = RelayLMTP if lmtp else RelaySMTP

    def factory() -> SMTP:
        return protocol(
            handler,
            hostname=hostname,
            data_size_limit=max_message_size,
            enable_SMTPUTF8=True,
            timeout=timeout,
            ident="save-relay ESMTP",
            tls_context=tls,
            require_starttls=require_starttls,
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, host=host, port=port)
